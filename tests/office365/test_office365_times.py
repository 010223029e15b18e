"""4D's date and time forms for calendar calls (pure: no emulator)."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time, timedelta, timezone

import pytest

from netkit_msal import ConfigError
from netkit_msal.office365._times import event_time, instant


@pytest.fixture(autouse=True)
def _local_zone_is_not_utc(monkeypatch):
    """The machine's zone is India's (+05:30) here, so "local time" can't pass for UTC by chance."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def test_local_zone_is_in_effect():
    assert datetime(2031, 3, 4, 9, 30).astimezone().utcoffset() == timedelta(hours=5, minutes=30)


def _utc_of_local(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat()


def test_date_and_time_without_zone_are_local_time_sent_in_utc():
    local = datetime(2031, 3, 4, 9, 30)
    expected = {"dateTime": _utc_of_local(local), "timeZone": "UTC"}
    assert event_time("start", {"date": date(2031, 3, 4), "time": time(9, 30)}) == expected
    assert event_time("start", {"date": "2031-03-04", "time": "09:30:00"}) == expected
    assert event_time("start", {"date": date(2031, 3, 4), "time": 9 * 3600 + 1800}) == expected  # 4D time: seconds
    assert event_time("start", {"dateTime": "2031-03-04T09:30:00"}) == expected
    assert event_time("start", {"date": "2031-03-04", "time": "09:30:00", "timeZone": ""}) == expected
    assert event_time("start", local) == expected  # a naive datetime is local time too


def test_seconds_past_midnight_roll_into_the_next_day():
    """``Current time+3600`` at 23:30 is 24:30 in 4D: the next day at 00:30."""
    assert event_time("end", {"date": "2031-03-04", "time": 23 * 3600 + 1800 + 3600, "timeZone": "UTC"}) == \
        {"dateTime": "2031-03-05T00:30:00", "timeZone": "UTC"}


def test_a_time_zone_keeps_the_wall_clock():
    assert event_time("start", {"date": date(2031, 3, 4), "time": time(9, 30), "timeZone": "Europe/Paris"}) == \
        {"dateTime": "2031-03-04T09:30:00", "timeZone": "Europe/Paris"}
    assert event_time("start", {"dateTime": "2031-03-04T09:30:00", "timeZone": "Pacific Standard Time"}) == \
        {"dateTime": "2031-03-04T09:30:00", "timeZone": "Pacific Standard Time"}
    assert event_time("start", {"dateTime": "2031-03-04T09:30:00Z", "timeZone": "Europe/Paris"}) == \
        {"dateTime": "2031-03-04T10:30:00", "timeZone": "Europe/Paris"}


def test_aware_datetime_is_that_instant():
    aware = datetime(2031, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert event_time("start", aware) == {"dateTime": "2031-03-04T07:30:00", "timeZone": "UTC"}
    assert instant("startDateTime", aware) == "2031-03-04T07:30:00.000000Z"


def test_calendar_view_bounds():
    assert instant("startDateTime", "2031-03-04T00:00:00Z") == "2031-03-04T00:00:00Z"
    local = datetime(2031, 3, 4, 8, 0)
    assert instant("startDateTime", {"date": "2031-03-04", "time": "08:00"}) == \
        local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert instant("endDateTime", {"date": date(2031, 3, 4), "time": 0, "timeZone": "Asia/Tokyo"}) == \
        "2031-03-03T15:00:00.000000Z"


@pytest.mark.parametrize("value, key", [
    ("2031-03-04", "start"), ({"date": "soon", "time": "10:00"}, "start.date"),
    ({"date": "2031-03-04", "time": "noon"}, "start.time"), ({"time": "10:00"}, "start.date"),
    ({"dateTime": ""}, "start.dateTime"), ({"dateTime": "2031-03-04T10:00:00", "timezone": "UTC"}, "timezone"),
    ({"date": "2031-03-04", "time": -5}, "start.time"), ({"dateTime": "x", "timeZone": 3}, "start.timeZone"),
])
def test_bad_forms_name_their_key(value, key):
    with pytest.raises(ConfigError) as caught:
        event_time("start", value)
    assert caught.value.key == key


def test_bad_view_bounds_name_their_key():
    for value in ("yesterday", 42, {"date": "2031-03-04", "time": "08:00", "timeZone": "Mars/Olympus"}):
        with pytest.raises(ConfigError) as caught:
            instant("startDateTime", value)
        assert caught.value.key.startswith("startDateTime")
