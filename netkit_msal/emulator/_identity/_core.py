"""The identity platform's state and the helpers every endpoint shares.

State (codes, refresh tokens, device codes, consents) lives in memory, behind one lock; the endpoint
mixins (``_discovery``, ``_authorize``, ``_client_auth``, ``_grants``, ``_device``) build on this base.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from .._directory import App, Directory, User
from .._http import Request, Response
from .._scopes import ScopeError, Scopes, parse_scopes, permissions, service_of
from .._tokens import Clock, Signer, access_token_claims, client_info, id_token_claims, v1_issuer
from ._conditional_access import ConditionalAccess
from ._errors import EntraError, json_error

CODE_LIFETIME = 600
DEVICE_CODE_LIFETIME = 900
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scopes: Scopes
    user_id: str
    challenge: Optional[str]
    method: str
    nonce: Optional[str]
    issued_at: float
    used: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    user_id: str
    issued_at: float
    seq: int


@dataclass
class DeviceGrant:
    client_id: str
    scopes: Scopes
    user_code: str
    issued_at: float
    login_hint: Optional[str]
    interval: int
    #: "pending", "approved", "declined", "failed" or "redeemed".
    status: str = "pending"
    user_id: Optional[str] = None
    last_poll: Optional[float] = None
    failure: Optional[EntraError] = None


@dataclass
class Settings:
    """Knobs the emulator's owner changes at run time."""

    auto_approve: bool = True
    token_lifetime: int = 3600
    device_code_interval: int = 5


class IdentityCore:
    """The shared state and helpers of Entra ID's v2.0 endpoints for one tenant."""

    def __init__(self, directory: Directory, signer: Signer, clock: Clock, *, url: str,
                 settings: Settings, count: Callable[[str], None]) -> None:
        self.directory = directory
        self.signer = signer
        self.clock = clock
        self.settings = settings
        self.count = count
        self.bind(url)
        self._lock = threading.Lock()
        self._codes: dict[str, AuthCode] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._devices: dict[str, DeviceGrant] = {}
        self._user_codes: dict[str, str] = {}
        self._consents: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._valid_from: dict[str, int] = {}
        self._seq = itertools.count(1)
        self.conditional_access = ConditionalAccess(clock.now)

    def bind(self, url: str) -> None:
        """The base URL the server listens on: endpoints and the issuer derive from it."""
        self.url = url
        self.issuer = f"{url}/{self.directory.tenant_id}/v2.0"

    # ------------------------------------------------------------------ helpers
    def _purge(self, now: float) -> None:
        """Forget codes long expired (caller holds the lock): a long-running emulator stays small."""
        for code in [c for c, g in self._codes.items() if now - g.issued_at > 2 * CODE_LIFETIME]:
            del self._codes[code]
        for device_code in [d for d, g in self._devices.items() if now - g.issued_at > 2 * DEVICE_CODE_LIFETIME]:
            self._user_codes.pop(self._devices.pop(device_code).user_code, None)

    def tenant_known(self, segment: str) -> bool:
        return segment.lower() in {self.directory.tenant_id, self.directory.domain.lower(),
                                   "common", "organizations"}

    def tenant_error(self, req: Request, segment: str) -> Response:
        return self._json_error(req, EntraError(
            "invalid_request", 90002,
            f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are "
            f"signing into the correct cloud."))

    def _json_error(self, req: Request, exc: EntraError) -> Response:
        return json_error(req, self.url, exc)

    def _app(self, client_id: str) -> App:
        app = self.directory.app(client_id) if client_id else None
        if app is None:
            if not client_id:
                raise EntraError("invalid_request", 900144,
                                 "The request body must contain the following parameter: 'client_id'.")
            raise EntraError("unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.directory.domain}'. This can happen if the application has not been "
                             f"installed by the administrator of the tenant or consented to by any user in "
                             f"the tenant. You may have sent your authentication request to the wrong tenant.")
        return app

    def _active_user(self, user: Optional[User], hint: str = "") -> User:
        if user is None:
            raise EntraError("invalid_grant", 50034,
                             f"The user account {hint or '(none)'} does not exist in the "
                             f"{self.directory.domain} directory. To sign into this application, the account "
                             f"must be added to the directory.")
        if not user.enabled or user.shared:
            raise EntraError("invalid_grant", 50057,
                             "The user account is disabled. The account has been disabled by an administrator.")
        return user

    def default_user(self, login_hint: Optional[str]) -> User:
        """The user a sign-in is approved for without a person: ``login_hint``'s, else the first."""
        if login_hint:
            return self._active_user(self.directory.user(login_hint), login_hint)
        candidates = [u for u in self.directory.users if not u.shared]
        return self._active_user(candidates[0] if candidates else None)

    def _scopes(self, text: str) -> Scopes:
        try:
            return parse_scopes(text, self.directory)
        except ScopeError as exc:
            raise EntraError.from_scope_error(exc) from None

    def _consent(self, user: User, app: App, scopes: Scopes) -> None:
        with self._lock:
            granted = self._consents.setdefault((user.id, app.client_id), set())
            granted |= {(scopes.service, n) for n in scopes.names if n != ".default"}

    def _granted(self, user: User, app: App, scopes: Scopes, *, interactive: bool = False) -> list[str]:
        """Delegated permission names a token may carry; consent_required when one is missing."""
        admin = permissions(app, scopes.service)
        with self._lock:
            mine = {n for s, n in self._consents.get((user.id, app.client_id), set()) if s == scopes.service}
        names = [n for n in scopes.names if n != ".default"]
        if scopes.is_default:
            names = sorted(set(names) | admin | mine)
        missing = [n for n in names if n not in admin and n not in mine]
        if missing and not interactive:
            raise EntraError(
                "invalid_grant", 65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{app.client_id}' named '{app.name}'. Send an interactive authorization request for this "
                f"user and resource. Missing: {', '.join(scopes.full(missing))}.",
                suberror="consent_required")
        return names

    def _user_tokens(self, app: App, user: User, scopes: Scopes, names: list[str], *,
                     nonce: Optional[str], with_client_info: bool, claims_request: str = "",
                     silent: bool = False) -> Response:
        """Tokens for a user; ``claims_request`` is the request's ``claims`` (``silent``: a refresh, no user)."""
        extra = self.conditional_access.token_claims(user.id, claims_request, silent=silent)
        now = self.clock.now()
        lifetime = self.settings.token_lifetime
        claims = access_token_claims(issuer=self.issuer, tenant_id=self.directory.tenant_id,
                                     resource=scopes.resource, app=app, user=user, scopes=names,
                                     now=now, lifetime=lifetime, extra=extra)
        echoed = scopes.full(names) + (scopes.full([".default"]) if scopes.is_default else [])
        body: dict[str, Any] = {"token_type": "Bearer", "scope": " ".join(echoed), "expires_in": lifetime,
                                "ext_expires_in": lifetime, "access_token": self.signer.sign(claims)}
        if "offline_access" in scopes.oidc:
            body["refresh_token"] = self._new_refresh_token(app, user)
        if "openid" in scopes.oidc:
            body["id_token"] = self.signer.sign(id_token_claims(
                issuer=self.issuer, tenant_id=self.directory.tenant_id, app=app, user=user, now=now,
                nonce=nonce))
        if with_client_info:
            body["client_info"] = client_info(user, self.directory.tenant_id)
        return Response.json(body)

    def _new_refresh_token(self, app: App, user: User) -> str:
        token = "0.emu." + secrets.token_urlsafe(64)
        with self._lock:
            self._refresh[token] = RefreshGrant(app.client_id, user.id, self.clock.now(), next(self._seq))
        return token

    # ------------------------------------------------------------------ persistence
    def export_state(self) -> dict[str, Any]:
        """Refresh tokens, consents and revocations, so that a restarted emulator honours them."""
        with self._lock:
            return {
                "refresh_tokens": {t: [g.client_id, g.user_id, g.issued_at, g.seq] for t, g in self._refresh.items()},
                "consents": [[u, c, sorted(map(list, names))] for (u, c), names in self._consents.items()],
                "valid_from": dict(self._valid_from),
            }

    def import_state(self, state: dict[str, Any]) -> None:
        with self._lock:
            self._refresh = {t: RefreshGrant(*g) for t, g in state.get("refresh_tokens", {}).items()}
            self._consents = {(u, c): {(s, n) for s, n in names} for u, c, names in state.get("consents", [])}
            self._valid_from = {k: int(v) for k, v in state.get("valid_from", {}).items()}
            top = max([g.seq for g in self._refresh.values()] + list(self._valid_from.values()) + [0])
            self._seq = itertools.count(top + 1)

    # ------------------------------------------------------------------ knobs
    def revoke_refresh_tokens(self, user: User) -> None:
        """Like revokeSignInSessions: every refresh token issued so far to the user stops working."""
        with self._lock:
            self._valid_from[user.id] = next(self._seq)

    def mint_access_token(self, user: Optional[User], scopes: tuple[str, ...], *, client_id: str,
                          lifetime: int, **claims: Any) -> str:
        resources = set()
        names = []
        for scope in scopes:
            resource, _, name = scope.rstrip("/").rpartition("/")
            resources.add(resource or "https://graph.microsoft.com")
            names.append(name)
        if len(resources) != 1:
            raise ValueError("mint_access_token: give scopes of exactly one resource, as full URIs")
        resource = resources.pop()
        app = self.directory.app(client_id) or App(client_id, "test client", "public")
        if user is None and ".default" in names and service_of(resource):
            names = sorted(permissions(app, service_of(resource) or "", roles=True))
        token_claims = access_token_claims(issuer=self.issuer, tenant_id=self.directory.tenant_id,
                                           resource=resource, app=app, user=user, scopes=names,
                                           now=self.clock.now(), lifetime=lifetime, extra=claims)
        return self.signer.sign(token_claims)

    def verify_access_token(self, token: str) -> dict[str, Any]:
        issuers = (self.issuer, v1_issuer(self.directory.tenant_id))
        return self.signer.verify(token, issuer=issuers, now=self.clock.now())
