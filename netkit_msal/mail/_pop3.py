"""A logged-in ``poplib`` connection over OAuth 2.0 (XOAUTH2 or OAUTHBEARER).

poplib has no SASL support, and its reply parser takes the ``+ <base64 JSON>`` error continuation
for ``+OK``: a naive ``AUTH XOAUTH2`` through ``_shortcmd`` "succeeds" with a refused token. This
module runs the exchange itself and reads the continuation for what it is.
"""

from __future__ import annotations

import poplib
from typing import Any, Optional

from .._exceptions import MailAuthError
from ._common import (
    Reopenable, check_host, check_timeout, check_tls, default_port, login_secrets, redact, refusal, ssl_context,
    timeouts_reported,
)
from ._sasl import b64, check_mechanism, initial_response
from ._source import MailCredentials, resolve

OUTLOOK_POP_HOST = "outlook.office365.com"


class POP3(Reopenable, poplib.POP3):
    """``poplib.POP3`` (plain or after STLS) with ``reopen()``."""

    def _netkit_close(self) -> None:
        self.quit()


class POP3_SSL(Reopenable, poplib.POP3_SSL):
    """``poplib.POP3_SSL`` with ``reopen()``."""

    def _netkit_close(self) -> None:
        self.quit()


def pop3(
    source: Any,
    *,
    user: Optional[str] = None,
    host: str = OUTLOOK_POP_HOST,
    port: Optional[int] = None,
    tls: str = "implicit",
    ca_file: Optional[str] = None,
    timeout: float = 30,
    mechanism: str = "XOAUTH2",
    shared_mailbox: Optional[str] = None,
) -> poplib.POP3:
    """Open a POP3 connection and log in with an OAuth 2.0 token; returns it in the TRANSACTION state.

    ``shared_mailbox``: log in as that address with the delegate's token (Exchange's way).
    Raises TokenAudienceError before connecting for a non-Outlook token, and MailAuthError when
    the server refuses the login.
    """
    host = check_host(host)
    tls = check_tls(tls, host)
    mechanism = check_mechanism(mechanism)
    port = default_port("pop3", tls, port)
    timeout = check_timeout(timeout)
    creds = resolve(source, "pop3", user=shared_mailbox or user, ca_file=ca_file)
    context = ssl_context(creds.ca_file) if tls != "none" else None
    options = dict(user=user, host=host, port=port, tls=tls, ca_file=ca_file, timeout=timeout,
                   mechanism=mechanism, shared_mailbox=shared_mailbox)
    response = initial_response(mechanism, creds.user, creds.access_token, host, port)
    with timeouts_reported("pop3", host, port, timeout):
        if tls == "implicit":
            conn: poplib.POP3 = POP3_SSL(host, port, context=context, timeout=timeout)
        else:
            conn = POP3(host, port, timeout=timeout)
        try:
            if tls == "starttls":
                conn.stls(context=context)
            conn.login_response = _authenticate(conn, mechanism, creds, response)  # type: ignore[attr-defined]
        except BaseException:
            conn.close()
            raise
    conn._netkit_opener = lambda new_source: pop3(new_source or source, **options)  # type: ignore[attr-defined]
    return conn


def _authenticate(conn: poplib.POP3, mechanism: str, creds: MailCredentials, response: str) -> str:
    """RFC 5034 AUTH, the response sent after the server's ``+`` (tokens are too long for one line).

    Returns the server's ``+OK`` line, redacted.
    """
    conn._putcmd(f"AUTH {mechanism}")  # type: ignore[attr-defined]
    line = _line(conn)
    if not _is_continuation(line):
        raise MailAuthError(
            f"the POP3 server does not take AUTH {mechanism}: {line}", server_response=line
        )
    conn._putcmd(b64(response))  # type: ignore[attr-defined]
    line = _line(conn)
    if line.startswith("+OK"):
        return redact(line, login_secrets(creds.access_token, response))
    challenge = None
    if _is_continuation(line):  # the error challenge: answer it with an empty line, then read -ERR
        challenge = line[1:].strip()
        conn._putcmd("")  # type: ignore[attr-defined]
        line = _line(conn)
    raise refusal("pop3", creds, response, line, challenge)


def _line(conn: poplib.POP3) -> str:
    raw, _ = conn._getline()  # type: ignore[attr-defined]
    return raw.decode("utf-8", "replace")


def _is_continuation(line: str) -> bool:
    return line.startswith("+") and not line.startswith("+OK")
