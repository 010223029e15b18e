"""A suite-wide check that no test's logs or output hold a token, secret or private key.

Every log record at every level is kept for the test that emits it; after the test, its records and
its captured stdout/stderr are searched for secrets. A test that asked to print a token marks itself
``@pytest.mark.prints_secrets``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Optional

from netkit_msal.emulator._directory import SECRET_CLIENT_SECRET

_PATTERNS = [
    ("a JWT (access or id token)", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")),
    ("a private key", re.compile(r"-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----")),
    ("the emulator's client secret", re.compile(re.escape(SECRET_CLIENT_SECRET))),
]
_extra: list[tuple[str, re.Pattern]] = []


def add_secret(label: str, value: str) -> None:
    """Watch for one more literal secret (e.g. a refresh token a test got)."""
    if value and len(value) >= 8:
        _extra.append((label, re.compile(re.escape(value))))


def find_secret(texts: Iterable[str]) -> Optional[str]:
    """The kind of the first secret found in ``texts``, or None."""
    for text in texts:
        for label, pattern in (*_PATTERNS, *_extra):
            if pattern.search(text):
                return label
    return None


class RecordKeeper(logging.Handler):
    """Keeps every formatted record (message and exception text) since the last ``clear()``."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken log call is not ours to judge here
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + repr(record.exc_info[1])
        self.texts.append(f"{record.name}: {text}")

    def clear(self) -> None:
        self.texts = []
