"""Recurrence patterns expanded into dates (pure)."""

from __future__ import annotations

from datetime import date

import pytest

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


def test_relative_patterns_are_kept_but_not_expanded():
    rule = series({"type": "relativeMonthly", "daysOfWeek": ["tuesday"], "index": "second"}, {"type": "noEnd"})
    assert list(dates(rule, date(2031, 1, 1))) == []


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
