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
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional, TypeVar

from ._account_view import AccountView, ProviderClients
from ._accounts import AccountTokens, assertion_key, find_account, home_id
from ._config import Config, parse_config
from ._exceptions import ConfigError, InteractionRequiredError, NetKitError
from ._scopes import normalize_scopes
from ._sessions import ProviderHTTP
from ._token import Token
from ._types import Scopes

if TYPE_CHECKING:
    import ssl

    import msal
    import requests

    from .cache import TokenStore
    from .flows.browser import PendingSignIn
    from .flows.device_code import DeviceCodeCallback

log = logging.getLogger("netkit_msal")
T = TypeVar("T")


#: Name of the token cache file in the per-user cache folder; all apps share it (MSAL keys entries by app).
CACHE_NAME = "msal_token_cache"
#: Web-app sign-ins in progress kept per provider (the oldest is forgotten beyond this).
MAX_PENDING_AUTHORIZATIONS = 100
#: Tokens of other accounts (``account=``, views, on-behalf-of) kept in memory (the oldest is forgotten beyond this).
MAX_ACCOUNT_TOKENS = 10_000


class OAuth2Provider(ProviderClients):
    """Tokens for one app registration, as 4D NetKit's ``New OAuth2 provider``.

    ``params`` is 4D's parameter object (keyword arguments are merged into it and win). ``on_device_code`` is
    called with ``{user_code, verification_uri, message, expires_in}`` when the device code flow starts
    (default: the message is printed on stderr). Every parameter is checked here: a mistake raises ConfigError.
    """

    def __init__(self, params: Optional[Mapping[str, Any]] = None, *,
                 on_device_code: Optional[DeviceCodeCallback] = None, **kwargs: Any) -> None:
        self._config: Config = parse_config(params, **kwargs)
        self._on_device_code = on_device_code
        self._lock = threading.RLock()  # held briefly, never across a network call or a sign-in
        self._flow_lock = threading.Lock()  # one interactive sign-in of the provider's own account at a time
        self._app: Optional[msal.ClientApplication] = None
        self._store: Optional[TokenStore] = None
        self._http = ProviderHTTP(self._config.ca_file, self._config.timeout)
        self._tokens: dict[tuple[str, ...], Token] = {}
        self._account: Optional[dict[str, Any]] = None
        self._others = AccountTokens(MAX_ACCOUNT_TOKENS)
        self._pending: Optional[PendingSignIn] = None
        self._authorizations: OrderedDict[str, tuple[dict[str, Any], tuple[str, ...], Optional[str]]] = \
            OrderedDict()
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
        Otherwise it is the authority's authorization endpoint. While :meth:`get_token` waits for a sign-in, this
        is that sign-in's URL, answered at once.
        """
        from .flows.interactive import flow_kind

        if flow_kind(self._config) != "browser":
            return self._config.authenticate_uri
        pending = self._pending
        if pending is not None:
            return pending.auth_uri
        app = self._msal_app()
        with self._lock:
            if self._pending is None:
                from .flows import browser

                self._pending = browser.start(app, self._config, self._config.scope)
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
        """The provider's own account's token for the configured scope, or None (no call is made).

        Tokens got for other accounts (``account=``, :meth:`for_account`, web app sign-ins) are not this one.
        """
        return self._tokens.get(self._key(self._config.scope))

    @property
    def username(self) -> Optional[str]:
        """The provider's own signed-in account's username, or None (service, or nobody signed in yet)."""
        if self._account:
            return self._account.get("username")
        token = self.token
        return token.username if token else None

    def get_token(self, scopes: Scopes = None, *, account: Optional[str] = None, force_refresh: bool = False,
                  interactive: bool = True, claims: Optional[str] = None) -> Token:
        """A valid token for ``scopes`` (default: the configured ``scope``), as 4D's ``getToken()``.

        Memory first (no call), then MSAL's cache or a refresh, then the flow. Other scopes (mail's,
        another API's) are got silently for the signed-in account when possible. ``interactive=False`` raises
        InteractionRequiredError instead of starting a browser or device code sign-in. ``claims`` is a claims
        challenge from a resource (Continuous Access Evaluation, conditional access): a new token is got with it.

        ``account`` (a username or home account id) asks for that account's token: from memory, the cache or a
        silent refresh, else InteractionRequiredError; never another account's, and no sign-in is started.
        Without it the token is the provider's own account's: the one it signed in, else ``loginHint``'s, else
        the only cached one; with several cached accounts and neither, NetKitError asks for ``account=``.
        """
        wanted = self._scopes(scopes)
        if account is not None:
            return self._account_token(account, wanted, force_refresh, claims)
        key = self._key(wanted)
        current = self._tokens.get(key)
        if current is not None and current.valid and not force_refresh and not claims:
            return current
        token = self._acquire_silently(wanted, current, force_refresh, claims)
        if token is None:
            if not interactive:
                raise InteractionRequiredError("a sign-in is needed and interactive=False was asked",
                                               error="interaction_required", claims=claims)
            with self._flow_lock:  # a sign-in another thread just finished serves this caller too
                current = self._tokens.get(key)
                if current is not None and current.valid and not claims:
                    return current
                token = self._run_flow(wanted, claims)
        self._tokens[key] = token
        return token

    def for_account(self, account: str) -> AccountView:
        """A view of this provider bound to one signed-in account (username or home account id).

        It works wherever a provider does (Office365, graph_client(), credential(), imap() ...) and shares this
        provider's MSAL app, token cache and HTTP session; making one costs nothing (make one per request).
        """
        if not isinstance(account, str) or not account.strip():
            raise ConfigError("account must be a username or a home account id", key="account")
        if self._config.permission == "service":
            raise ConfigError("for_account() is for signed-in users: a service provider has no accounts",
                              key="account")
        return AccountView(self, account.strip())

    def account_token(self, account: str, scopes: Scopes = None) -> Optional[Token]:
        """``account``'s token for ``scopes`` held in memory, or None (no call, no cache read)."""
        found = self._others.account(account)
        return self._others.get(home_id(found), self._key(self._scopes(scopes))) if found else None

    def account_username(self, account: str) -> Optional[str]:
        """The username of a cached account named by username or home account id, or None."""
        found = self._resolve_account(account)
        return found.get("username") if found else None

    def get_token_on_behalf_of(self, user_assertion: str, scopes: Scopes = None, *,
                               claims: Optional[str] = None) -> Token:
        """A web API's token for a downstream API, on behalf of the user whose token called it (OAuth 2.0 OBO).

        ``user_assertion`` is the access token the API received (its audience is this app). Tokens are kept per
        assertion: the same incoming token gets the same downstream token until it expires, with no request.
        """
        if not self._config.confidential:
            raise ConfigError("the on-behalf-of flow needs a confidential client: give clientSecret or a "
                              "certificate", key="clientSecret")
        if not isinstance(user_assertion, str) or user_assertion.count(".") != 2:
            raise ConfigError("user_assertion must be the access token (a JWT) the web API was called with",
                              key="user_assertion")
        wanted = self._scopes(scopes)
        owner, key = assertion_key(user_assertion), self._key(wanted)
        current = self._others.get(owner, key)
        if current is not None and current.valid and not claims:
            return current
        from .flows import on_behalf_of

        result = on_behalf_of.acquire(self._msal_app(), user_assertion, wanted, claims=claims)
        self.token_store().save_http_cache()
        token = Token.from_msal_result(result, scopes=wanted, keep_refresh_token=False)
        self._others.put(owner, key, token)
        return token

    def is_token_valid(self) -> bool:
        """4D's ``isTokenValid()``: False with no token; True if valid, or after a successful silent refresh."""
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

        app = self._msal_app()
        with self._lock, msal_errors("sign out"):
            if self._config.permission == "service":
                self._tokens.clear()
                app.remove_tokens_for_client()
                return []
            target = username or self.username or self._config.login_hint
            if target:
                found = find_account(app.get_accounts(), target)
                removed = [found] if found else []
            else:
                removed = app.get_accounts()
            for account in removed:
                app.remove_account(account)
            gone = {home_id(a) for a in removed}
            self._others.forget(gone)
            own = self.username
            if not target or own is None or own.lower() == target.lower() \
                    or self._account is not None and home_id(self._account) in gone:
                self._tokens.clear()
                self._account = None
            log.debug("signed out %d account(s)", len(removed))
            return [str(a.get("username") or "") for a in removed]

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
        hint = login_hint or self._config.login_hint
        app = self._msal_app()
        flow = auth_code.start(
            app, wanted, redirect_uri=redirect_uri or self._config.redirect_uri,
            state=state or self._config.state, prompt=prompt or self._config.prompt,
            login_hint=hint, response_mode=response_mode)
        with self._lock:
            self._authorizations[flow["state"]] = (flow, wanted, hint)
            while len(self._authorizations) > MAX_PENDING_AUTHORIZATIONS:
                self._authorizations.popitem(last=False)
            return flow["auth_uri"]

    def complete_authorization(self, response: str | Mapping[str, Any]) -> Token:
        """Step 2: the redirect (full URL, query string, form_post body or dict of its parameters) -> Token.

        The token is the account's who signed in (its ``username`` names it; use ``for_account`` with it
        afterwards); it does not become the provider's own account, so one user's sign-in never changes what
        another's request gets.
        """
        from ._exceptions import CallbackError
        from .flows import auth_code, check_account

        params = auth_code.parse_response(response)
        with self._lock:
            started = self._authorizations.pop(params.get("state", ""), None)
        if started is None:
            auth_code.raise_for_callback_error(params)
            raise CallbackError("the redirect's state matches no sign-in started by get_authorization_url()")
        flow, scopes, hint = started
        result = auth_code.complete(self._msal_app(), flow, params)
        check_account(result, hint, "authorization code")
        return self._remember(result, scopes, own=False)

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
            pending, self._pending = self._pending, None
        if pending is not None:
            pending.close()
        self._http.close()

    def __enter__(self) -> OAuth2Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
        if self._store is not None:
            return self._store
        with self._lock:  # many first requests at once build one store
            if self._store is None:
                from .cache import open_store

                settings = self._config.cache
                if settings is None:  # parse_config always sets it; a Config built by hand may not
                    raise ConfigError("cache is not set: build the Config with parse_config()", key="cache")
                self._store = open_store(settings, name=CACHE_NAME, client_id=self._config.client_id)
                log.debug("token cache: %s", self._store.description)
            return self._store

    def _msal_app(self) -> msal.ClientApplication:
        """MSAL's application, built on first need (its construction may fetch the discovery document)."""
        if self._app is not None:
            return self._app
        with self._lock:  # once only, even when many requests come first at once
            if self._app is None:
                from ._msal_app import build_app

                self._app = build_app(self._config, self.token_store(), self._http.identity_session())
            return self._app

    def _acquire_silently(self, scopes: tuple[str, ...], current: Optional[Token],
                          force_refresh: bool, claims: Optional[str] = None) -> Optional[Token]:
        """From MSAL's cache or by a refresh (under the cross-process refresh lock); None if a flow must run."""
        look_first = not force_refresh and not claims
        if look_first and self._app is None and current is None:
            persisted = self._from_persisted_file(scopes)
            if persisted is not None:
                return persisted
        app = self._msal_app()
        if self._config.permission == "service":
            from .flows import client_credentials

            result = self._refreshing(lambda: client_credentials.acquire(app, scopes, force_refresh=force_refresh,
                                                                         claims=claims), look_first)
            log.debug("app token (%s)", result.get("token_source", "identity provider"))
            return Token.from_msal_result(result, scopes=scopes, previous=current,
                                          keep_refresh_token=False)
        from .flows import silent

        account = self._find_account(app, current)
        if account is not None:
            cached = self._refreshing(lambda: silent.acquire(app, scopes, account, force_refresh=force_refresh,
                                                             claims=claims), look_first)
            if cached is not None:
                log.debug("silent token for an account (%s)", cached.get("token_source", "identity provider"))
                self._account = account
                return self._token_from(cached, scopes, account, current)
        refresh_token = current.refresh_token if current is not None else None
        if refresh_token and not claims:
            refreshed = self._refreshing(lambda: silent.by_refresh_token(app, refresh_token, scopes), False)
            if refreshed is not None:
                log.debug("saved token refreshed")
                return self._remember(refreshed, scopes, previous=current)
        log.debug("no silent token: %s", "no cached account" if account is None else "sign-in needed")
        return None

    def _from_persisted_file(self, scopes: tuple[str, ...]) -> Optional[Token]:
        """A new process's first token read from the plaintext cache file without loading MSAL, when that is
        plainly the token MSAL would return (``cache._fast``); None: take MSAL's path."""
        c = self._config
        if c.permission != "signedIn" or c.managed_identity is not None:
            return None
        from .cache._fast import cached_token

        found = cached_token(c.cache, name=CACHE_NAME, client_id=c.client_id, authority=c.authority, scopes=scopes,
                             login_hint=c.login_hint, offline=c.offline, account=self._account)
        if found is None:
            return None
        log.debug("silent token for an account (persisted cache file, read directly)")
        token, self._account = found
        return token

    def _refreshing(self, call: Callable[[], T], look_first: bool) -> T:
        """``call()`` from the cache alone when it can (no lock: a cache hit never waits behind another process's
        refresh), else under the refresh lock, where MSAL re-reads the cache the last holder may have refreshed."""
        from ._msal_http import RefreshNeeded, cache_only

        if look_first:
            try:
                with cache_only():
                    return call()
            except RefreshNeeded:
                pass
        with self.token_store().refresh_lock():
            return call()

    def _find_account(self, app: msal.ClientApplication, current: Optional[Token]) -> Optional[dict[str, Any]]:
        """The provider's own cached account: the signed-in one, else ``loginHint``'s, else the only one.

        Several cached accounts and nothing to choose by: NetKitError (picking one could hand a caller
        another user's token).
        """
        if self._account is not None:
            return self._account
        hint = self._config.login_hint or (current.username if current else None)
        if hint:
            return find_account(app.get_accounts(), hint)
        accounts = app.get_accounts()
        if len({home_id(a) for a in accounts}) > 1:
            raise NetKitError(
                f"{len(accounts)} accounts are signed in and get_token() was not told whose token to get: pass "
                "account= (a username or home account id; or use provider.for_account(username)), or set "
                "loginHint (the CLI: --username)")
        return accounts[0] if accounts else None

    def _account_token(self, account: str, scopes: tuple[str, ...], force_refresh: bool,
                       claims: Optional[str]) -> Token:
        """``get_token(account=...)``: that account's token from memory, the cache or a refresh; never a flow."""
        from .flows import silent

        if self._config.permission == "service":
            raise ConfigError("account= names a signed-in user: a service provider has no accounts", key="account")
        found = self._resolve_account(account)
        if found is None:
            raise InteractionRequiredError(f"{account} has not signed in with this app (no cached account): "
                                           "sign them in first", error="interaction_required")
        owner, key = home_id(found), self._key(scopes)
        current = self._others.get(owner, key)
        if current is not None and current.valid and not force_refresh and not claims:
            return current
        app = self._msal_app()
        with self.token_store().refresh_lock():
            result = silent.acquire(app, scopes, found, force_refresh=force_refresh, claims=claims)
        if result is None:
            raise InteractionRequiredError(f"{found.get('username') or account} must sign in again (no token can "
                                           "be had silently)", error="interaction_required")
        token = self._token_from(result, scopes, found, current)
        self._others.put(owner, key, token)
        return token

    def _resolve_account(self, account: str) -> Optional[dict[str, Any]]:
        """The cached account named by username or home account id (remembered after the first lookup)."""
        found = self._others.account(account)
        if found is None:
            found = find_account(self._msal_app().get_accounts(), account)
            if found is not None:
                self._others.remember_account(found)
        return found

    def _run_flow(self, scopes: tuple[str, ...], claims: Optional[str] = None) -> Token:
        """Sign the provider's own account in. ``authenticate_uri`` answers with this sign-in's URL meanwhile."""
        from .flows import check_account, interactive

        app = self._msal_app()
        with self._lock:
            pending = self._pending = interactive.prepare(app, self._config, scopes, claims, self._pending)
        try:
            result = interactive.run(app, self._config, scopes, claims=claims, pending=pending,
                                     on_device_code=self._on_device_code)
        finally:
            with self._lock:
                if self._pending is pending:
                    self._pending = None
        check_account(result, self._config.login_hint, "sign-in")
        return self._remember(result, scopes)

    def _remember(self, result: Mapping[str, Any], scopes: Sequence[str], *, own: bool = True,
                  previous: Optional[Token] = None) -> Token:
        """A Token from a fresh server response, filed under the account it signed in.

        ``own``: that account becomes the provider's own (its flows); else it is one of many (web app sign-ins).
        """
        self.token_store().save_http_cache()
        claims = result.get("id_token_claims") or {}
        name = claims.get("preferred_username") or claims.get("upn")
        accounts = self._msal_app().get_accounts(username=name) if name else []
        home = f"{claims.get('oid')}.{claims.get('tid')}"
        account = next((a for a in accounts if a.get("home_account_id") == home),
                       accounts[0] if accounts else (self._account if own else None))
        token = Token.from_msal_result(result, scopes=scopes, account=account, previous=previous,
                                       keep_refresh_token=self._config.offline)
        if own:
            self._account = account
            self._tokens[self._key(scopes)] = token
        elif account is not None:
            self._others.remember_account(account)
            self._others.put(home_id(account), self._key(scopes), token)
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
