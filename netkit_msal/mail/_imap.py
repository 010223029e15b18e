"""A logged-in ``imaplib`` connection over OAuth 2.0 (XOAUTH2 or OAUTHBEARER)."""

from __future__ import annotations

import imaplib
from typing import Optional

from ._common import (
    ChallengeRecorder,
    Login,
    Reopenable,
    as_text,
    login_secrets,
    open_connection,
    prepare,
    redact,
    refusal,
)
from ._source import MailCredentials, MailSource

OUTLOOK_IMAP_HOST = "outlook.office365.com"


class IMAP4(Reopenable, imaplib.IMAP4):
    """``imaplib.IMAP4`` (plain or after STARTTLS) with ``reopen()``."""

    def _netkit_close(self) -> None:
        self.logout()


class IMAP4_SSL(Reopenable, imaplib.IMAP4_SSL):
    """``imaplib.IMAP4_SSL`` with ``reopen()``."""

    def _netkit_close(self) -> None:
        self.logout()


def imap(
    source: MailSource,
    *,
    user: Optional[str] = None,
    host: str = OUTLOOK_IMAP_HOST,
    port: Optional[int] = None,
    tls: str = "implicit",
    ca_file: Optional[str] = None,
    timeout: float = 30,
    mechanism: str = "XOAUTH2",
    shared_mailbox: Optional[str] = None,
) -> imaplib.IMAP4:
    """Open an IMAP connection and log in with an OAuth 2.0 token; returns it in the AUTH state.

    ``shared_mailbox``: log in as that address with the signed-in delegate's token (Exchange's way).
    Raises TokenAudienceError before connecting when the token is not an Outlook IMAP token, and
    MailAuthError when the server refuses it. ``timeout`` stays on the socket after the login (no
    read ever hangs); for IDLE, set ``conn.sock.settimeout()`` to more than the IDLE period.
    ``conn.reopen()`` logs in again with a fresh token when the session outlives the old one.
    """
    login = prepare("imap", source, user=user, host=host, port=port, tls=tls, ca_file=ca_file, timeout=timeout,
                    mechanism=mechanism, shared_mailbox=shared_mailbox)
    return open_connection(login, source, imap, _connect, _log_in, imaplib.IMAP4.shutdown)


def _connect(login: Login) -> imaplib.IMAP4:
    if login.tls == "implicit":
        return IMAP4_SSL(login.host, login.port, ssl_context=login.context, timeout=login.timeout)
    return IMAP4(login.host, login.port, timeout=login.timeout)


def _log_in(conn: imaplib.IMAP4, login: Login) -> str:
    if login.tls == "starttls":
        conn.starttls(ssl_context=login.context)
    return _authenticate(conn, login.mechanism, login.creds, login.response)


def _authenticate(conn: imaplib.IMAP4, mechanism: str, creds: MailCredentials, response: str) -> str:
    """AUTHENTICATE; the server's tagged answer, redacted. imaplib base64-encodes what the callback returns."""
    callback = ChallengeRecorder(response)
    try:
        typ, data = conn.authenticate(mechanism, lambda challenge: callback.next(challenge).encode("utf-8"))
    except imaplib.IMAP4.error as exc:
        answer = str(exc)
    else:
        return redact(f"{typ} {' '.join(as_text(item) for item in data)}",
                      login_secrets(creds.access_token, response))
    # raised out here so that no __context__ keeps imaplib's error, whose text may quote the token
    raise refusal("imap", creds, response, answer, callback.challenge)
