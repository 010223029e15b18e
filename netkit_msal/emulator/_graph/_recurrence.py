"""Recurring events: checking Graph's ``patternedRecurrence`` and expanding it into occurrence dates.

Pure date arithmetic. Supported patterns: daily, weekly (``daysOfWeek``, ``firstDayOfWeek``),
absoluteMonthly and absoluteYearly; ranges: endDate, numbered, noEnd. relativeMonthly/relativeYearly
("second Tuesday") are accepted and stored but not expanded (``calendarView`` shows the first instance).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Optional

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EXPANDED = ("daily", "weekly", "absoluteMonthly", "absoluteYearly")
PATTERNS = EXPANDED + ("relativeMonthly", "relativeYearly")
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
    if pattern["type"] == "weekly" and not days:
        raise RecurrenceError("a weekly recurrence needs daysOfWeek")
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
    return {"pattern": {**pattern, "interval": interval, "daysOfWeek": days, "firstDayOfWeek": first_day},
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
    day_of_month = pattern.get("dayOfMonth") or start.day
    if kind == "absoluteMonthly":
        return day.day == day_of_month and _months_between(start, day) % interval == 0
    month = pattern.get("month") or start.month
    return day.month == month and day.day == day_of_month and (day.year - start.year) % interval == 0


def dates(recurrence: dict, until: date) -> Iterator[date]:
    """Occurrence dates of an expandable series, in order, up to ``until`` (inclusive)."""
    pattern, span = recurrence["pattern"], recurrence["range"]
    if pattern["type"] not in EXPANDED:
        return
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
