"""Recurrence patterns expanded into dates (pure)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from dateutil.rrule import FR, MO, MONTHLY, SA, SU, TH, TU, WE, YEARLY, rrule

from netkit_msal.emulator._graph._recurrence import RecurrenceError, check, dates


def series(pattern: dict, span: dict) -> dict:
    return check({"pattern": pattern, "range": {"startDate": "2030-01-01", **span}})


def test_daily_every_other_day_until_an_end_date():
    rule = series({"type": "daily", "interval": 2}, {"type": "endDate", "endDate": "2030-01-07"})
    assert [d.day for d in dates(rule, date(2031, 1, 1))] == [1, 3, 5, 7]


def test_weekly_every_two_weeks_on_two_days():
    # 2030-01-01 is a Tuesday; weeks start on Sunday.
    rule = series({"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday", "friday"]},
                  {"type": "numbered", "numberOfOccurrences": 4})
    assert [d.isoformat() for d in dates(rule, date(2031, 1, 1))] == [
        "2030-01-01", "2030-01-04", "2030-01-15", "2030-01-18"]


def test_monthly_and_yearly_absolute():
    monthly = series({"type": "absoluteMonthly", "interval": 3, "dayOfMonth": 15}, {"type": "noEnd"})
    assert [d.isoformat() for d in dates(monthly, date(2030, 12, 31))] == [
        "2030-01-15", "2030-04-15", "2030-07-15", "2030-10-15"]
    yearly = series({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 29, "month": 2}, {"type": "noEnd"})
    assert [d.year for d in dates(yearly, date(2040, 12, 31))] == [2032, 2036, 2040]


_WEEKDAYS = {"monday": MO, "tuesday": TU, "wednesday": WE, "thursday": TH, "friday": FR, "saturday": SA,
             "sunday": SU}
_POSITION = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


@pytest.mark.parametrize("pattern", [
    {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"], "index": "second"},
    {"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["friday"], "index": "last"},
    {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["saturday", "sunday"], "index": "first"},
    {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday",
                                                             "friday"], "index": "last"},
    {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["thursday"], "index": "fourth", "month": 11},
    {"type": "relativeYearly", "interval": 3, "daysOfWeek": ["monday"], "index": "last", "month": 5},
])
def test_relative_patterns_expand_as_rfc5545_rules(pattern):
    """Held against dateutil's RFC 5545 rules (BYDAY with BYSETPOS), not against our own arithmetic."""
    rule = series(pattern, {"type": "noEnd"})
    got = [d for d in dates(rule, date(2036, 12, 31))]
    freq = MONTHLY if pattern["type"] == "relativeMonthly" else YEARLY
    expected = rrule(freq, interval=pattern["interval"], dtstart=datetime(2030, 1, 1), until=datetime(2036, 12, 31),
                     byweekday=[_WEEKDAYS[d] for d in pattern["daysOfWeek"]],
                     bysetpos=_POSITION[pattern["index"]], bymonth=pattern.get("month"))
    assert got and got == [moment.date() for moment in expected]


def test_relative_pattern_needs_days_and_a_valid_index():
    with pytest.raises(RecurrenceError):
        series({"type": "relativeMonthly", "index": "second"}, {"type": "noEnd"})
    with pytest.raises(RecurrenceError):
        series({"type": "relativeMonthly", "daysOfWeek": ["monday"], "index": "fifth"}, {"type": "noEnd"})
    with pytest.raises(RecurrenceError):
        series({"type": "relativeYearly", "daysOfWeek": ["monday"], "index": "first"}, {"type": "noEnd"})


@pytest.mark.parametrize("recurrence", [
    "weekly", {"pattern": {"type": "weekly"}}, {"pattern": {"type": "hourly"}, "range": {"type": "noEnd"}},
    {"pattern": {"type": "weekly", "daysOfWeek": []}, "range": {"type": "noEnd", "startDate": "2030-01-01"}},
    {"pattern": {"type": "daily", "interval": 0}, "range": {"type": "noEnd", "startDate": "2030-01-01"}},
    {"pattern": {"type": "daily"}, "range": {"type": "numbered", "startDate": "2030-01-01"}},
    {"pattern": {"type": "daily"}, "range": {"type": "endDate", "startDate": "2030-01-01", "endDate": "soon"}},
])
def test_malformed_recurrences_are_refused(recurrence):
    with pytest.raises(RecurrenceError):
        check(recurrence)
