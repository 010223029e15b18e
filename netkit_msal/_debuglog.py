"""4D's ``enableDebugLog: true``: this package's DEBUG logging, shown on standard error.

Its own module because turning logging on is a process-wide side effect, kept apart from the checks of
the parameter object. The records are the library's own, which never hold a token, secret or key (the
test suite runs every test with all loggers at DEBUG and fails on any secret), so nothing is filtered here.
An application that configured logging itself keeps its handlers: only the level and one handler are added.
"""

from __future__ import annotations

import logging
import sys

LOGGER = "netkit_msal"
_HANDLER_NAME = "netkit_msal.enableDebugLog"


class _StandardError(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a record comes (notebooks and test runners replace it)."""

    @property
    def stream(self):  # logging's own attribute, read at each record
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass  # the stream is always the current sys.stderr


def enable_debug_log() -> None:
    """Log ``netkit_msal.*`` at DEBUG to standard error (idempotent)."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.DEBUG)
    if any(handler.get_name() == _HANDLER_NAME for handler in logger.handlers):
        return
    handler = _StandardError()
    handler.set_name(_HANDLER_NAME)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
