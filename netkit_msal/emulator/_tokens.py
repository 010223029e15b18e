"""Signing and verifying the emulator's JWTs, and the claims Entra ID puts in them.

Pure functions of (key, clock, claims): no HTTP here, so the token shapes are testable directly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any, Optional

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ._directory import GRAPH, GRAPH_APP_ID, OUTLOOK, OUTLOOK_365, OUTLOOK_APP_ID, App, User
from ._http import TokenRejected


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class Clock:
    """The emulator's notion of now: real time plus an adjustable offset (``advance``).

    Everything the emulator stamps or checks itself uses it (codes, device codes, refresh tokens,
    access-token ``iat``/``nbf``/``exp`` and their verification). Client assertions are checked
    against real time: they are stamped by the client's clock.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds


class Signer:
    """RS256 signing with the emulator's persisted key; ``kid`` is the key's SHA-256 thumbprint."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key
        public = key.public_key()
        self.public_key_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
        numbers = public.public_numbers()
        self.kid = b64url(hashlib.sha256(self.public_key_pem.encode("ascii")).digest())[:27]
        self.jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                    "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}

    def __repr__(self) -> str:
        return f"Signer(kid={self.kid!r})"

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"typ": "JWT", "kid": self.kid})

    def verify(self, token: str, *, issuer: str | Iterable[str], now: float) -> dict[str, Any]:
        """Claims of a token this emulator signed; TokenRejected(reason) otherwise.

        ``issuer`` may be several: Microsoft's own resources get v1 tokens (``sts.windows.net``),
        customer APIs v2 ones, both from one tenant.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("malformed token") from None
        if header.get("alg") != "RS256":
            raise TokenRejected(f"algorithm {header.get('alg')!r} not accepted")
        if header.get("kid") != self.kid:
            raise TokenRejected("unknown signing key (kid)")
        try:
            claims = jwt.decode(token, self._key.public_key(), algorithms=["RS256"],
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_aud": False, "verify_iss": False})
        except jwt.PyJWTError:
            raise TokenRejected("invalid signature") from None
        if claims.get("iss") not in ((issuer,) if isinstance(issuer, str) else tuple(issuer)):
            raise TokenRejected("wrong issuer")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            raise TokenRejected("token expired")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 60:
            raise TokenRejected("token not yet valid")
        return claims


#: Microsoft's first-party resources, by URI or app id: Entra issues them v1 tokens whatever endpoint
#: was asked, with the resource URI as ``aud`` (the app id maps to its URI).
_MICROSOFT_RESOURCES = {GRAPH: GRAPH, GRAPH_APP_ID: GRAPH, OUTLOOK: OUTLOOK, OUTLOOK_365: OUTLOOK_365,
                        OUTLOOK_APP_ID: OUTLOOK_365}


def v1_issuer(tenant_id: str) -> str:
    """The ``iss`` of v1 access tokens (those of Microsoft's own resources)."""
    return f"https://sts.windows.net/{tenant_id}/"


def microsoft_audience(resource: str) -> Optional[str]:
    """The ``aud`` Entra puts in a token for one of Microsoft's own resources; None for a customer API."""
    return _MICROSOFT_RESOURCES.get(resource.rstrip("/"))


def access_token_claims(*, issuer: str, tenant_id: str, resource: str, app: App, user: Optional[User],
                        scopes: Iterable[str], now: float, lifetime: int,
                        extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Claims of an access token for one resource: delegated (``scp``) or app-only (``roles``).

    Graph and Exchange get Entra's v1 shape (``sts.windows.net`` issuer, ``upn``/``unique_name``, no
    ``azp``/``preferred_username``); customer APIs keep the v2 shape of the endpoint asked.
    """
    iat = int(now)
    first_party = microsoft_audience(resource)
    claims: dict[str, Any] = {
        "aud": first_party or resource, "iss": v1_issuer(tenant_id) if first_party else issuer,
        "iat": iat, "nbf": iat, "exp": iat + int(lifetime), "tid": tenant_id,
        "uti": b64url(uuid.uuid4().bytes), "app_displayname": app.name,
    }
    if first_party:
        claims.update({"ver": "1.0", "appid": app.client_id, "appidacr": _appidacr(app)})
    else:
        claims.update({"ver": "2.0", "azp": app.client_id, "azpacr": _appidacr(app)})
    if user is None:
        claims.update({"oid": _app_object_id(app), "sub": _app_object_id(app), "idtyp": "app",
                       "roles": sorted(scopes)})
        if first_party:
            claims["idp"] = claims["iss"]
    else:
        claims.update({"oid": user.id, "sub": _pairwise_sub(user, app), "name": user.display_name,
                       "given_name": user.given_name, "family_name": user.surname, "idtyp": "user",
                       "scp": " ".join(scopes)})
        if first_party:
            claims.update({"upn": user.upn, "unique_name": user.upn, "acr": "1", "amr": ["pwd"]})
        else:
            claims.update({"upn": user.upn, "preferred_username": user.upn, "email": user.mail})
    claims.update(extra or {})
    return claims


def _appidacr(app: App) -> str:
    """How the client authenticated: 0 public client, 1 secret, 2 certificate."""
    if app.kind == "public":
        return "0"
    return "1" if app.secret else "2"


def id_token_claims(*, issuer: str, tenant_id: str, app: App, user: User, now: float,
                    nonce: Optional[str], lifetime: int = 3600) -> dict[str, Any]:
    iat = int(now)
    claims: dict[str, Any] = {
        "aud": app.client_id, "iss": issuer, "iat": iat, "nbf": iat, "exp": iat + lifetime,
        "name": user.display_name, "oid": user.id, "preferred_username": user.upn,
        "email": user.mail, "sub": _pairwise_sub(user, app), "tid": tenant_id, "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    return claims


def client_info(user: User, tenant_id: str) -> str:
    """MSAL's ``client_info``: base64url JSON giving ``home_account_id`` = ``uid.utid``."""
    return b64url(json.dumps({"uid": user.id, "utid": tenant_id}).encode("utf-8"))


def _pairwise_sub(user: User, app: App) -> str:
    """Entra's ``sub`` is per (user, app); stable and opaque."""
    return b64url(hashlib.sha256(f"{user.id}|{app.client_id}".encode()).digest())[:43]


def _app_object_id(app: App) -> str:
    """A stable service-principal object id for an app."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"netkit-msal-emulator:sp:{app.client_id}"))
