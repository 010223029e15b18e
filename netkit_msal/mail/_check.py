"""4D's ``checkConnection()``: log in, log out, and report ``{success, statusText, errors}``."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import ssl
from typing import Any

from .._exceptions import ConfigError, NetKitError
from ._imap import imap
from ._pop3 import pop3
from ._smtp import smtp
from ._source import MailSource, check_protocol

_OPENERS = {"imap": imap, "smtp": smtp, "pop3": pop3}
# What a server, the network or TLS can answer with: reported, never raised.
_REPORTED = (NetKitError, OSError, ssl.SSLError, imaplib.IMAP4.error, smtplib.SMTPException, poplib.error_proto)


def check_connection(protocol: str, source: MailSource, **options: Any) -> dict[str, Any]:
    """Log in to ``protocol`` ("imap", "smtp", "pop3") and out again; a 4D status object.

    ``options`` are those of ``imap()``/``smtp()``/``pop3()``. Refusals, network and TLS errors
    come back as ``success: False`` with ``errors: [{code, message}]`` (``code`` is the 4D error
    code for NetKitErrors); only a wrong protocol name or option raises.
    """
    opener = _OPENERS[check_protocol(protocol)]
    try:
        conn = opener(source, **options)
    except ConfigError:
        raise
    except _REPORTED as exc:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        error: dict[str, Any] = {"message": message}
        if isinstance(exc, NetKitError):
            error["code"] = exc.code
        return {"success": False, "statusText": message, "errors": [error]}
    status_text = getattr(conn, "login_response", "") or "OK"
    _log_out(conn)
    return {"success": True, "statusText": status_text, "errors": []}


def _log_out(conn: Any) -> None:
    """Close the session politely; a server that hangs up first is no failure of the check."""
    try:
        if isinstance(conn, imaplib.IMAP4):
            conn.logout()
        else:
            conn.quit()
    except _REPORTED:
        if isinstance(conn, imaplib.IMAP4):
            conn.shutdown()
        else:
            conn.close()
