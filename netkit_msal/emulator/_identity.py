"""The Microsoft identity platform (Entra ID v2.0 endpoints), as plain Request -> Response functions.

Endpoints: OpenID discovery, JWKS, ``authorize``, ``token`` (authorization_code with PKCE,
refresh_token, client_credentials with secret or certificate assertion, device_code),
``devicecode`` and the ``devicelogin`` page. Errors have Entra's JSON shape and AADSTS codes.
State (codes, refresh tokens, device codes, consents) lives in memory, behind one lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import unquote, urlencode, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from . import _pages
from ._directory import App, Directory, User
from ._http import Request, Response
from ._scopes import (OIDC_SCOPES, Scopes, ScopeError, parse_consent_scopes, parse_scopes, permissions,
                      service_of)
from ._tokens import Clock, Signer, access_token_claims, b64url, client_info, id_token_claims

CODE_LIFETIME = 600
DEVICE_CODE_LIFETIME = 900
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_ASSERTION_SKEW = 300


class EntraError(Exception):
    """An error answer of the identity platform: OAuth ``error`` + AADSTS code + description."""

    def __init__(self, error: str, code: int, description: str, *, status: int = 400,
                 suberror: Optional[str] = None) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.error, self.code, self.description = error, code, description
        self.status, self.suberror = status, suberror

    @classmethod
    def from_scope_error(cls, exc: ScopeError) -> "EntraError":
        return cls(exc.error, exc.code, exc.description)

    def fields(self, base_url: str, correlation_id: Optional[str]) -> dict[str, Any]:
        trace_id, correlation_id = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": (f"AADSTS{self.code}: {self.description} Trace ID: {trace_id} "
                                  f"Correlation ID: {correlation_id} Timestamp: {stamp}"),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{base_url}/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        return body


_POST_ONLY = EntraError("invalid_request", 900561, "The endpoint only accepts POST requests. Received a GET request.")


@dataclass
class _AuthCode:
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
class _RefreshGrant:
    client_id: str
    user_id: str
    issued_at: float
    seq: int


@dataclass
class _DeviceGrant:
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


class IdentityPlatform:
    """Entra ID's v2.0 endpoints for one tenant."""

    def __init__(self, directory: Directory, signer: Signer, clock: Clock, *, url: str,
                 settings: Settings, count: Callable[[str], None]) -> None:
        self.directory = directory
        self.signer = signer
        self.clock = clock
        self.settings = settings
        self.count = count
        self.bind(url)
        self._lock = threading.Lock()
        self._codes: dict[str, _AuthCode] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._devices: dict[str, _DeviceGrant] = {}
        self._user_codes: dict[str, str] = {}
        self._consents: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._valid_from: dict[str, int] = {}
        self._seq = itertools.count(1)

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
        return Response.json(exc.fields(self.url, req.headers.get("client-request-id")), exc.status)

    def _endpoints(self, tenant: str) -> dict[str, str]:
        base = f"{self.url}/{tenant}"
        return {
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
        }

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

    @staticmethod
    def _redirect_allowed(app: App, redirect_uri: str) -> bool:
        """Exact match, or loopback on any port (as Entra allows for http://localhost registrations)."""
        if redirect_uri in app.redirect_uris:
            return True
        parts = urlsplit(redirect_uri)
        for registered in app.redirect_uris:
            reg = urlsplit(registered)
            if (reg.scheme == "http" and parts.scheme == "http" and reg.hostname in ("localhost", "127.0.0.1")
                    and parts.hostname == reg.hostname and reg.path.strip("/") in ("", parts.path.strip("/"))):
                return True
        return False

    # ------------------------------------------------------------------ discovery and keys
    def discovery(self, req: Request, tenant: str) -> Response:
        if not self.tenant_known(tenant):
            return self.tenant_error(req, tenant)
        issuer_tenant = self.directory.tenant_id if tenant.lower() not in ("common", "organizations") \
            else "{tenantid}"
        doc = {
            **self._endpoints(tenant),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.url}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                                 "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time",
                                 "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
                                 "c_hash", "email"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return Response.json(doc)

    def jwks(self, req: Request) -> Response:
        return Response.json({"keys": [{**self.signer.jwk, "issuer": self.issuer}]})

    # ------------------------------------------------------------------ authorize
    def authorize(self, req: Request, tenant: str) -> Response:
        params = dict(req.query)
        if req.method == "POST":
            params.update(req.form())
        if not self.tenant_known(tenant):
            return self._error_page(EntraError("invalid_request", 90002, f"Tenant '{tenant}' not found."))
        try:
            app = self._app(params.get("client_id", ""))
        except EntraError as exc:
            return self._error_page(exc)
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not self._redirect_allowed(app, redirect_uri):
            return self._error_page(EntraError(
                "invalid_request", 50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
                f"URIs configured for the application '{app.client_id}'. Make sure the redirect URI sent in "
                f"the request matches one added to your application in the Azure portal."))
        mode = params.get("response_mode") or "query"
        state = params.get("state")
        try:
            return self._authorize(tenant, params, app, redirect_uri, mode, state)
        except EntraError as exc:
            fields = exc.fields(self.url, req.headers.get("client-request-id"))
            # invalid_grant is a token-endpoint error: at authorize, OpenID Connect's consent_required
            # (prompt=none) or access_denied (a refused sign-in) say it.
            error = exc.error if exc.error != "invalid_grant" else exc.suberror or "access_denied"
            reply = {"error": error, "error_description": fields["error_description"],
                     "error_uri": fields["error_uri"]}
            if exc.suberror:
                reply["suberror"] = exc.suberror
            if state is not None:
                reply["state"] = state
            return self._deliver(redirect_uri, mode, reply)

    def _authorize(self, tenant: str, params: dict[str, str], app: App, redirect_uri: str, mode: str,
                   state: Optional[str]) -> Response:
        if params.get("response_type") != "code":
            raise EntraError("unsupported_response_type", 700054,
                             f"response_type '{params.get('response_type', '')}' is not enabled for the "
                             f"application.")
        if mode not in ("query", "fragment", "form_post"):
            raise EntraError("invalid_request", 900144, f"Unsupported response_mode '{mode}'.")
        try:
            # Several resources may be consented to at once; the code is for the first one.
            consented = parse_consent_scopes(params.get("scope", ""), self.directory)
        except ScopeError as exc:
            raise EntraError.from_scope_error(exc) from None
        scopes = consented[0]
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or "plain"
        if challenge and method not in ("S256", "plain"):
            raise EntraError("invalid_request", 50148,
                             f"The code_challenge_method '{method}' is not supported; use S256 or plain.")
        prompt = params.get("prompt", "")
        step = params.get("emu_step")
        if step == "signin":
            if params.get("action") != "accept" or params.get("consent") != "yes":
                raise EntraError("access_denied", 65004, "User declined to consent to access the app.")
            user = self._active_user(self.directory.user(params.get("user", "")), params.get("user", ""))
        elif self.settings.auto_approve or prompt == "none":
            if not self.settings.auto_approve:
                raise EntraError("login_required", 50058,
                                 "A silent sign-in request was sent but no user is signed in.")
            user = self.default_user(params.get("login_hint"))
            if prompt == "none":
                for each in consented:
                    self._granted(user, app, each)  # consent_required when the user would be asked
        else:
            hidden = {k: v for k, v in params.items() if k not in ("user", "consent", "action")}
            hidden["emu_step"] = "signin"
            users = [u for u in self.directory.users if not u.shared]
            asked = [s for each in consented for s in each.full(each.names)] + sorted(scopes.oidc)
            page = _pages.sign_in(f"{self.url}/{tenant}/oauth2/v2.0/authorize", hidden, users,
                                  params.get("login_hint", ""), app.name, asked)
            return Response.html(page)
        for each in consented:
            self._consent(user, app, each)
        code = secrets.token_urlsafe(48)
        with self._lock:
            self._purge(self.clock.now())
            self._codes[code] = _AuthCode(app.client_id, redirect_uri, scopes, user.id, challenge, method,
                                          params.get("nonce") or None, self.clock.now())
        reply = {"code": code}
        if params.get("client_info") == "1":
            reply["client_info"] = client_info(user, self.directory.tenant_id)
        if state is not None:
            reply["state"] = state
        reply["session_state"] = str(uuid.uuid5(uuid.NAMESPACE_URL, user.id))
        return self._deliver(redirect_uri, mode, reply)

    @staticmethod
    def _deliver(redirect_uri: str, mode: str, fields: dict[str, str]) -> Response:
        if mode == "form_post":
            return Response.html(_pages.form_post(redirect_uri, fields))
        if mode == "fragment":
            return Response.redirect(f"{redirect_uri}#{urlencode(fields)}")
        sep = "&" if "?" in redirect_uri else "?"
        return Response.redirect(f"{redirect_uri}{sep}{urlencode(fields)}")

    def logout(self, req: Request, tenant: str) -> Response:
        """Front-channel sign-out: there is no browser session to end; go back to the app if it asked."""
        target = req.query.get("post_logout_redirect_uri")
        if target:
            return Response.redirect(target)
        return Response.html(_pages.message("You signed out of your account",
                                            "It's a good idea to close all browser windows."))

    def _error_page(self, exc: EntraError) -> Response:
        return Response(exc.status, _pages.message(
            "Sorry, but we're having trouble signing you in.", f"AADSTS{exc.code}: {exc.description}", True
        ).encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})

    # ------------------------------------------------------------------ token
    def token(self, req: Request, tenant: str) -> Response:
        if not self.tenant_known(tenant):
            return self.tenant_error(req, tenant)
        if req.method != "POST":
            return self._json_error(req, _POST_ONLY)
        form = req.form()
        try:
            app = self._authenticate_client(req, form, tenant)
            grant = form.get("grant_type", "")
            self.count(f"token:{grant.rsplit(':', 1)[-1]}")
            if grant == "authorization_code":
                return self._by_code(form, app)
            if grant == "refresh_token":
                return self._by_refresh_token(form, app)
            if grant == "client_credentials":
                return self._by_client_credentials(form, app)
            if grant == DEVICE_GRANT:
                return self._by_device_code(form, app)
            if not grant:
                raise EntraError("invalid_request", 900144,
                                 "The request body must contain the following parameter: 'grant_type'.")
            raise EntraError("unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant}'.")
        except EntraError as exc:
            return self._json_error(req, exc)

    def _authenticate_client(self, req: Request, form: dict[str, str], tenant: str) -> App:
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                basic_id, _, basic_secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise EntraError("invalid_client", 7000215, "Invalid client secret provided.", status=401) from None
            client_id, secret = client_id or unquote(basic_id), unquote(basic_secret)
        app = self._app(client_id)
        assertion = form.get("client_assertion")
        if app.kind == "public":
            if secret or assertion:
                raise EntraError("invalid_client", 700025,
                                 "Client is public so neither 'client_assertion' nor 'client_secret' should be "
                                 "presented.", status=401)
            return app
        if assertion:
            self._verify_assertion(app, assertion, form.get("client_assertion_type", ""), tenant)
        elif secret:
            if not app.secret or not hmac.compare_digest(secret.encode(), app.secret.encode()):
                raise EntraError("invalid_client", 7000215,
                                 f"Invalid client secret provided. Ensure the secret being sent in the request "
                                 f"is the client secret value, not the client secret ID, for a secret added to "
                                 f"app '{app.client_id}'.", status=401)
        else:
            raise EntraError("invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.", status=401)
        return app

    def _verify_assertion(self, app: App, assertion: str, assertion_type: str, tenant: str) -> None:
        """A certificate credential: a JWT signed with the registered certificate's key."""
        if assertion_type != ASSERTION_TYPE:
            raise EntraError("invalid_request", 70002,
                             f"The client_assertion_type '{assertion_type}' is not supported.", status=400)
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise EntraError("invalid_client", 50027, "JWT token is invalid or malformed.", status=401) from None
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            raise EntraError("invalid_client", 5002738,
                             f"Invalid JWT token. '{alg}' is not a supported signature algorithm.", status=401)
        certificate = self._assertion_certificate(app, header)
        try:
            claims = jwt.decode(assertion, certificate.public_key(), algorithms=[alg],
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_aud": False, "verify_iss": False})
        except jwt.PyJWTError:
            raise EntraError("invalid_client", 700027,
                             "Client assertion contains an invalid signature. [Reason - The provided signature "
                             "value did not match the expected signature value.]", status=401) from None
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise EntraError("invalid_client", 700021,
                             "Client assertion application identifier doesn't match 'client_id' parameter.",
                             status=401)
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not any(self._assertion_audience_ok(a) for a in audiences):
            raise EntraError("invalid_client", 700212,
                             f"The audience of the client assertion is not valid. Expected the token endpoint "
                             f"{self.url}/{tenant}/oauth2/v2.0/token.", status=401)
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, (int, float)) or exp + _ASSERTION_SKEW < now or \
                (isinstance(nbf, (int, float)) and nbf - _ASSERTION_SKEW > now):
            raise EntraError("invalid_client", 700024,
                             "Client assertion is not within its valid time range.", status=401)

    def _assertion_certificate(self, app: App, header: dict[str, Any]) -> x509.Certificate:
        # Clients differ on base64url padding (MSAL pads): compare without it.
        x5t = str(header.get("x5t") or "").rstrip("=")
        x5t_s256 = str(header.get("x5t#S256") or "").rstrip("=")
        for thumbprint, pem in app.certificates.items():
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            sha256 = b64url(hashlib.sha256(cert.public_bytes(Encoding.DER)).digest())
            if (x5t and x5t == b64url(bytes.fromhex(thumbprint))) or (x5t_s256 and x5t_s256 == sha256):
                return cert
        shown = header.get("x5t") or header.get("x5t#S256") or "(none)"
        raise EntraError("invalid_client", 700027,
                         f"Client assertion contains an invalid signature. [Reason - The key was not found., "
                         f"Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph "
                         f"Explorer or directly use MS Graph to see configured keys for app Id "
                         f"'{app.client_id}'.]", status=401)

    def _assertion_audience_ok(self, aud: Any) -> bool:
        if not isinstance(aud, str):
            return False
        parts, ours = urlsplit(aud), urlsplit(self.url)
        if parts.scheme != "https" or parts.port != ours.port or \
                parts.hostname not in (ours.hostname, "127.0.0.1", "localhost"):
            return False
        segments = parts.path.strip("/").split("/")
        return bool(segments) and self.tenant_known(segments[0]) and segments[1:] in (
            ["oauth2", "v2.0", "token"], ["oauth2", "token"], ["v2.0"], [])

    def _by_code(self, form: dict[str, str], app: App) -> Response:
        code = form.get("code", "")
        if not code:
            raise EntraError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'code'.")
        with self._lock:
            grant = self._codes.get(code)
            if grant is not None and grant.client_id == app.client_id:
                used, grant.used = grant.used, True
        if grant is None or grant.client_id != app.client_id:
            raise EntraError("invalid_grant", 70000,
                             "The provided value for the 'code' parameter is not valid. The code has expired, "
                             "is malformed or was issued to another application.")
        if used:
            raise EntraError("invalid_grant", 54005,
                             "OAuth2 Authorization code was already redeemed, please retry with a new valid "
                             "code or use an existing refresh token.")
        if self.clock.now() - grant.issued_at > CODE_LIFETIME:
            raise EntraError("invalid_grant", 70008,
                             "The provided authorization code or refresh token has expired due to inactivity. "
                             "Send a new interactive authorization request for this user and resource.")
        redirect_uri = form.get("redirect_uri", "")
        if redirect_uri != grant.redirect_uri:
            raise EntraError("invalid_grant", 500112,
                             f"The reply address '{redirect_uri}' does not match the reply address "
                             f"'{grant.redirect_uri}' provided when requesting Authorization code.")
        if grant.challenge:
            verifier = form.get("code_verifier", "")
            if not verifier:
                raise EntraError("invalid_request", 900144,
                                 "The request body must contain the following parameter: 'code_verifier'.")
            computed = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest()) \
                if grant.method == "S256" else verifier
            if not hmac.compare_digest(computed, grant.challenge):
                raise EntraError("invalid_grant", 501481,
                                 "The Code_Verifier does not match the code_challenge supplied in the "
                                 "authorization request.")
        user = self._active_user(self.directory.user(grant.user_id))
        scopes = self._scopes(form["scope"]) if form.get("scope") else grant.scopes
        names = self._granted(user, app, scopes)
        return self._user_tokens(app, user, scopes, names, nonce=grant.nonce,
                                 with_client_info=form.get("client_info") == "1")

    def _by_refresh_token(self, form: dict[str, str], app: App) -> Response:
        token = form.get("refresh_token", "")
        if not token:
            raise EntraError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'refresh_token'.")
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None:
            raise EntraError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if grant.client_id != app.client_id:
            raise EntraError("invalid_grant", 70000,
                             "Provided grant is invalid or malformed: the refresh token was issued to another "
                             "application.")
        if grant.seq < self._valid_from.get(grant.user_id, 0):
            raise EntraError("invalid_grant", 50173,
                             "The provided grant has expired due to it being revoked, a fresh auth token is "
                             "needed. The user might have changed or reset their password.")
        if self.clock.now() - grant.issued_at > REFRESH_TOKEN_LIFETIME:
            raise EntraError("invalid_grant", 700082,
                             "The refresh token has expired due to inactivity. The token was issued on "
                             f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(grant.issued_at))} and was "
                             f"inactive for 90.00:00:00.")
        user = self._active_user(self.directory.user(grant.user_id))
        scopes = self._scopes(form.get("scope", ""))
        names = self._granted(user, app, scopes)
        return self._user_tokens(app, user, scopes, names, nonce=None,
                                 with_client_info=form.get("client_info") == "1")

    def _by_client_credentials(self, form: dict[str, str], app: App) -> Response:
        text = form.get("scope", "")
        wanted = [w for w in text.split() if w not in OIDC_SCOPES]
        bad = [w for w in wanted if not w.rstrip("/").endswith("/.default")]
        if len(wanted) > 1 and not bad:
            raise EntraError("invalid_scope", 70011,
                             f"The provided request must include a 'scope' input parameter. The provided value "
                             f"for the input parameter 'scope' is not valid. The scope {text} is not valid.")
        if bad or not wanted:
            raise EntraError("invalid_scope", 1002012,
                             f"The provided value for scope {bad[0] if bad else text} is not valid. Client "
                             f"credential flows must have a scope value with /.default suffixed to the "
                             f"resource identifier (application ID URI).")
        scopes = self._scopes(" ".join(wanted))
        roles = sorted(permissions(app, scopes.service, roles=True))
        lifetime = self.settings.token_lifetime
        claims = access_token_claims(issuer=self.issuer, tenant_id=self.directory.tenant_id,
                                     resource=scopes.resource, app=app, user=None, scopes=roles,
                                     now=self.clock.now(), lifetime=lifetime)
        if not roles:
            del claims["roles"]  # Entra issues the token anyway; the API then refuses it
        return Response.json({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                              "access_token": self.signer.sign(claims)})

    def _user_tokens(self, app: App, user: User, scopes: Scopes, names: list[str], *,
                     nonce: Optional[str], with_client_info: bool) -> Response:
        now = self.clock.now()
        lifetime = self.settings.token_lifetime
        claims = access_token_claims(issuer=self.issuer, tenant_id=self.directory.tenant_id,
                                     resource=scopes.resource, app=app, user=user, scopes=names,
                                     now=now, lifetime=lifetime)
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
            self._refresh[token] = _RefreshGrant(app.client_id, user.id, self.clock.now(), next(self._seq))
        return token

    # ------------------------------------------------------------------ device code
    def devicecode(self, req: Request, tenant: str) -> Response:
        if not self.tenant_known(tenant):
            return self.tenant_error(req, tenant)
        if req.method != "POST":
            return self._json_error(req, _POST_ONLY)
        form = req.form()
        try:
            app = self._app(form.get("client_id", ""))
            scopes = self._scopes(form.get("scope", ""))
            user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
            device_code = "DAQABIQEAAAD." + secrets.token_urlsafe(48)
            grant = _DeviceGrant(app.client_id, scopes, user_code, self.clock.now(),
                                 form.get("login_hint") or None, self.settings.device_code_interval)
            if self.settings.auto_approve:
                try:
                    user = self.default_user(grant.login_hint)
                    names = self._granted(user, app, scopes, interactive=True)
                    self._consent(user, app, Scopes(scopes.resource, scopes.service, tuple(names), scopes.oidc))
                    grant.status, grant.user_id = "approved", user.id
                except EntraError as exc:
                    grant.status, grant.failure = "failed", exc
            with self._lock:
                self._purge(grant.issued_at)
                self._devices[device_code] = grant
                self._user_codes[user_code] = device_code
        except EntraError as exc:
            return self._json_error(req, exc)
        verification_uri = f"{self.url}/devicelogin"
        return Response.json({
            "user_code": user_code, "device_code": device_code, "verification_uri": verification_uri,
            "expires_in": DEVICE_CODE_LIFETIME, "interval": grant.interval,
            "message": f"To sign in, use a web browser to open the page {verification_uri} and enter the code "
                       f"{user_code} to authenticate.",
        })

    def _by_device_code(self, form: dict[str, str], app: App) -> Response:
        device_code = form.get("device_code", "")
        if not device_code:
            raise EntraError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'device_code'.")
        now = self.clock.now()
        with self._lock:
            grant = self._devices.get(device_code)
            if grant is None or grant.client_id != app.client_id:
                raise EntraError("invalid_grant", 70000,
                                 "The provided value for the input parameter 'device_code' is not valid.")
            last, grant.last_poll = grant.last_poll, now
            status = grant.status
            if status == "approved" and now - grant.issued_at <= DEVICE_CODE_LIFETIME:
                grant.status = "redeemed"
        if now - grant.issued_at > DEVICE_CODE_LIFETIME:
            raise EntraError("expired_token", 70019, "Verification code expired.")
        if status == "redeemed":
            raise EntraError("invalid_grant", 54005, "The device code was already redeemed.")
        if status == "declined":
            raise EntraError("authorization_declined", 70000, "The user declined the sign-in request.")
        if status == "failed":
            assert grant.failure is not None
            raise grant.failure
        if status == "pending":
            if last is not None and now - last < grant.interval - 1:
                raise EntraError("slow_down", 70016,
                                 "OAuth 2.0 device flow error. The client is polling too fast; wait the "
                                 "interval between polls.")
            raise EntraError("authorization_pending", 70016,
                             "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
        assert grant.user_id is not None
        user = self._active_user(self.directory.user(grant.user_id))
        names = self._granted(user, app, grant.scopes)
        return self._user_tokens(app, user, grant.scopes, names, nonce=None,
                                 with_client_info=form.get("client_info") == "1")

    def devicelogin(self, req: Request) -> Response:
        """The page where a person types the user code, picks an account and consents."""
        action = f"{self.url}/devicelogin"
        if req.method != "POST":
            return Response.html(_pages.device_code_entry(action))
        form = req.form()
        user_code = form.get("code", "").strip().upper().replace("-", "")
        with self._lock:
            grant = self._devices.get(self._user_codes.get(user_code, ""))
        if grant is None:
            return Response.html(_pages.device_code_entry(
                action, "That code didn't work. Check the code and try again."), 400)
        if self.clock.now() - grant.issued_at > DEVICE_CODE_LIFETIME:
            return Response.html(_pages.device_code_entry(action, "That code has expired."), 400)
        if grant.status == "approved" and self.settings.auto_approve:
            return Response.html(_pages.message("Already approved", "This emulator approves sign-ins "
                                                "automatically; your device is signed in. You may close this window."))
        if grant.status != "pending":
            return Response.html(_pages.message("Code already used",
                                                "This code was already used. Start again on your device."), 400)
        app = self._app(grant.client_id)
        if "action" not in form:
            users = [u for u in self.directory.users if not u.shared]
            return Response.html(_pages.device_code_sign_in(
                action, user_code, users, grant.login_hint or "", app.name,
                grant.scopes.full(grant.scopes.names) + sorted(grant.scopes.oidc)))
        if form.get("action") != "accept" or form.get("consent") != "yes":
            with self._lock:
                grant.status = "declined"
            return Response.html(_pages.message("Sign-in cancelled", "You cancelled the sign-in. You may now "
                                                "close this window."))
        try:
            user = self._active_user(self.directory.user(form.get("user", "")), form.get("user", ""))
            names = self._granted(user, app, grant.scopes, interactive=True)
        except EntraError as exc:
            with self._lock:
                grant.status, grant.failure = "failed", exc
            return Response.html(_pages.message("Sign-in failed", f"AADSTS{exc.code}: {exc.description}",
                                                True), 400)
        self._consent(user, app, Scopes(grant.scopes.resource, grant.scopes.service, tuple(names),
                                        grant.scopes.oidc))
        with self._lock:
            grant.status, grant.user_id = "approved", user.id
        return Response.html(_pages.message(
            app.name, f"You have signed in to the {app.name} application on your device. You may now close "
                      f"this window."))

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
            self._refresh = {t: _RefreshGrant(*g) for t, g in state.get("refresh_tokens", {}).items()}
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
        return self.signer.verify(token, issuer=self.issuer, now=self.clock.now())

