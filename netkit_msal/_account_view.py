"""What is built on a token source (mail connections, credentials, Graph clients), and a provider's per-account view.

``ProviderClients`` holds the methods a provider and its views share, written against ``self`` only, so that a
view made by ``provider.for_account(username)`` works everywhere a provider does. ``AccountView`` is that view:
two attributes, no I/O, so a web app makes one per request; the app, the token cache and the HTTP session stay
the provider's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

from ._types import ProviderConfig, Scopes

if TYPE_CHECKING:
    import imaplib
    import poplib
    import smtplib
    import ssl

    import requests
    from msgraph import GraphServiceClient

    from ._credential import AsyncProviderCredential, ProviderCredential
    from ._token import Token
    from .cache import TokenStore


class ProviderClients:
    """Mail connections, azure-core credentials and a Graph client, all drawing tokens from ``self.get_token``."""

    def imap(self, **kwargs: Any) -> imaplib.IMAP4:
        """``mail.imap(self, **kwargs)``: an IMAP connection logged in with this account's token."""
        from . import mail

        return mail.imap(self, **kwargs)  # type: ignore[arg-type]

    def smtp(self, **kwargs: Any) -> smtplib.SMTP:
        """``mail.smtp(self, **kwargs)``: an SMTP connection logged in with this account's token."""
        from . import mail

        return mail.smtp(self, **kwargs)  # type: ignore[arg-type]

    def pop3(self, **kwargs: Any) -> poplib.POP3:
        """``mail.pop3(self, **kwargs)``: a POP3 connection logged in with this account's token."""
        from . import mail

        return mail.pop3(self, **kwargs)  # type: ignore[arg-type]

    def check_connection(self, protocol: str, **kwargs: Any) -> dict[str, Any]:
        """``mail.check_connection(protocol, self, **kwargs)``: a 4D status object."""
        from . import mail

        return mail.check_connection(protocol, self, **kwargs)  # type: ignore[arg-type]

    def credential(self) -> ProviderCredential:
        """An azure-core TokenCredential drawing this account's tokens."""
        from ._credential import ProviderCredential

        return ProviderCredential(self)  # type: ignore[arg-type]

    def async_credential(self) -> AsyncProviderCredential:
        """An azure-core AsyncTokenCredential drawing this account's tokens."""
        from ._credential import AsyncProviderCredential

        return AsyncProviderCredential(self)  # type: ignore[arg-type]

    def graph_client(self, scopes: Scopes = None) -> GraphServiceClient:
        """A msgraph-sdk GraphServiceClient for this provider's cloud, as this account."""
        from ._graph import graph_client

        return graph_client(self, scopes)  # type: ignore[arg-type]


class AccountSource(Protocol):
    """What a view needs of its provider (``OAuth2Provider`` is one)."""

    @property
    def config(self) -> ProviderConfig: ...

    def get_token(self, scopes: Scopes = None, *, account: Optional[str] = None, force_refresh: bool = False,
                  interactive: bool = True, claims: Optional[str] = None) -> Token: ...

    def account_token(self, account: str, scopes: Scopes = None) -> Optional[Token]: ...

    def account_username(self, account: str) -> Optional[str]: ...

    def http_session(self) -> requests.Session: ...

    def ssl_context(self) -> ssl.SSLContext: ...

    def token_store(self) -> TokenStore: ...


class AccountView(ProviderClients):
    """A provider bound to one signed-in account: ``get_token`` never returns another account's token.

    A view never starts a sign-in: without a token for its account (in memory, the cache, or by a silent
    refresh) ``get_token`` raises InteractionRequiredError and the application signs the user in again.
    """

    __slots__ = ("_provider", "_account")

    def __init__(self, provider: AccountSource, account: str) -> None:
        self._provider = provider
        self._account = account

    @property
    def provider(self) -> AccountSource:
        return self._provider

    @property
    def account(self) -> str:
        """The username or home account id this view was made for."""
        return self._account

    @property
    def config(self) -> ProviderConfig:
        return self._provider.config

    @property
    def username(self) -> Optional[str]:
        """The account's username (looked up in the cache when the view was made for a home account id)."""
        return self._account if "@" in self._account else self._provider.account_username(self._account)

    @property
    def token(self) -> Optional[Token]:
        """The account's token for the configured scope held in memory, or None (no call is made)."""
        return self._provider.account_token(self._account)

    def get_token(self, scopes: Scopes = None, *, force_refresh: bool = False, interactive: bool = True,
                  claims: Optional[str] = None, **kwargs: Any) -> Token:
        """The account's token for ``scopes``; InteractionRequiredError when it must sign in again.

        Extra keyword arguments go to the provider's ``get_token`` (``account`` cannot be changed).
        """
        return self._provider.get_token(scopes, account=self._account, force_refresh=force_refresh,
                                        interactive=interactive, claims=claims, **kwargs)

    def http_session(self) -> requests.Session:
        return self._provider.http_session()

    def ssl_context(self) -> ssl.SSLContext:
        return self._provider.ssl_context()

    def token_store(self) -> TokenStore:
        return self._provider.token_store()

    def __repr__(self) -> str:
        return f"AccountView(account={self._account!r})"
