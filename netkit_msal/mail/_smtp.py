"""A logged-in ``smtplib`` connection over OAuth 2.0 (XOAUTH2 or OAUTHBEARER)."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import Message
from typing import Optional, Union

from .._exceptions import MailAuthError
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
from ._sasl import b64
from ._source import MailCredentials, MailSource

OUTLOOK_SMTP_HOST = "smtp.office365.com"
#: Longest ``AUTH <mech> <initial response>`` line sent in one go (RFC 5321's command line limit).
#: Real Microsoft tokens are far longer, so in practice the response goes after the ``334``:
#: Dovecot refuses lines over 1026 bytes, Exchange and others have limits of their own.
MAX_INITIAL_RESPONSE_LINE = 512


class _SharedMailboxSender:
    """``send_message`` puts the shared mailbox in MAIL FROM when one was given (Exchange's send-as)."""

    shared_mailbox: Optional[str] = None

    def send_message(
        self,
        msg: Message,
        from_addr: Optional[str] = None,
        to_addrs: Union[str, Sequence[str], None] = None,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict:
        return super().send_message(  # type: ignore[misc]
            msg, from_addr or self.shared_mailbox, to_addrs, mail_options, rcpt_options
        )


class SMTP(Reopenable, _SharedMailboxSender, smtplib.SMTP):
    """``smtplib.SMTP`` (plain or after STARTTLS) with ``reopen()`` and ``shared_mailbox``."""

    def _netkit_close(self) -> None:
        self.quit()


class SMTP_SSL(Reopenable, _SharedMailboxSender, smtplib.SMTP_SSL):
    """``smtplib.SMTP_SSL`` with ``reopen()`` and ``shared_mailbox``."""

    def _netkit_close(self) -> None:
        self.quit()


def smtp(
    source: MailSource,
    *,
    user: Optional[str] = None,
    host: str = OUTLOOK_SMTP_HOST,
    port: Optional[int] = None,
    tls: str = "starttls",
    ca_file: Optional[str] = None,
    timeout: float = 30,
    mechanism: str = "XOAUTH2",
    shared_mailbox: Optional[str] = None,
) -> smtplib.SMTP:
    """Open an SMTP submission connection and log in with an OAuth 2.0 token.

    ``shared_mailbox``: log in as the delegate (the token's user) and send as the shared address:
    ``send_message()`` then uses it as MAIL FROM unless ``from_addr`` is given; with ``sendmail()``
    pass it yourself. Raises TokenAudienceError before connecting for a non-Outlook token, and
    MailAuthError when the server refuses the login.
    """
    login = prepare("smtp", source, user=user, host=host, port=port, tls=tls, ca_file=ca_file, timeout=timeout,
                    mechanism=mechanism, shared_mailbox=shared_mailbox)
    conn = open_connection(login, source, smtp, _connect, _log_in, smtplib.SMTP.close)
    conn.shared_mailbox = shared_mailbox  # type: ignore[attr-defined]
    return conn


def _connect(login: Login) -> smtplib.SMTP:
    if login.tls == "implicit":
        return SMTP_SSL(login.host, login.port, context=login.context, timeout=login.timeout)
    return SMTP(login.host, login.port, timeout=login.timeout)


def _log_in(conn: smtplib.SMTP, login: Login) -> str:
    conn.ehlo()
    if login.tls == "starttls":
        conn.starttls(context=login.context)
        conn.ehlo()
    return _authenticate(conn, login.mechanism, login.creds, login.response)


def _authenticate(conn: smtplib.SMTP, mechanism: str, creds: MailCredentials, response: str) -> str:
    """AUTH, in two steps when the one-line form would be too long; the server's 235 line."""
    offered = conn.esmtp_features.get("auth", "").upper().split()
    if mechanism not in offered:
        raise MailAuthError(
            f"the SMTP server does not offer AUTH {mechanism} (it offers: {', '.join(offered) or 'no AUTH at all'})",
            server_response=conn.esmtp_features.get("auth"),
        )
    one_line = len(f"AUTH {mechanism} {b64(response)}\r\n") <= MAX_INITIAL_RESPONSE_LINE
    callback = ChallengeRecorder(response)
    try:
        code, text = conn.auth(mechanism, callback.next, initial_response_ok=one_line)
    except smtplib.SMTPAuthenticationError as exc:
        answer = f"{exc.smtp_code} {as_text(exc.smtp_error)}"
    else:
        return redact(f"{code} {as_text(text)}",
                      login_secrets(creds.access_token, response))
    # raised out here so that no __context__ keeps smtplib's error, whose text may quote the token
    raise refusal("smtp", creds, response, answer, callback.challenge)
