"""The one ISO 8601 reader reads Graph's and 4D's forms alike on every supported Python (3.10 included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from netkit_msal._iso import parse_iso_datetime

UTC = timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("2026-01-05T10:00:00.0000000Z", datetime(2026, 1, 5, 10, tzinfo=UTC)),  # Graph's seven digits
    ("2026-01-05T10:00:00.1234567Z", datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2026-01-05T10:00:00.5+02:00", datetime(2026, 1, 5, 10, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2)))),
    ("2026-01-05T10:00:00z", datetime(2026, 1, 5, 10, tzinfo=UTC)),
    (" 2026-01-05T10:00:00 ", datetime(2026, 1, 5, 10)),  # no offset: naive, the caller decides
])
def test_graph_and_4d_forms(text, expected):
    assert parse_iso_datetime(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-05T10:00:00Z"])
def test_not_iso_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_iso_datetime(text)
