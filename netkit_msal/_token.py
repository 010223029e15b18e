"""The token object: 4D's shape by item access, plain attributes for Python.

``token["token"]["access_token"]`` and ``token["tokenExpiration"]`` (UTC, ISO 8601 with ``Z``) work as in 4D;
``token.access_token``, ``token.expires_on`` (aware datetime), ``token.username`` ... are the Python view.
A Token is immutable; ``repr`` and ``str`` never show a token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from ._iso import parse_iso_datetime

#: A token with less than this left is treated as expired, so that it is not refused mid-request.
EXPIRY_MARGIN = timedelta(seconds=60)
#: Fields of an MSAL result that are MSAL's own, not the server's.
_MSAL_FIELDS = ("id_token_claims", "token_source", "refresh_on")
_KEYS = ("token", "tokenExpiration")
#: Fields of the token object that are text when present (the tokens themselves).
_TEXT_FIELDS = ("access_token", "refresh_token", "id_token")


def _decode_jwt_claims(jwt: Optional[str]) -> dict[str, Any]:
    """The payload of a JWT, not verified (the issuer is trusted over TLS); {} when it is not a JWT."""
    if not jwt or jwt.count(".") != 2:
        return {}
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def check_token_fields(fields: Mapping[str, Any]) -> None:
    """Tokens must be text before they are used: a saved token comes from anywhere (a file, a 4D record), and a
    broken server's answer is no better. TypeError or ValueError saying which field is wrong."""
    for name in _TEXT_FIELDS:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"the token's {name} must be text, not {type(value).__name__}")
    if not fields.get("access_token"):
        raise ValueError("the token object has no access_token")


def _claim_text(claims: Mapping[str, Any], *names: str) -> Optional[str]:
    """The first of ``names`` that is a non-empty text claim (an unverified token's claims may be anything)."""
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _format_expiration(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_expiration(text: str) -> datetime:
    """4D's ``tokenExpiration``. Old 4D versions wrote local time without a zone: read it as local time."""
    moment = parse_iso_datetime(text)
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(timezone.utc)


class Token(Mapping[str, Any]):
    """An access token with its expiry, account and raw server fields (4D's token object)."""

    __slots__ = ("_fields", "_expires_on", "_username", "_tenant_id")

    def __init__(
        self,
        fields: Mapping[str, Any],
        expires_on: datetime,
        *,
        username: Optional[str] = None,
        tenant_id: Optional[str] = None,
    ) -> None:
        check_token_fields(fields)
        if expires_on.tzinfo is None:
            raise ValueError("expires_on must be an aware datetime")
        self._fields = dict(fields)
        self._expires_on = expires_on.astimezone(timezone.utc).replace(microsecond=0)
        claims = self.id_token_claims or self.access_token_claims
        self._username = username or _claim_text(claims, "preferred_username", "upn")
        self._tenant_id = tenant_id or _claim_text(claims, "tid")

    # --- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_msal_result(
        cls,
        result: Mapping[str, Any],
        *,
        scopes: Sequence[str] = (),
        account: Optional[Mapping[str, Any]] = None,
        previous: Optional[Token] = None,
        id_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        keep_refresh_token: bool = True,
        now: Optional[datetime] = None,
    ) -> Token:
        """A Token from what MSAL returned (a server response or a cache hit).

        A response without a refresh token keeps ``previous``'s (4D's rule); ``keep_refresh_token=False``
        (``accessType: "online"``) leaves it out. ``id_token``/``refresh_token`` fill in what a cache hit lacks.
        """
        fields = {k: v for k, v in result.items() if k not in _MSAL_FIELDS}
        fields.setdefault("token_type", "Bearer")
        if "scope" not in fields and scopes:
            fields["scope"] = " ".join(scopes)
        if id_token and "id_token" not in fields:
            fields["id_token"] = id_token
        if keep_refresh_token:
            kept = fields.get("refresh_token") or refresh_token or (previous.refresh_token if previous else None)
            if kept:
                fields["refresh_token"] = kept
        else:
            fields.pop("refresh_token", None)
        moment = (now or datetime.now(timezone.utc)) + timedelta(seconds=int(fields.get("expires_in", 0)))
        if result.get("token_source") == "cache" and moment.microsecond:
            # MSAL floors the cached expiry's remaining seconds; the cached expiry is a whole second: round up.
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
        claims = result.get("id_token_claims") or {}
        username = claims.get("preferred_username") or claims.get("upn") or (account or {}).get("username")
        tenant = claims.get("tid") or (account or {}).get("realm")
        if tenant in ("common", "organizations", "consumers"):
            tenant = None
        return cls(fields, moment, username=username or None, tenant_id=tenant)

    @classmethod
    def from_4d(cls, value: Any, token_expiration: Optional[str] = None) -> Token:
        """From 4D's token object, its bare ``token`` part (with ``token_expiration``), or a Token."""
        if isinstance(value, Token):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"a token object is a dict, not {type(value).__name__}")
        if isinstance(value.get("token"), Mapping):
            fields, expiration = value["token"], value.get("tokenExpiration") or token_expiration
        else:
            fields, expiration = value, token_expiration
        check_token_fields(fields)  # before the access token is decoded for its exp
        if expiration:
            try:
                moment = _parse_expiration(str(expiration))
            except ValueError:
                raise ValueError(f"tokenExpiration {expiration!r} is not an ISO 8601 date-time") from None
            except OverflowError:
                raise ValueError(f"tokenExpiration {expiration!r} is out of range") from None
        else:
            exp = _decode_jwt_claims(fields["access_token"]).get("exp")
            if not isinstance(exp, (int, float)) or isinstance(exp, bool):
                raise ValueError("tokenExpiration is missing (and the access token carries no exp claim)")
            try:
                moment = datetime.fromtimestamp(exp, timezone.utc)
            except (OverflowError, ValueError, OSError):
                raise ValueError("tokenExpiration is missing (and the access token's exp claim is out of range)") \
                    from None
        return cls(fields, moment)

    @classmethod
    def from_json(cls, text: str) -> Token:
        """Inverse of :meth:`to_json`."""
        return cls.from_4d(json.loads(text))

    # --- 4D shape -------------------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        if key == "token":
            return dict(self._fields)
        if key == "tokenExpiration":
            return _format_expiration(self._expires_on)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    def to_dict(self) -> dict[str, Any]:
        """4D's token object as a plain dict (holds the secrets)."""
        return {"token": dict(self._fields), "tokenExpiration": self["tokenExpiration"]}

    def to_json(self) -> str:
        """4D's token object as JSON, to save and hand back as the ``token`` parameter (holds the secrets)."""
        return json.dumps(self.to_dict())

    # --- Python view ----------------------------------------------------------------------------------------

    @property
    def access_token(self) -> str:
        return self._fields["access_token"]

    @property
    def refresh_token(self) -> Optional[str]:
        return self._fields.get("refresh_token")

    @property
    def id_token(self) -> Optional[str]:
        return self._fields.get("id_token")

    @property
    def token_type(self) -> str:
        return self._fields.get("token_type", "Bearer")

    @property
    def expires_on(self) -> datetime:
        return self._expires_on

    @property
    def scopes(self) -> list[str]:
        return str(self._fields.get("scope", "")).split()

    @property
    def username(self) -> Optional[str]:
        return self._username

    @property
    def tenant_id(self) -> Optional[str]:
        return self._tenant_id

    @property
    def id_token_claims(self) -> dict[str, Any]:
        return _decode_jwt_claims(self.id_token)

    @property
    def access_token_claims(self) -> dict[str, Any]:
        """The access token's claims, unverified ({} for an opaque token, e.g. a personal account's)."""
        return _decode_jwt_claims(self.access_token)

    @property
    def valid(self) -> bool:
        """Usable for at least another minute."""
        return self._expires_on - datetime.now(timezone.utc) > EXPIRY_MARGIN

    def __repr__(self) -> str:
        return (f"Token(username={self._username!r}, scopes={self.scopes!r}, "
                f"expires_on={self['tokenExpiration']!r}, valid={self.valid})")

    __str__ = __repr__
