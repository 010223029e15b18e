"""Recurring events: checking Graph's ``patternedRecurrence`` and expanding it into occurrence dates.

Pure date arithmetic over every v1.0 ``recurrencePatternType``: daily, weekly (``daysOfWeek``,
``firstDayOfWeek``), absoluteMonthly, relativeMonthly (``index`` + ``daysOfWeek``: "second Tuesday",
"last weekday"), absoluteYearly and relativeYearly (the same in ``month``); ranges: endDate, numbered,
noEnd. With several ``daysOfWeek`` a relative pattern counts them together, as Outlook does
("first weekend day").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Optional

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PATTERNS = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
INDEXES = ("first", "second", "third", "fourth", "last")
RANGES = ("endDate", "noEnd", "numbered")
#: How far a series without end is followed (days), so an open series costs bounded work.
HORIZON_DAYS = 366 * 20


class RecurrenceError(ValueError):
    """A recurrence Graph would refuse; the message names the faulty part."""


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise RecurrenceError(f"recurrence.range.{name} is not a date") from None


def check(recurrence: Any) -> Optional[dict]:
    """A normalised copy of a ``patternedRecurrence`` (or None); RecurrenceError when malformed."""
    if recurrence is None:
        return None
    if not isinstance(recurrence, dict):
        raise RecurrenceError("recurrence must be an object")
    pattern, span = recurrence.get("pattern"), recurrence.get("range")
    if not isinstance(pattern, dict) or not isinstance(span, dict):
        raise RecurrenceError("recurrence needs a pattern and a range")
    if pattern.get("type") not in PATTERNS:
        raise RecurrenceError(f"recurrence.pattern.type must be one of {', '.join(PATTERNS)}")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise RecurrenceError("recurrence.pattern.interval must be a positive integer")
    days = pattern.get("daysOfWeek") or []
    if not isinstance(days, list) or any(d not in DAYS for d in days):
        raise RecurrenceError("recurrence.pattern.daysOfWeek must list day names")
    if pattern["type"] in ("weekly", "relativeMonthly", "relativeYearly") and not days:
        raise RecurrenceError(f"a {pattern['type']} recurrence needs daysOfWeek")
    index = pattern.get("index") or "first"
    if index not in INDEXES:
        raise RecurrenceError(f"recurrence.pattern.index must be one of {', '.join(INDEXES)}")
    first_day = pattern.get("firstDayOfWeek") or "sunday"
    if first_day not in DAYS:
        raise RecurrenceError("recurrence.pattern.firstDayOfWeek must be a day name")
    for key in ("dayOfMonth", "month"):
        if not isinstance(pattern.get(key, 0), int) or isinstance(pattern.get(key, 0), bool):
            raise RecurrenceError(f"recurrence.pattern.{key} must be an integer")
    if span.get("type") not in RANGES:
        raise RecurrenceError(f"recurrence.range.type must be one of {', '.join(RANGES)}")
    start = _date(span.get("startDate"), "startDate")
    normalised_range = {**span, "startDate": start.isoformat()}
    if span["type"] == "endDate":
        normalised_range["endDate"] = _date(span.get("endDate"), "endDate").isoformat()
    if span["type"] == "numbered":
        count = span.get("numberOfOccurrences")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise RecurrenceError("recurrence.range.numberOfOccurrences must be a positive integer")
    if pattern["type"] in ("absoluteYearly", "relativeYearly") and not 1 <= (pattern.get("month") or 0) <= 12:
        raise RecurrenceError("recurrence.pattern.month must be 1 to 12 for a yearly recurrence")
    return {"pattern": {**pattern, "interval": interval, "daysOfWeek": days, "firstDayOfWeek": first_day,
                        "index": index, "dayOfMonth": pattern.get("dayOfMonth") or 0,
                        "month": pattern.get("month") or 0},
            "range": normalised_range}


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _matches(pattern: dict, start: date, day: date) -> bool:
    kind, interval = pattern["type"], pattern["interval"]
    if kind == "daily":
        return (day - start).days % interval == 0
    if kind == "weekly":
        offset = (start.weekday() - DAYS.index(pattern["firstDayOfWeek"])) % 7
        week_start = start - timedelta(days=offset)
        return DAYS[day.weekday()] in pattern["daysOfWeek"] and ((day - week_start).days // 7) % interval == 0
    if kind in ("absoluteMonthly", "relativeMonthly"):
        if _months_between(start, day) % interval:
            return False
    elif day.month != (pattern.get("month") or start.month) or (day.year - start.year) % interval:
        return False
    if kind.startswith("relative"):
        return day == _relative_day(pattern, day.year, day.month)
    return day.day == (pattern.get("dayOfMonth") or start.day)


def _relative_day(pattern: dict, year: int, month: int) -> Optional[date]:
    """The month's day a relative pattern names: the ``index``-th day among ``daysOfWeek``."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    wanted = {DAYS.index(d) for d in pattern["daysOfWeek"]}
    days = [first + timedelta(days=n) for n in range((following - first).days)
            if (first + timedelta(days=n)).weekday() in wanted]
    index = pattern.get("index") or "first"
    if index == "last":
        return days[-1] if days else None
    position = INDEXES.index(index)
    return days[position] if position < len(days) else None


def dates(recurrence: dict, until: date) -> Iterator[date]:
    """Occurrence dates of a series, in order, up to ``until`` (inclusive)."""
    pattern, span = recurrence["pattern"], recurrence["range"]
    start = date.fromisoformat(span["startDate"])
    last = min(until, start + timedelta(days=HORIZON_DAYS))
    if span["type"] == "endDate":
        last = min(last, date.fromisoformat(span["endDate"]))
    remaining = span.get("numberOfOccurrences") if span["type"] == "numbered" else None
    day = start
    while day <= last:
        if _matches(pattern, start, day):
            yield day
            if remaining is not None:
                remaining -= 1
                if remaining == 0:
                    return
        day += timedelta(days=1)
