"""4D's ``checkConnection()``: log in, log out, and report ``{success, status, statusText, errors}``."""

from __future__ import annotations

import imaplib
import poplib
import re
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
#: 4D's ``componentSignature`` of an error entry: this library's, or the layer that failed.
COMPONENT = "4DNK"
_SMTP_CODE = re.compile(r"^\s*(\d{3})\b")


def _error_entry(exc: BaseException) -> dict[str, Any]:
    """4D's error-stack entry ``{errCode, message, componentSignature}``: ``errCode`` is the 4D code of
    a NetKitError, the system's error number for a network error (connection refused...), else 0."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, NetKitError):
        return {"errCode": exc.code, "message": message, "componentSignature": COMPONENT}
    if isinstance(exc, ssl.SSLError):
        component = "tls"
    elif isinstance(exc, OSError):
        component = "network"
    else:
        component = type(exc).__module__.split(".")[0]  # imaplib, smtplib, poplib
    code = exc.errno if isinstance(exc, OSError) and isinstance(exc.errno, int) else 0
    return {"errCode": code, "message": message, "componentSignature": component}


def _status_code(text: str) -> int:
    """The server's numeric reply code when it has one (SMTP's 235), else 0 (IMAP and POP have none)."""
    found = _SMTP_CODE.match(text or "")
    return int(found.group(1)) if found else 0


def check_connection(protocol: str, source: MailSource, **options: Any) -> dict[str, Any]:
    """Log in to ``protocol`` ("imap", "smtp", "pop3") and out again; a 4D status object.

    ``options`` are those of ``imap()``/``smtp()``/``pop3()``. Refusals, network and TLS errors
    (connection refused included) come back as ``success: False`` with 4D's entries ``errors:
    [{errCode, message, componentSignature}]``; only a wrong protocol name or option raises.
    ``status`` is the server's numeric reply code where the protocol has one (SMTP), else 0.
    """
    opener = _OPENERS[check_protocol(protocol)]
    try:
        conn = opener(source, **options)
    except ConfigError:
        raise
    except _REPORTED as exc:
        error = _error_entry(exc)
        code = getattr(exc, "smtp_code", 0)
        return {"success": False, "status": code if isinstance(code, int) else 0, "statusText": error["message"],
                "errors": [error]}
    status_text = getattr(conn, "login_response", "") or "OK"
    _log_out(conn)
    return {"success": True, "status": _status_code(status_text), "statusText": status_text, "errors": []}


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
