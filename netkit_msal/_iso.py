"""ISO 8601 date-times as Graph and 4D write them, read the same way on every supported Python.

Python 3.10's ``datetime.fromisoformat`` refuses a trailing ``Z`` and fractions other than three or six digits
(Graph writes seven: ``2026-01-05T10:00:00.0000000Z``); 3.11 accepts both. One reader keeps the versions alike.
"""

from __future__ import annotations

import re
from datetime import datetime

_FRACTION = re.compile(r"\.(\d+)")


def parse_iso_datetime(text: str) -> datetime:
    """``text`` as a datetime (naive when it has no offset); ValueError when it is not ISO 8601."""
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    value = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], value, count=1)
    return datetime.fromisoformat(value)
