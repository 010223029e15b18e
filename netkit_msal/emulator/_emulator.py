"""``Emulator``: the local Microsoft 365 (identity platform + Graph) in one object.

It owns the key material (state folder), the directory, the identity platform, the Graph API, the
knobs, and the HTTPS server thread that routes requests to them.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlsplit

from .._paths import emulator_state_dir
from ._admin import AdminApi
from ._directory import (
    CERT_CLIENT_ID,
    GRAPH,
    PUBLIC_CLIENT_ID,
    SECRET_CLIENT_ID,
    SECRET_CLIENT_SECRET,
    Directory,
    User,
    seed_directory,
)
from ._graph import GraphApi
from ._http import Request, Response
from ._identity import IdentityPlatform, Settings
from ._knobs import Fault, Faults, Stats
from ._managed_identity import IDENTITIES, ManagedIdentityEndpoint
from ._server import DROP, ServerThread, url_host
from ._tls import (
    CLIENT_CERT_FILE,
    SIGNING_KEY_FILE,
    CertificateAuthority,
    ClientCertificate,
    load_or_create_rsa_key,
    state_lock,
    write_private,
)
from ._tokens import Clock, Signer

if TYPE_CHECKING:
    from ._browser import HeadlessBrowser

logger = logging.getLogger("netkit_msal.emulator")

#: Graph permissions of the ready parameter objects (``params()``).
SIGNED_IN_SCOPES = [f"{GRAPH}/{name}" for name in (
    "User.Read", "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite", "MailboxSettings.Read")]
SERVICE_SCOPES = [f"{GRAPH}/.default"]


def default_state_dir() -> Path:
    """``$NETKIT_MSAL_EMULATOR_DIR``, else ``~/.cache/netkit-msal/emulator``."""
    return Path(emulator_state_dir())  # the product's per-user folder (platformdirs), so the two agree


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Emulator:
    """A local Microsoft identity platform (Entra ID v2.0) and Graph, over HTTPS on loopback.

    ``with Emulator() as emu:`` starts it on a free port. Sign-ins and device codes are approved
    without a person when ``auto_approve`` (for ``login_hint``'s user, else the first user).
    ``persist=True`` keeps Graph data (mailboxes, calendars) and the identity state (refresh tokens,
    consents, revocations) in the state folder across restarts.
    """

    def __init__(self, state_dir: Union[str, os.PathLike, None] = None, *, host: str = "127.0.0.1",
                 port: int = 0, auto_approve: bool = True, token_lifetime: int = 3600,
                 persist: bool = False) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.host = host
        self._requested_port = port
        self.persist = persist
        self.settings = Settings(auto_approve=auto_approve, token_lifetime=int(token_lifetime))
        self.clock = Clock()
        self.faults = Faults()
        self._stats = Stats()
        self.directory: Directory = seed_directory()
        with state_lock(self.state_dir):
            self._ca = CertificateAuthority(self.state_dir)
            self._signer = Signer(load_or_create_rsa_key(self.state_dir / SIGNING_KEY_FILE))
            self._client_cert = ClientCertificate(self.state_dir / CLIENT_CERT_FILE)
        cert_app = self.directory.apps[CERT_CLIENT_ID]
        cert_app.certificate_thumbprints.add(self._client_cert.thumbprint)
        cert_app.certificates[self._client_cert.thumbprint] = self._client_cert.certificate_pem
        self.identity = IdentityPlatform(self.directory, self._signer, self.clock, url="",
                                         settings=self.settings, count=self._stats.count)
        self.graph = GraphApi(self.directory, self.verify_access_token, self._stats.count,
                              state_file=str(self.state_dir / "graph.json") if persist else None,
                              clock=self.clock.now,
                              drive_dir=Path(tempfile.mkdtemp(prefix="drives-", dir=self.state_dir)))
        self.graph.drives.now = self.clock.now
        self.graph.inner_fault = self._batch_fault
        self._identity_file = self.state_dir / "identity.json"
        if persist and self._identity_file.exists():
            try:
                self.identity.import_state(json.loads(self._identity_file.read_text("utf-8")))
            except (ValueError, TypeError, KeyError):
                logger.warning("emulator: ignoring unreadable %s", self._identity_file)
        self.graph.access_policy = self.identity.conditional_access.challenge
        self.managed_identity = ManagedIdentityEndpoint(self.directory, self._signer, self.clock,
                                                        lambda: self.identity.issuer,
                                                        lambda: self.settings.token_lifetime)
        self._admin = AdminApi(self)
        self._server: Optional[ServerThread] = None
        self._mi_server: Optional[ServerThread] = None
        self._url: Optional[str] = None

    def __repr__(self) -> str:
        return f"Emulator(url={self._url!r}, state_dir={str(self.state_dir)!r})"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        hostnames = ["127.0.0.1", "localhost"]
        if self.host not in ("", "0.0.0.0", "::", *hostnames):
            hostnames.append(self.host)
        with state_lock(self.state_dir):  # another emulator on this folder may be writing server.pem now
            cert_file, key_file = self._ca.issue_server_certificate(hostnames, self.state_dir, stem="server")
            server = ServerThread(self.host, self._requested_port, cert_file, key_file, self._dispatch)
        self._url = f"https://{url_host(self.host)}:{server.port}"
        self.identity.bind(self._url)
        server.server.base_url = self._url
        server.start()
        self._server = server
        logger.info("emulator: serving %s (state %s)", self._url, self.state_dir)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server = None
        if self._mi_server is not None:
            self._mi_server.stop()
            self._mi_server = None
        self.graph.close()
        if self.persist:
            self.graph.save()
            write_private(self._identity_file, json.dumps(self.identity.export_state()).encode("utf-8"))
        logger.info("emulator: stopped %s", self._url)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses and identity
    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not started: call start() or use it as a context manager")
        return self._url

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 443)

    @property
    def tenant_id(self) -> str:
        return self.directory.tenant_id

    @property
    def domain(self) -> str:
        return self.directory.domain

    @property
    def authority(self) -> str:
        return f"{self.url}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return f"{self.authority}/v2.0"

    @property
    def graph_url(self) -> str:
        return f"{self.url}/v1.0"

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def ca_file(self) -> str:
        return str(self._ca.cert_path)

    @property
    def users(self) -> list[User]:
        return self.directory.users

    @property
    def kid(self) -> str:
        return self._signer.kid

    @property
    def signing_public_key_pem(self) -> str:
        return self._signer.public_key_pem

    @property
    def client_certificate_path(self) -> str:
        return str(self._client_cert.path)

    @property
    def client_certificate_thumbprint(self) -> str:
        return self._client_cert.thumbprint

    # ------------------------------------------------------------------ parameter objects and description
    def params(self, permission: str = "signedIn", **overrides: Any) -> dict[str, Any]:
        """A complete 4D parameter object for the seeded public (signedIn) or secret (service) app.

        Overrides are merged in; an override of ``None`` removes the key.
        """
        common = {"name": "Microsoft", "tenant": self.tenant_id, "authority": self.authority,
                  "caFile": self.ca_file, "graphEndpoint": self.url}
        if permission == "signedIn":
            params = {"permission": "signedIn", "clientId": PUBLIC_CLIENT_ID,
                      "redirectURI": f"http://127.0.0.1:{_free_port()}/", "scope": list(SIGNED_IN_SCOPES),
                      "loginHint": self.users[0].upn, **common}
        elif permission == "service":
            params = {"permission": "service", "clientId": SECRET_CLIENT_ID, "clientSecret": SECRET_CLIENT_SECRET,
                      "scope": list(SERVICE_SCOPES), **common}
        else:
            raise ValueError("permission must be 'signedIn' or 'service'")
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def describe(self) -> dict[str, Any]:
        """Everything a person or program needs to use this emulator (what the CLI prints)."""
        apps = []
        for app in self.directory.apps.values():
            entry: dict[str, Any] = {"clientId": app.client_id, "name": app.name, "kind": app.kind}
            if app.secret:
                entry["clientSecret"] = app.secret
            if app.client_id == CERT_CLIENT_ID:
                entry["certificateFile"] = self.client_certificate_path
                entry["thumbprint"] = self.client_certificate_thumbprint
            if app.redirect_uris:
                entry["redirectURIs"] = list(app.redirect_uris)
            apps.append(entry)
        return {
            "url": self.url,
            "authority": self.authority,
            "issuer": self.issuer,
            "tenant": {"id": self.tenant_id, "domain": self.domain},
            "caFile": self.ca_file,
            "stateDir": str(self.state_dir),
            "endpoints": {
                "discovery": f"{self.issuer}/.well-known/openid-configuration",
                "authorize": f"{self.authority}/oauth2/v2.0/authorize",
                "token": self.token_endpoint,
                "devicecode": f"{self.authority}/oauth2/v2.0/devicecode",
                "devicelogin": f"{self.url}/devicelogin",
                "jwks": f"{self.authority}/discovery/v2.0/keys",
                "graph": self.graph_url,
                "admin": f"{self.url}/_emulator",
            },
            "signing": {"kid": self.kid, "publicKeyPem": self.signing_public_key_pem},
            "apps": apps,
            "users": [{"upn": u.upn, "id": u.id, "displayName": u.display_name, "enabled": u.enabled,
                       "shared": u.shared} for u in self.users],
            "autoApprove": self.settings.auto_approve,
            "tokenLifetime": self.settings.token_lifetime,
            "params": {"signedIn": self.params("signedIn"), "service": self.params("service")},
            "managedIdentity": {"identities": [i.describe() for i in IDENTITIES],
                                "roles": self.managed_identity.roles(),
                                "environment": self.managed_identity_environment()},
        }

    # ------------------------------------------------------------------ stats and knobs
    def stats(self) -> dict[str, int]:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    def count(self, name: str) -> None:
        self._stats.count(name)

    def set_token_lifetime(self, seconds: int) -> None:
        if seconds < 1:
            raise ValueError("token lifetime must be at least 1 second")
        self.settings.token_lifetime = int(seconds)

    def set_device_code_interval(self, seconds: int) -> None:
        """The polling interval /devicecode announces (Entra: 5 s); polling faster gets ``slow_down``."""
        if seconds < 1:
            raise ValueError("the device code interval must be at least 1 second")
        self.settings.device_code_interval = int(seconds)

    def set_auto_approve(self, enabled: bool) -> None:
        self.settings.auto_approve = bool(enabled)

    def advance_clock(self, seconds: float) -> None:
        """Shift the emulator's notion of now (codes, device codes, refresh and access token validity).

        Clients keep their own clock: MSAL's cached tokens do not expire because of this.
        """
        self.clock.advance(seconds)

    def inject_fault(self, endpoint: str, *, status: Optional[int] = None, count: Optional[int] = 1,
                     retry_after: Optional[float] = None, latency: float = 0.0, drop: bool = False,
                     body: Any = None) -> None:
        """Misbehave on the next ``count`` requests to ``endpoint`` (None: until ``clear_faults()``).

        ``status`` answers with that HTTP error (and ``Retry-After`` when given); ``body`` answers with that
        JSON (a text is sent as is, e.g. a malformed token answer) and ``status`` or 200; ``latency`` waits
        first; ``drop`` closes the connection without an answer.
        """
        self.faults.add(Fault(endpoint, status, count, retry_after, float(latency), bool(drop), body))

    def clear_faults(self) -> None:
        self.faults.clear()

    def send_lifecycle_event(self, event: str, subscription_id: Optional[str] = None) -> list[str]:
        """Send Graph's lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``,
        ``missed``) to one subscription or every one with a ``lifecycleNotificationUrl``; returns their ids."""
        return self.graph.subscriptions.send_lifecycle_event(event, subscription_id)

    def drop_notifications(self, enabled: bool = True) -> None:
        """Drop change notifications instead of delivering them (until called with False), to play
        notifications Graph could not deliver; ``send_lifecycle_event("missed")`` then says so."""
        self.graph.subscriptions.dropping = bool(enabled)

    def subscriptions(self) -> list[dict[str, Any]]:
        """Graph change-notification subscriptions in force (as ``GET /subscriptions`` renders them)."""
        return self.graph.subscriptions.active()

    def _user(self, user: Union[User, str]) -> User:
        if isinstance(user, User):
            return user
        found = self.directory.user(user)
        if found is None:
            raise KeyError(f"no user {user!r} in the emulated directory")
        return found

    # ------------------------------------------------------------------ hosted in Azure, conditional access
    def managed_identity_environment(self) -> dict[str, str]:
        """``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` as App Service sets them: with these in its environment,
        MSAL's ``ManagedIdentityClient`` (``{"managedIdentity": true}``) gets its tokens here. The endpoint is
        plain HTTP on loopback, as on App Service; it starts on first call."""
        if self._mi_server is None:
            self.url  # noqa: B018 - started first: the identity endpoint shares the emulator's lifetime
            server = ServerThread(self.host, 0, None, None, self._dispatch_managed_identity)
            server.start()
            self._mi_server = server
        return self.managed_identity.environment(self._mi_server.server.base_url)

    def challenge_sessions(self, upn: Union[User, str], *, revoke: bool = False) -> None:
        """A CAE critical event for the user: Graph answers the user's CAE tokens issued until now with a claims
        challenge (a new token satisfies it). ``revoke=True`` also revokes the refresh tokens (Entra's
        revokeSignInSessions), so only a new sign-in does."""
        user = self._user(upn)
        self.identity.conditional_access.challenge_sessions(user.id)
        if revoke:
            self.identity.revoke_refresh_tokens(user)

    def require_auth_context(self, upn: Union[User, str], context: str, grant: str = "silent") -> None:
        """Conditional access step-up: Graph challenges the user's tokens without ``acrs`` ``context``.

        ``grant``: how the token endpoint answers a request for it: ``"silent"`` (a refresh token gets it),
        ``"interactive"`` (only a sign-in does: a refresh answers interaction_required) or ``"never"``.
        """
        self.identity.conditional_access.require_auth_context(self._user(upn).id, context, grant)

    def clear_conditional_access(self, upn: Union[User, str, None] = None) -> None:
        """Forget ``challenge_sessions`` and ``require_auth_context`` for one user (None: everyone)."""
        self.identity.conditional_access.clear(None if upn is None else self._user(upn).id)

    def revoke_refresh_tokens(self, upn: Union[User, str]) -> None:
        self.identity.revoke_refresh_tokens(self._user(upn))

    def disable_user(self, upn: Union[User, str], disabled: bool = True) -> None:
        self._user(upn).enabled = not disabled

    def mint_access_token(self, user: Union[User, str, None] = None,
                          scopes: tuple[str, ...] = (f"{GRAPH}/User.Read",), *,
                          client_id: str = PUBLIC_CLIENT_ID, lifetime: int = 3600, **claims: Any) -> str:
        """An access token as the token endpoint would issue it (app-only when ``user`` is None).

        ``scopes`` are full URIs of one resource; extra keyword arguments override claims.
        """
        return self.identity.mint_access_token(None if user is None else self._user(user), tuple(scopes),
                                               client_id=client_id, lifetime=lifetime, **claims)

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """Claims of a token this emulator issued; TokenRejected(reason) if forged, expired, foreign."""
        return self.identity.verify_access_token(token)

    def issue_server_certificate(self, hostnames: tuple[str, ...] = ("127.0.0.1", "localhost"),
                                 directory: Union[str, os.PathLike, None] = None) -> tuple[str, str]:
        """A TLS server certificate (and key) signed by the emulator CA, e.g. for Dovecot."""
        target = Path(directory) if directory is not None else self.state_dir / "server-certs"
        stem = "-".join(h.replace(":", "_") for h in hostnames)[:60] or "server"
        return self._ca.issue_server_certificate(hostnames, target, stem=stem)

    def install_browser(self, user: Optional[str] = None, *, consent: bool = True) -> HeadlessBrowser:
        """Register a headless ``webbrowser`` that signs in at this emulator (as ``user``, consenting)."""
        from ._browser import install

        return install(self.ca_file, user=user, consent=consent)

    def browser(self, user: Optional[str] = None, *, consent: bool = True) -> HeadlessBrowser:
        """A headless browser for this emulator, not registered with ``webbrowser``."""
        from ._browser import HeadlessBrowser

        return HeadlessBrowser(self.ca_file, user=user, consent=consent)

    # ------------------------------------------------------------------ routing
    def _route(self, req: Request) -> tuple[str, Any]:
        segments = req.path.strip("/").split("/")
        head = segments[0]
        if head == "v1.0":
            return "graph", self.graph.handle
        if head == "_emulator":
            return "admin", self._admin.handle
        if segments == ["devicelogin"]:
            return "devicelogin", self.identity.devicelogin
        rest = segments[1:]
        identity = self.identity
        if rest in (["v2.0", ".well-known", "openid-configuration"], [".well-known", "openid-configuration"]):
            return "discovery", lambda r: identity.discovery(r, head)
        if rest in (["discovery", "v2.0", "keys"], ["discovery", "keys"]):
            return "jwks", identity.jwks
        if rest[:2] == ["oauth2", "v2.0"] and len(rest) == 3:
            if rest[2] == "authorize":
                return "authorize", lambda r: identity.authorize(r, head)
            if rest[2] == "token":
                return "token", lambda r: identity.token(r, head)
            if rest[2] == "devicecode":
                return "devicecode", lambda r: identity.devicecode(r, head)
            if rest[2] == "logout":
                return "logout", lambda r: identity.logout(r, head)
        return "other", lambda r: Response.json(
            {"error": "not_found", "error_description": f"No emulator endpoint at {r.path}"}, 404)

    def _batch_fault(self, inner: Request) -> Optional[Response]:
        """A Graph fault for one request inside ``$batch`` (a dropped one answers 504 there)."""
        fault = self.faults.take("graph")
        if fault is None:
            return None
        if fault.latency:
            time.sleep(fault.latency)
        if fault.drop:
            fault = Fault("graph", 504)
        return fault.response(inner.headers.get("client-request-id")) if fault.status is not None else None

    def _dispatch(self, req: Request) -> Union[Response, object]:
        name, handler = self._route(req)
        return self._serve(name, handler, req)

    def _dispatch_managed_identity(self, req: Request) -> Union[Response, object]:
        return self._serve("managed_identity", self.managed_identity.handle, req)

    def _serve(self, name: str, handler: Any, req: Request) -> Union[Response, object]:
        self._stats.count(name)
        # $batch is never faulted whole: its inner requests are (GraphApi.inner_fault).
        if name != "admin" and not (name == "graph" and req.path.rstrip("/").lower().endswith("/v1.0/$batch")):
            fault = self.faults.take(name)
            if fault is not None:
                if fault.latency:
                    time.sleep(fault.latency)
                if fault.drop:
                    return DROP
                if fault.answers():
                    logger.info("emulator: injected HTTP %d on %s", fault.status or 200, name)
                    return fault.response(req.headers.get("client-request-id"))
        try:
            return handler(req)
        except Exception:  # a bug in a service: answer in the endpoint's dialect, keep serving
            logger.exception("emulator: %s %s failed", req.method, req.path)
            if name == "graph":
                return Response.json({"error": {"code": "InternalServerError", "message": "emulator failure"}}, 500)
            return Response.json({"error": "server_error", "error_description": "AADSTS90100: emulator failure",
                                  "error_codes": [90100]}, 500)
