"""SASL strings for OAuth 2.0 mail logins, and the decoding of a server's error challenge.

Pure data in, data out: no sockets here, so the wire forms can be tested (and reused by users of
imapclient, imap-tools or aiosmtplib) without a server.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Optional, Union

from .._exceptions import ConfigError

XOAUTH2 = "XOAUTH2"
OAUTHBEARER = "OAUTHBEARER"
MECHANISMS = (XOAUTH2, OAUTHBEARER)


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 initial response (before base64), as Google and Microsoft define it."""
    _check_field("user", user)
    _check_field("token", token)
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer_string(user: str, token: str, host: str, port: int) -> str:
    """The OAUTHBEARER initial response of RFC 7628 (before base64), with the user as authzid."""
    _check_field("user", user)
    _check_field("token", token)
    _check_field("host", host)
    # RFC 5801 gs2 header: "," and "=" in the authzid are escaped as =2C and =3D.
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={int(port)}\x01auth=Bearer {token}\x01\x01"


def initial_response(mechanism: str, user: str, token: str, host: str, port: int) -> str:
    """The initial response for ``mechanism`` (``XOAUTH2`` or ``OAUTHBEARER``)."""
    mechanism = check_mechanism(mechanism)
    if mechanism == XOAUTH2:
        return xoauth2_string(user, token)
    return oauthbearer_string(user, token, host, port)


def check_mechanism(mechanism: str) -> str:
    """The mechanism name upper-cased; ConfigError naming the choices for anything else."""
    name = str(mechanism).upper()
    if name not in MECHANISMS:
        raise ConfigError(
            f"mechanism must be one of {', '.join(MECHANISMS)}, not {mechanism!r}", key="mechanism"
        )
    return name


def b64(text: str) -> str:
    """Base64 of the UTF-8 text, as it goes on the wire."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_challenge(data: Union[bytes, str, None]) -> Optional[dict[str, Any]]:
    """The JSON error challenge a server sends before refusing (``{"status": "401", ...}``).

    Accepts the base64 text from the wire or bytes a client library already decoded; returns None
    when there is no challenge or it is not JSON (an empty ``+`` is an ordinary continuation).
    """
    if data is None:
        return None
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    raw = raw.strip()
    if not raw:
        return None
    if not raw.startswith(b"{"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _check_field(name: str, value: str) -> None:
    # \x01 separates the fields: a value holding it would let a token smuggle extra fields.
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string", key=name)
    if "\x01" in value:
        raise ConfigError(f"{name} must not contain the \\x01 separator", key=name)
