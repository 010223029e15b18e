"""A logged-in ``poplib`` connection over OAuth 2.0 (XOAUTH2 or OAUTHBEARER).

poplib has no SASL support, and its reply parser takes the ``+ <base64 JSON>`` error continuation
for ``+OK``: a naive ``AUTH XOAUTH2`` through ``_shortcmd`` "succeeds" with a refused token. This
module runs the exchange itself and reads the continuation for what it is.
"""

from __future__ import annotations

import poplib
from typing import Optional

from .._exceptions import MailAuthError
from ._common import Login, Reopenable, login_secrets, open_connection, prepare, redact, refusal
from ._sasl import b64
from ._source import MailCredentials, MailSource

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
    source: MailSource,
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
    login = prepare("pop3", source, user=user, host=host, port=port, tls=tls, ca_file=ca_file, timeout=timeout,
                    mechanism=mechanism, shared_mailbox=shared_mailbox)
    return open_connection(login, source, pop3, _connect, _log_in, poplib.POP3.close)


def _connect(login: Login) -> poplib.POP3:
    if login.tls == "implicit":
        return POP3_SSL(login.host, login.port, context=login.context, timeout=login.timeout)
    return POP3(login.host, login.port, timeout=login.timeout)


def _log_in(conn: poplib.POP3, login: Login) -> str:
    if login.tls == "starttls":
        conn.stls(context=login.context)
    return _authenticate(conn, login.mechanism, login.creds, login.response)


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
