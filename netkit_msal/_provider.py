"""``OAuth2Provider``: 4D's parameter object in, MSAL tokens out.

Semantics are 4D NetKit's: a valid token in memory comes back with no call at all; an expired one is
refreshed silently; with none, the flow runs (browser or device code for a user, client credentials for a
service). The MSAL application, the token store and the HTTP session are built on first need, so that
constructing a provider only checks the parameters.

Silent refreshes run under the token store's cross-process refresh lock and MSAL re-reads the persisted cache
inside it: when a shared token expires in several processes at once, the first refreshes and the others find
its result.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

from ._config import Config, parse_config
from ._exceptions import ConfigError, InteractionRequiredError
from ._scopes import normalize_scopes
from ._sessions import ProviderHTTP
from ._token import Token
from ._types import Scopes

if TYPE_CHECKING:
    import imaplib
    import poplib
    import smtplib

    import msal
    import requests
    from msgraph import GraphServiceClient

    from ._credential import AsyncProviderCredential, ProviderCredential
    from .cache import TokenStore
    from .flows.browser import PendingSignIn
    from .flows.device_code import DeviceCodeCallback

log = logging.getLogger("netkit_msal")


#: Name of the token cache file in the per-user cache folder; all apps share it (MSAL keys entries by app).
CACHE_NAME = "msal_token_cache"
#: Web-app sign-ins in progress kept per provider (the oldest is forgotten beyond this).
MAX_PENDING_AUTHORIZATIONS = 100


class OAuth2Provider:
    """Tokens for one app registration, as 4D NetKit's ``New OAuth2 provider``.

    ``params`` is 4D's parameter object (keyword arguments are merged into it and win). ``on_device_code`` is
    called with ``{user_code, verification_uri, message, expires_in}`` when the device code flow starts
    (default: the message is printed on stderr). Every parameter is checked here: a mistake raises ConfigError.
    """

    def __init__(self, params: Optional[Mapping[str, Any]] = None, *,
                 on_device_code: Optional[DeviceCodeCallback] = None, **kwargs: Any) -> None:
        self._config: Config = parse_config(params, **kwargs)
        self._on_device_code = on_device_code
        self._lock = threading.RLock()
        self._app: Optional[msal.ClientApplication] = None
        self._store: Optional[TokenStore] = None
        self._http = ProviderHTTP(self._config.ca_file, self._config.timeout)
        self._tokens: dict[tuple[str, ...], Token] = {}
        self._account: Optional[dict[str, Any]] = None
        self._pending: Optional[PendingSignIn] = None
        self._authorizations: OrderedDict[str, tuple[dict[str, Any], tuple[str, ...]]] = OrderedDict()
        if self._config.saved_token is not None:
            self._tokens[self._key(self._config.scope)] = self._config.saved_token

    # --- 4D members -------------------------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._config

    @property
    def scope(self) -> list[str]:
        return list(self._config.scope)

    @property
    def token_uri(self) -> str:
        return self._config.token_uri

    @property
    def authenticate_uri(self) -> str:
        """The sign-in URL to open, as 4D's ``authenticateURI``.

        For a signed-in browser flow this prepares the sign-in (binds the redirect receiver), so an app with
        ``browserAutoOpen: false`` can show it and then call :meth:`get_token`, which waits for the redirect.
        Otherwise it is the authority's authorization endpoint.
        """
        with self._lock:
            from .flows.interactive import flow_kind

            if flow_kind(self._config) != "browser":
                return self._config.authenticate_uri
            if self._pending is None:
                from .flows import browser

                self._pending = browser.start(self._msal_app(), self._config, self._config.scope)
            return self._pending.auth_uri

    @property
    def grant_type(self) -> str:
        """The OAuth 2.0 grant this provider's sign-in uses, as 4D's ``grantType``.

        ``"client_credentials"`` for a service, ``"authorization_code"`` for the browser flow,
        ``"urn:ietf:params:oauth:grant-type:device_code"`` for the device code flow (4D answers
        ``"client_credentials"`` for every Microsoft provider: it reads the value in service mode only).
        Silent refreshes use ``refresh_token`` whatever this says.
        """
        from .flows.interactive import grant_type

        return grant_type(self._config)

    @property
    def token(self) -> Optional[Token]:
        """The current token for the configured scope, or None (no call is made)."""
        return self._tokens.get(self._key(self._config.scope))

    @property
    def username(self) -> Optional[str]:
        """The signed-in account's username, or None (service, or nobody signed in yet)."""
        if self._account:
            return self._account.get("username")
        token = self.token
        return token.username if token else None

    def get_token(self, scopes: Scopes = None, *, force_refresh: bool = False,
                  interactive: bool = True, claims: Optional[str] = None) -> Token:
        """A valid token for ``scopes`` (default: the configured ``scope``), as 4D's ``getToken()``.

        Memory first (no call), then MSAL's cache or a refresh, then the flow. Other scopes (mail's,
        another API's) are got silently for the signed-in account when possible. ``interactive=False`` raises
        InteractionRequiredError instead of starting a browser or device code sign-in. ``claims`` is a claims
        challenge from a resource (Continuous Access Evaluation, conditional access): a new token is got with it.
        """
        wanted = self._scopes(scopes)
        key = self._key(wanted)
        with self._lock:
            current = self._tokens.get(key)
            if current is not None and current.valid and not force_refresh and not claims:
                return current
            token = self._acquire_silently(wanted, current, force_refresh, claims)
            if token is None:
                if not interactive:
                    raise InteractionRequiredError("a sign-in is needed and interactive=False was asked",
                                                   error="interaction_required")
                token = self._run_flow(wanted, claims)
            self._tokens[key] = token
            return token

    def is_token_valid(self) -> bool:
        """4D's ``isTokenValid()``: False with no token; True if valid, or after a successful silent refresh."""
        from ._exceptions import NetKitError

        if self._config.permission == "service" and self.token is None:
            return False
        try:
            self.get_token(interactive=False)
        except NetKitError as exc:
            log.debug("isTokenValid: %s", type(exc).__name__)
            return False
        return True

    # --- accounts ---------------------------------------------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        """The accounts in the token cache for this app: username, home_account_id, tenant_id, environment."""
        with self._lock:
            return [
                {"username": a.get("username"), "home_account_id": a.get("home_account_id"),
                 "tenant_id": a.get("realm"), "environment": a.get("environment"),
                 "local_account_id": a.get("local_account_id")}
                for a in self._msal_app().get_accounts()
            ]

    def sign_out(self, username: Optional[str] = None) -> list[str]:
        """Remove an account's tokens from the cache.

        Default: the signed-in account, else ``loginHint``'s, else every account of this app in the cache.

        A service provider forgets its app tokens. Returns the usernames signed out.
        """
        from .flows import msal_errors

        with self._lock, msal_errors("sign out"):
            app = self._msal_app()
            self._tokens.clear()
            if self._config.permission == "service":
                app.remove_tokens_for_client()
                return []
            target = username or self.username or self._config.login_hint
            removed = app.get_accounts(username=target) if target else app.get_accounts()
            for account in removed:
                app.remove_account(account)
            self._account = None
            log.debug("signed out %d account(s)", len(removed))
            return [a.get("username") for a in removed]

    # --- web apps: the authorization code flow in two steps ----------------------------------------------------

    def get_authorization_url(self, *, scopes: Scopes = None,
                              redirect_uri: Optional[str] = None, state: Optional[str] = None,
                              login_hint: Optional[str] = None, prompt: Optional[str] = None,
                              response_mode: str = "form_post") -> str:
        """Step 1 of a web app's sign-in: the URL to send the user to.

        The redirect comes back as a POST form (``response_mode="form_post"``, recommended) or in the URL's
        query (``"query"``).

        The flow (state, PKCE verifier, nonce) stays in this provider, keyed by its state, until
        :meth:`complete_authorization` gets the redirect back (sticky sessions for several processes).
        """
        if self._config.permission != "signedIn":
            raise ConfigError('the authorization code flow signs a user in: permission must be "signedIn"',
                              key="permission")
        from .flows import auth_code

        wanted = self._scopes(scopes)
        with self._lock:
            flow = auth_code.start(
                self._msal_app(), wanted, redirect_uri=redirect_uri or self._config.redirect_uri,
                state=state or self._config.state, prompt=prompt or self._config.prompt,
                login_hint=login_hint or self._config.login_hint, response_mode=response_mode)
            self._authorizations[flow["state"]] = (flow, wanted)
            while len(self._authorizations) > MAX_PENDING_AUTHORIZATIONS:
                self._authorizations.popitem(last=False)
            return flow["auth_uri"]

    def complete_authorization(self, response: str | Mapping[str, Any]) -> Token:
        """Step 2: the redirect (full URL, query string, form_post body or dict of its parameters) -> Token."""
        from ._exceptions import CallbackError
        from .flows import auth_code

        params = auth_code.parse_response(response)
        with self._lock:
            started = self._authorizations.pop(params.get("state", ""), None)
            if started is None:
                auth_code.raise_for_callback_error(params)
                raise CallbackError("the redirect's state matches no sign-in started by get_authorization_url()")
            flow, scopes = started
            return self._remember(auth_code.complete(self._msal_app(), flow, params), scopes)

    # --- HTTP -------------------------------------------------------------------------------------------------

    def http_session(self) -> requests.Session:
        """The provider's requests session: system CAs plus ``caFile``, environment CA bundles ignored.

        Refused connections are retried; HTTP errors are the caller's (Graph clients have their own policy).
        """
        return self._http.session()

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting the system CAs plus ``caFile`` (for httpx, imaplib, smtplib ...)."""
        return self._http.ssl_context()

    def close(self) -> None:
        """Stop a pending sign-in's redirect receiver and close the HTTP sessions."""
        with self._lock:
            if self._pending is not None:
                self._pending.close()
                self._pending = None
            self._http.close()

    def __enter__(self) -> OAuth2Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- what other modules build on a provider (imported on use) ---------------------------------------------

    def imap(self, **kwargs: Any) -> imaplib.IMAP4:
        """``mail.imap(self, **kwargs)``: an IMAP connection logged in with this provider's token."""
        from . import mail

        return mail.imap(self, **kwargs)

    def smtp(self, **kwargs: Any) -> smtplib.SMTP:
        """``mail.smtp(self, **kwargs)``: an SMTP connection logged in with this provider's token."""
        from . import mail

        return mail.smtp(self, **kwargs)

    def pop3(self, **kwargs: Any) -> poplib.POP3:
        """``mail.pop3(self, **kwargs)``: a POP3 connection logged in with this provider's token."""
        from . import mail

        return mail.pop3(self, **kwargs)

    def check_connection(self, protocol: str, **kwargs: Any) -> dict[str, Any]:
        """``mail.check_connection(protocol, self, **kwargs)``: a 4D status object."""
        from . import mail

        return mail.check_connection(protocol, self, **kwargs)

    def credential(self) -> ProviderCredential:
        """An azure-core TokenCredential backed by this provider."""
        from ._credential import ProviderCredential

        return ProviderCredential(self)

    def async_credential(self) -> AsyncProviderCredential:
        """An azure-core AsyncTokenCredential backed by this provider."""
        from ._credential import AsyncProviderCredential

        return AsyncProviderCredential(self)

    def graph_client(self, scopes: Scopes = None) -> GraphServiceClient:
        """A msgraph-sdk GraphServiceClient for this provider's cloud."""
        from ._graph import graph_client

        return graph_client(self, scopes)

    def __repr__(self) -> str:
        c = self._config
        return (f"OAuth2Provider(permission={c.permission!r}, client_id={c.client_id!r}, "
                f"authority={c.authority!r}, username={self.username!r})")

    # --- internals --------------------------------------------------------------------------------------------

    def _scopes(self, scopes: Scopes) -> tuple[str, ...]:
        if scopes is None:
            return self._config.scope
        wanted, _ = normalize_scopes(scopes, self._config.graph_resource, key="scopes")
        if not wanted:
            raise ConfigError("scopes is empty (openid, profile and offline_access are added by MSAL)",
                              key="scopes", code=9)
        return wanted

    @staticmethod
    def _key(scopes: Sequence[str]) -> tuple[str, ...]:
        return tuple(sorted(s.lower() for s in scopes))

    def token_store(self) -> TokenStore:
        """The token store (memory, file, ...) the ``cache`` parameter chose; opened on first use."""
        if self._store is None:
            from .cache import open_store

            settings = self._config.cache
            if settings is None:  # parse_config always sets it; a Config built by hand may not
                raise ConfigError("cache is not set: build the Config with parse_config()", key="cache")
            self._store = open_store(settings, name=CACHE_NAME)
            log.debug("token cache: %s", self._store.description)
        return self._store

    def _msal_app(self) -> msal.ClientApplication:
        """MSAL's application, built on first need (its construction may fetch the discovery document)."""
        if self._app is None:
            from ._msal_app import build_app

            self._app = build_app(self._config, self.token_store(), self._http.identity_session())
        return self._app

    def _acquire_silently(self, scopes: tuple[str, ...], current: Optional[Token],
                          force_refresh: bool, claims: Optional[str] = None) -> Optional[Token]:
        """From MSAL's cache or by a refresh, under the cross-process refresh lock; None if a flow must run."""
        app = self._msal_app()
        store = self.token_store()
        if self._config.permission == "service":
            from .flows import client_credentials

            with store.refresh_lock():
                result = client_credentials.acquire(app, scopes, force_refresh=force_refresh, claims=claims)
            log.debug("app token (%s)", result.get("token_source", "identity provider"))
            return Token.from_msal_result(result, scopes=scopes, previous=current,
                                          keep_refresh_token=False)
        from .flows import silent

        account = self._find_account(app, current)
        if account is not None:
            with store.refresh_lock():
                cached = silent.acquire(app, scopes, account, force_refresh=force_refresh, claims=claims)
                if cached is not None:
                    log.debug("silent token for an account (%s)", cached.get("token_source", "identity provider"))
                    self._account = account
                    return self._token_from(cached, scopes, account, current)
        if current is not None and current.refresh_token and not claims:
            with store.refresh_lock():
                refreshed = silent.by_refresh_token(app, current.refresh_token, scopes)
            if refreshed is not None:
                log.debug("saved token refreshed")
                return self._remember(refreshed, scopes, current)
        log.debug("no silent token: %s", "no cached account" if account is None else "sign-in needed")
        return None

    def _find_account(self, app: msal.ClientApplication, current: Optional[Token]) -> Optional[dict[str, Any]]:
        """The cached account to use: the signed-in one, else ``loginHint``'s, else the only one."""
        if self._account is not None:
            return self._account
        hint = self._config.login_hint or (current.username if current else None)
        accounts = app.get_accounts(username=hint) if hint else app.get_accounts()
        if len(accounts) == 1 or (hint and accounts):
            return accounts[0]
        if accounts:
            log.debug("%d cached accounts and no loginHint: a sign-in picks one", len(accounts))
        return None

    def _run_flow(self, scopes: tuple[str, ...], claims: Optional[str] = None) -> Token:
        from .flows import interactive

        pending, self._pending = self._pending, None
        result = interactive.run(self._msal_app(), self._config, scopes, claims=claims, pending=pending,
                                 on_device_code=self._on_device_code)
        return self._remember(result, scopes)

    def _remember(self, result: Mapping[str, Any], scopes: Sequence[str],
                  previous: Optional[Token] = None) -> Token:
        """A Token from a fresh server response; the account it signed in becomes the provider's."""
        self.token_store().save_http_cache()
        claims = result.get("id_token_claims") or {}
        name = claims.get("preferred_username") or claims.get("upn")
        accounts = self._msal_app().get_accounts(username=name) if name else []
        home = f"{claims.get('oid')}.{claims.get('tid')}"
        self._account = next((a for a in accounts if a.get("home_account_id") == home),
                             accounts[0] if accounts else self._account)
        token = Token.from_msal_result(result, scopes=scopes, account=self._account, previous=previous,
                                       keep_refresh_token=self._config.offline)
        self._tokens[self._key(scopes)] = token
        return token

    def _token_from(self, result: Mapping[str, Any], scopes: Sequence[str], account: Mapping[str, Any],
                    previous: Optional[Token]) -> Token:
        """A Token from a silent result; a cache hit lacks the id token (and refresh token): read them."""
        id_token = refresh_token = None
        if "id_token" not in result or (self._config.offline and "refresh_token" not in result):
            id_token, refresh_token = self._cached_secrets(account)
        return Token.from_msal_result(result, scopes=scopes, account=account, previous=previous,
                                      id_token=id_token, refresh_token=refresh_token,
                                      keep_refresh_token=self._config.offline)

    def _cached_secrets(self, account: Mapping[str, Any]) -> tuple[Optional[str], Optional[str]]:
        cache = self.token_store().token_cache
        query = {"home_account_id": account.get("home_account_id"), "client_id": self._config.client_id}
        kinds = cache.CredentialType

        def first_secret(kind: str) -> Optional[str]:
            entry: Mapping[str, Any] = next(iter(cache.search(kind, query=query)), {})
            return entry.get("secret")

        id_token = first_secret(kinds.ID_TOKEN)
        refresh = first_secret(kinds.REFRESH_TOKEN) if self._config.offline else None
        return id_token, refresh
