"""IMAP, SMTP and POP3 connections logged in with OAuth 2.0, and the SASL strings behind them.

    from netkit_msal import mail
    conn = mail.imap(provider)                 # imaplib.IMAP4_SSL, logged in to outlook.office365.com
    conn = mail.smtp(provider, shared_mailbox="sales@contoso.com")
    print(mail.check_connection("pop3", provider))   # {"success": True, "statusText": ..., "errors": []}

``source`` is an OAuth2Provider (asked for the protocol's Outlook scope), a Token, a 4D token
object or an access-token string. Users of other clients (imapclient, imap-tools, aiosmtplib) can
build the SASL responses with ``xoauth2_string`` and ``oauthbearer_string``.
"""

from __future__ import annotations

from ._check import check_connection
from ._imap import imap
from ._pop3 import pop3
from ._sasl import decode_challenge, oauthbearer_string, xoauth2_string
from ._smtp import smtp
from ._source import OUTLOOK_AUDIENCES, TokenAudienceError, delegated_scope

__all__ = [
    "OUTLOOK_AUDIENCES", "TokenAudienceError", "check_connection", "decode_challenge", "delegated_scope",
    "imap", "oauthbearer_string", "pop3", "smtp", "xoauth2_string",
]
