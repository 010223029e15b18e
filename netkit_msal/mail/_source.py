"""Where the access token and the login name come from, and whether the token can work for mail.

``source`` is an OAuth2Provider (asked for the protocol's Outlook scope), a Token, a 4D token object
(``{"token": {"access_token": ...}}``) or a bare access-token string. The audience check runs before
any connection: a Graph token handed to IMAP fails here, with the scope to ask for, instead of as an
unexplained ``AUTHENTICATIONFAILED`` from the server.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .._exceptions import ConfigError, MailAuthError
from .._token import Token
from .._types import TokenSource

#: What a mail login takes: a provider, a Token, a 4D token object (or its ``token`` part), an access token.
MailSource = Union[TokenSource, Token, Mapping[str, Any], str]

PROTOCOLS = ("imap", "smtp", "pop3")
OUTLOOK_RESOURCE = "https://outlook.office.com"
#: App-only IMAP/POP/SMTP tokens are asked for with this resource's ``/.default`` scope.
OUTLOOK_APP_RESOURCE = "https://outlook.office365.com"
#: ``aud`` values of tokens that Exchange Online's mail protocols accept.
OUTLOOK_AUDIENCES = frozenset({
    "https://outlook.office.com", "https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000",
    "https://outlook.office365.us", "https://partner.outlook.cn",
})
_DELEGATED = {"imap": "IMAP.AccessAsUser.All", "pop3": "POP.AccessAsUser.All", "smtp": "SMTP.Send"}
_APP_ROLES = {"imap": "IMAP.AccessAsApp", "pop3": "POP.AccessAsApp", "smtp": "SMTP.SendAsApp"}
_USER_CLAIMS = ("upn", "preferred_username", "email", "unique_name")


class TokenAudienceError(MailAuthError):
    """The token cannot log in to this protocol (wrong audience or missing permission).

    Raised before connecting. ``scope`` is the scope to ask for instead.
    """

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


@dataclass(frozen=True)
class MailCredentials:
    """What a login needs: the SASL user, the access token, and the CA file to trust."""

    user: str
    access_token: str = field(repr=False)
    ca_file: Optional[str] = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)


def delegated_scope(protocol: str) -> str:
    """The delegated Outlook scope a signed-in user's token needs for ``protocol``."""
    return f"{OUTLOOK_RESOURCE}/{_DELEGATED[check_protocol(protocol)]}"


def check_protocol(protocol: str) -> str:
    name = str(protocol).lower()
    if name == "pop":
        name = "pop3"
    if name not in PROTOCOLS:
        raise ConfigError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}", key="protocol")
    return name


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT access token, not verified (the server verifies); {} for opaque tokens."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def check_audience(claims: Mapping[str, Any], protocol: str) -> None:
    """Raise TokenAudienceError when a JWT's ``aud`` or permissions cannot work for ``protocol``.

    Opaque tokens (no claims) pass: only the server can judge them.
    """
    if not claims:
        return
    app_only = "scp" not in claims and ("roles" in claims or claims.get("idtyp") == "app")
    scope = f"{OUTLOOK_APP_RESOURCE}/.default" if app_only else delegated_scope(protocol)
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    if not any(str(aud).rstrip("/") in OUTLOOK_AUDIENCES for aud in audiences):
        shown = ", ".join(map(str, audiences)) or "none"
        raise TokenAudienceError(
            f"this token is for {shown}, not Outlook, so the {protocol.upper()} server would refuse it: "
            f"ask for the scope {scope!r}",
            scope=scope,
        )
    if app_only:
        needed, granted = _APP_ROLES[protocol], set(claims.get("roles") or ())
    elif "scp" in claims:
        needed, granted = _DELEGATED[protocol], set(str(claims["scp"]).split())
    else:
        return
    if needed not in granted:
        raise TokenAudienceError(
            f"this Outlook token lacks the {needed} permission that {protocol.upper()} needs "
            f"(it has: {', '.join(sorted(granted)) or 'none'}): ask for the scope {scope!r}",
            scope=scope,
        )


def resolve(
    source: MailSource,
    protocol: str,
    *,
    user: Optional[str] = None,
    ca_file: Optional[str] = None,
) -> MailCredentials:
    """Get the token from ``source`` and settle the login name and CA file; check the audience."""
    protocol = check_protocol(protocol)
    default_user: Optional[str] = None
    if hasattr(source, "get_token"):  # a provider (TokenSource)
        config = getattr(source, "config", None)
        app_only = getattr(config, "permission", None) == "service"
        scope = f"{OUTLOOK_APP_RESOURCE}/.default" if app_only else delegated_scope(protocol)
        token_obj = source.get_token(scopes=[scope])
        access_token = getattr(token_obj, "access_token", None)
        default_user = getattr(source, "username", None) or getattr(token_obj, "username", None)
        ca_file = ca_file or getattr(config, "ca_file", None)
    elif hasattr(source, "access_token"):  # a Token
        access_token = source.access_token
        default_user = getattr(source, "username", None)
    elif isinstance(source, Mapping):  # a 4D token object, or its bare "token" part
        inner = source.get("token", source)
        access_token = inner.get("access_token") if isinstance(inner, Mapping) else None
    elif isinstance(source, str):
        access_token = source
    else:
        raise ConfigError(
            "source must be an OAuth2Provider, a Token, a 4D token object or an access-token string, "
            f"not {type(source).__name__}",
            key="source",
        )
    if not isinstance(access_token, str) or not access_token.strip():
        raise ConfigError("source holds no access token", key="source")
    access_token = access_token.strip()
    claims = jwt_claims(access_token)
    check_audience(claims, protocol)
    login = user or default_user or next((claims[c] for c in _USER_CLAIMS if claims.get(c)), None)
    if not login:
        raise ConfigError(
            "user is required: the token names no user (app-only or opaque token)", key="user"
        )
    return MailCredentials(user=str(login), access_token=access_token, ca_file=ca_file, claims=claims)


def refusal_hints(claims: Mapping[str, Any], login_user: str) -> list[str]:
    """Likely causes of a refusal that the token itself shows (servers give the same answer for all)."""
    hints = []
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp <= time.time():
        hints.append(f"the token expired {int(time.time() - exp)} s ago")
    names = {str(claims[c]).lower() for c in _USER_CLAIMS if claims.get(c)}
    if names and login_user.lower() not in names:
        owner = claims.get("upn") or claims.get("preferred_username") or claims.get("email")
        hints.append(
            f"the token belongs to {owner}, not {login_user} "
            "(a shared mailbox needs the delegate to have access to it)"
        )
    return hints
