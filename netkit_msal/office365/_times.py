"""4D's forms of a date and time for calendar calls, read into Graph's.

4D writes an event's ``start``/``end`` as ``{dateTime, timeZone}`` or as ``{date, time, timeZone?}``
(a 4D date and a 4D time, which is a number of seconds), and a calendar view's bounds as ISO text or
``{date, time}``. Without a time zone 4D takes the time as the machine's local time (its
``_DateTime`` class writes it in GMT); so does this module. Python adds ``datetime``: an aware one is
that instant, a naive one is local time too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._exceptions import ConfigError
from .._iso import parse_iso_datetime
from ._options import check_keys, nonempty_text, text

_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_KEYS = ("dateTime", "date", "time", "timeZone", "@odata.type")


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is the machine's local time (``astimezone`` reads it so)."""
    return moment.astimezone(timezone.utc)


def _date(key: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ConfigError(f"{key} must be a date or ISO text \"YYYY-MM-DD\", not {value!r}", key=key, code=10)


def _time(key: str, value: Any) -> timedelta:
    """A time of day as an offset from midnight: a ``time``, "HH:MM[:SS]" text, a ``timedelta`` or a
    number of seconds (a 4D time is seconds, so ``Current time+3600`` ports as ``seconds + 3600``)."""
    if isinstance(value, time):
        return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second,
                         microseconds=value.microsecond)
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str):
        try:
            return _time(key, time.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise ConfigError(f"{key} must be a time, \"HH:MM:SS\" text or a number of seconds, not {value!r}",
                      key=key, code=10)


def _zone(key: str, value: Any) -> Optional[str]:
    """The ``timeZone`` text, or None when absent or empty (4D then uses local time)."""
    if value is None or value == "":
        return None
    return text(key, value)


def _parse_iso(key: str, value: str) -> datetime:
    try:
        return parse_iso_datetime(value)
    except ValueError:
        raise ConfigError(f"{key} is not an ISO 8601 date and time: {value!r}", key=key) from None


def _wall_clock(key: str, value: Mapping[str, Any]) -> datetime:
    """The naive date and time that ``{dateTime}`` or ``{date, time}`` names."""
    if value.get("dateTime") is not None:  # 4D: dateTime overrides date and time
        return _parse_iso(f"{key}.dateTime", nonempty_text(f"{key}.dateTime", value["dateTime"]))
    if value.get("date") is None:
        raise ConfigError(f"{key} needs dateTime, or date and time", key=f"{key}.date", code=2)
    day = _date(f"{key}.date", value["date"])
    offset = _time(f"{key}.time", value["time"]) if value.get("time") is not None else timedelta(0)
    return datetime.combine(day, time()) + offset


def event_time(key: str, value: Any) -> dict[str, str]:
    """Graph's ``dateTimeTimeZone`` for an event's ``start`` or ``end`` in any of 4D's forms, or a
    ``datetime``. Without a time zone the time is local and is sent in UTC."""
    if isinstance(value, datetime):
        return {"dateTime": _utc(value).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be {{dateTime, timeZone}}, {{date, time, timeZone}} or a datetime, "
                          f"not {type(value).__name__}", key=key, code=10)
    check_keys(value, _KEYS, key)
    zone = _zone(f"{key}.timeZone", value.get("timeZone"))
    moment = _wall_clock(key, value)
    if moment.tzinfo is not None and zone is not None:  # ISO text with an offset, shown in timeZone
        moment = moment.astimezone(_tzinfo(f"{key}.timeZone", zone)).replace(tzinfo=None)
    if zone is None:
        return {"dateTime": _utc(moment).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    return {"dateTime": moment.isoformat(), "timeZone": zone}


def _tzinfo(key: str, name: str) -> Any:
    if name.upper() in ("UTC", "GMT", "ETC/GMT", "Z"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}: unknown time zone {name!r} here; give an IANA name such as "
                          "\"Europe/Paris\"", key=key) from None


def instant(key: str, value: Any) -> str:
    """A calendar view bound: ISO text (sent as is: Graph reads it in UTC without an offset), a
    ``datetime`` or ``{date, time, timeZone?}`` (local time without a zone), sent in UTC."""
    if isinstance(value, str):
        _parse_iso(key, nonempty_text(key, value))
        return value
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, Mapping):
        check_keys(value, _KEYS, key)
        moment = _wall_clock(key, value)
        zone = _zone(f"{key}.timeZone", value.get("timeZone"))
        if moment.tzinfo is None and zone is not None:
            moment = moment.replace(tzinfo=_tzinfo(f"{key}.timeZone", zone))
    else:
        raise ConfigError(f"{key} must be ISO text, a datetime or {{date, time}}, not {type(value).__name__}",
                          key=key, code=10)
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
