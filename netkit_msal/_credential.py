"""azure-core credentials backed by a provider: its MSAL app, cache and flows behind ``get_token``.

Any Azure SDK client (msgraph-sdk, Key Vault, Storage ...) takes them where it would take an azure-identity
credential, so one sign-in and one token cache serve 4D-style code and the Azure SDKs alike. The provider stays
the owner of tokens: these objects only translate azure-core's calling convention to ``provider.get_token``.

azure-core's credential protocols are structural, so no azure-core class is subclassed here; only its small
``AccessToken`` / ``AccessTokenInfo`` tuples are imported (this module is imported on first use only).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo

from ._exceptions import AuthenticationError
from ._types import TokenSource

if TYPE_CHECKING:
    from azure.core.credentials import TokenRequestOptions

    from ._token import Token

#: Tenants that do not name one directory: a tenant challenge cannot contradict them.
_MULTI_TENANT = frozenset({"common", "organizations", "consumers"})


def resource_scopes(provider: TokenSource, scopes: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes to ask the provider for.

    azure-core passes full scopes (``https://graph.microsoft.com/.default``); they go through unchanged, and
    short names (``User.Read``, ``.default``) get the provider's Graph prefix. A scope on the Graph *endpoint's*
    host (what msgraph-sdk derives, port stripped, when it is given no scopes: ``https://127.0.0.1/.default`` for
    the emulator) is rewritten to the Graph *resource*, the token audience Graph checks. No scopes at all means
    the provider's configured scope.
    """
    config = provider.config
    endpoint_host = urlsplit(config.graph_endpoint).hostname
    mapped = []
    for scope in scopes:
        parts = urlsplit(scope)
        if parts.scheme in ("http", "https") and parts.hostname == endpoint_host:
            scope = config.graph_resource + parts.path
        mapped.append(scope)
    return tuple(mapped)


def _token(provider: TokenSource, scopes: tuple[str, ...], claims: Optional[str],
           tenant_id: Optional[str]) -> Token:
    """The provider's token for an azure-core request.

    A claims challenge (continuous access evaluation, conditional access step-up: azure-core's and kiota's
    challenge handling pass it here) goes to MSAL with the token request, so the new token carries what the
    resource asked for. A tenant other than the provider's is an AuthenticationError: a provider signs in to one
    directory.
    """
    configured = provider.config.tenant
    if tenant_id and configured.lower() not in _MULTI_TENANT and tenant_id.lower() != configured.lower():
        raise AuthenticationError(f"a token for tenant {tenant_id!r} was asked of a provider for tenant "
                                  f"{configured!r}: build a provider for that tenant")
    wanted = resource_scopes(provider, scopes) if scopes else None
    return provider.get_token(wanted, claims=claims or None)


class _AccessToken(AccessToken):
    """azure-core's ``AccessToken`` (a tuple) whose repr hides the token: it shows up in logs and tracebacks."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"AccessToken(token='********', expires_on={self.expires_on})"


class _AccessTokenInfo(AccessTokenInfo):
    """azure-core's ``AccessTokenInfo`` whose repr hides the token."""

    def __repr__(self) -> str:
        return (f"AccessTokenInfo(token='********', expires_on={self.expires_on}, token_type='{self.token_type}', "
                f"refresh_on={self.refresh_on})")


def _access_token(token: Token) -> AccessToken:
    return _AccessToken(token.access_token, int(token.expires_on.timestamp()))


def _access_token_info(token: Token) -> AccessTokenInfo:
    return _AccessTokenInfo(token.access_token, int(token.expires_on.timestamp()), token_type=token.token_type)


class ProviderCredential:
    """An azure-core ``TokenCredential`` (and ``SupportsTokenInfo``) drawing tokens from a provider.

    A delegated provider may start its sign-in flow from ``get_token`` when nothing is cached, as azure-identity's
    interactive credentials do. ``close()`` leaves the provider open: whoever built it closes it.
    """

    def __init__(self, provider: TokenSource) -> None:
        self.provider = provider

    def get_token(self, *scopes: str, claims: Optional[str] = None, tenant_id: Optional[str] = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        """A token for ``scopes``; tokens are always CAE-capable (client capability CP1), so ``enable_cae`` needs
        nothing more, and ``claims`` from a challenge reach MSAL."""
        return _access_token(_token(self.provider, scopes, claims, tenant_id))

    def get_token_info(self, *scopes: str, options: Optional[TokenRequestOptions] = None) -> AccessTokenInfo:
        options = options or {}
        return _access_token_info(_token(self.provider, scopes, options.get("claims"), options.get("tenant_id")))

    def close(self) -> None:
        """Nothing to release: the provider is not this credential's to close."""

    def __enter__(self) -> ProviderCredential:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProviderCredential({self.provider!r})"


class AsyncProviderCredential:
    """An azure-core ``AsyncTokenCredential`` (and ``AsyncSupportsTokenInfo``) drawing tokens from a provider.

    The provider is synchronous (MSAL, a file lock, perhaps a sign-in): each call runs it in a worker thread so
    the event loop keeps serving other requests meanwhile.
    """

    def __init__(self, provider: TokenSource) -> None:
        self.provider = provider

    async def get_token(self, *scopes: str, claims: Optional[str] = None, tenant_id: Optional[str] = None,
                        enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        return _access_token(await asyncio.to_thread(_token, self.provider, scopes, claims, tenant_id))

    async def get_token_info(self, *scopes: str,
                             options: Optional[TokenRequestOptions] = None) -> AccessTokenInfo:
        options = options or {}
        token = await asyncio.to_thread(_token, self.provider, scopes, options.get("claims"),
                                        options.get("tenant_id"))
        return _access_token_info(token)

    async def close(self) -> None:
        """Nothing to release: the provider is not this credential's to close."""

    async def __aenter__(self) -> AsyncProviderCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncProviderCredential({self.provider!r})"
