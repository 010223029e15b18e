"""4D's ``checkConnection()``: log in, log out, and report ``{success, status, statusText, errors}``."""

from __future__ import annotations

import imaplib
import inspect
import poplib
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from .._exceptions import ConfigError, NetKitError
from ._common import default_port
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
#: A greeting later than this is unusual enough to ask, on a second connection, whether the port speaks TLS.
_PROBE_AFTER = 1.0


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
        conn = _open(opener, source, options)
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


def _open(opener: Callable[..., Any], source: Any, options: dict[str, Any]) -> Any:
    """``opener(source, **options)``; with plain text or STARTTLS, an implicit-TLS port is a quick ConfigError.

    Such a port waits for a TLS ClientHello while the client waits for a greeting, until the time-out. So
    when no greeting has come after a moment, a second connection asks whether the port speaks TLS.
    """
    defaults = inspect.signature(opener).parameters
    tls = str(options.get("tls", defaults["tls"].default)).lower()
    if tls == "implicit":
        return opener(source, **options)
    outcome: dict[str, Any] = {}
    settled = threading.Event()
    lock = threading.Lock()

    def settle(key: str, value: Any) -> None:
        with lock:
            if not settled.is_set():
                outcome[key] = value
                settled.set()
            elif key == "conn":  # the probe won: this late connection is nobody's
                _log_out(value)

    def work() -> None:
        try:
            settle("conn", opener(source, **options))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            settle("error", exc)

    def probe() -> None:
        if settled.wait(_PROBE_AFTER):
            return
        try:
            host = str(options.get("host", defaults["host"].default))
            port = default_port(opener.__name__, tls, options.get("port"))
            timeout = float(options.get("timeout", defaults["timeout"].default))
        except (ConfigError, TypeError, ValueError):
            return  # the opener reports it
        if _speaks_tls(host, port, timeout):
            settle("error", ConfigError(f"{host}:{port} speaks TLS from the start (implicit TLS), not {tls}: "
                                        "use tls 'implicit' (--tls implicit)", key="tls"))

    threading.Thread(target=work, name="netkit-mail-check", daemon=True).start()
    threading.Thread(target=probe, name="netkit-mail-check-tls-probe", daemon=True).start()
    settled.wait()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["conn"]


def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` completes a TLS handshake (certificate unchecked: nothing is sent over it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, context.wrap_socket(raw):
            return True
    except (OSError, ValueError):  # ssl.SSLError is an OSError: a plain-text server answers with text
        return False
