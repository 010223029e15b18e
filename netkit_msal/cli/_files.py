"""The files the commands read (``--params``, ``--token-file``): regular files only, bounded, and JSON whose
mistakes (even nesting deep enough to exhaust Python's stack) are one-line ConfigErrors, never tracebacks."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._exceptions import ConfigError

#: A parameter object or a token is a few kB; anything this big is not one (and /dev/zero never ends).
MAX_FILE_BYTES = 1 << 20


def check_regular_file(path: str, flag: str) -> None:
    """Refuse a FIFO, a device or a folder before anything opens it (opening a FIFO blocks)."""
    key = flag.lstrip("-")
    # The path is not repeated: what was given may be JSON text holding a secret, by habit or by mistake.
    if path.lstrip().startswith("{"):
        raise ConfigError(f"cannot read {flag}: it takes a file, not JSON text (which would show in the process "
                          "list)", key=key)
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(f"cannot read {flag}: {getattr(exc, 'strerror', None) or exc}", key=key) from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{flag} is not a regular file", key=key)


def read_text_file(path: str, flag: str) -> str:
    """The text of ``path``: a regular file of at most MAX_FILE_BYTES."""
    check_regular_file(path, flag)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {flag}: {exc.strerror}", key=flag.lstrip("-")) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{flag} is larger than {MAX_FILE_BYTES} bytes", key=flag.lstrip("-"))
    return data.decode("utf-8", "replace")


def parse_json(text: str, flag: str) -> Any:
    with deep_json_refused(flag):
        try:
            return json.loads(text)
        except ValueError:
            raise ConfigError(f"{flag} holds invalid JSON", key=flag.lstrip("-")) from None


@contextmanager
def deep_json_refused(flag: str) -> Iterator[None]:
    """Python's JSON parser (and code walking what it made) raises RecursionError on deep nesting."""
    try:
        yield
    except RecursionError:
        raise ConfigError(f"{flag}: the JSON is nested too deeply", key=flag.lstrip("-")) from None
