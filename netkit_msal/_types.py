"""What the credential, Graph, mail and Office365 code need of a provider, as structural types.

They take a :class:`TokenSource` rather than ``OAuth2Provider``, so none of them imports the provider (whose
methods build them): the dependency goes one way only. ``OAuth2Provider`` satisfies these protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional, Protocol, Union

from ._token import Token

if TYPE_CHECKING:
    import ssl

    import requests

#: Scopes as callers give them: one string (space-separated), a sequence, or None for the configured ones.
Scopes = Union[str, Sequence[str], None]


class ProviderConfig(Protocol):
    """The parameters of a provider that the clients built on it read."""

    @property
    def permission(self) -> str: ...  # "signedIn" or "service"
    @property
    def tenant(self) -> str: ...
    @property
    def scope(self) -> tuple[str, ...]: ...
    @property
    def graph_resource(self) -> str: ...  # https://graph.microsoft.com (token audience)
    @property
    def graph_endpoint(self) -> str: ...  # where Graph is called (the emulator's address in tests)
    @property
    def ca_file(self) -> Optional[str]: ...


class TokenSource(Protocol):
    """Gets tokens for scopes and knows its account: what a credential or a mail login needs."""

    @property
    def config(self) -> ProviderConfig: ...
    @property
    def username(self) -> Optional[str]: ...

    def get_token(self, scopes: Scopes = None, *, force_refresh: bool = False, interactive: bool = True,
                  claims: Optional[str] = None) -> Token: ...


class HTTPTokenSource(TokenSource, Protocol):
    """A token source that also lends its HTTP session and TLS settings (Graph and Office365 clients)."""

    def http_session(self) -> requests.Session: ...

    def ssl_context(self) -> ssl.SSLContext: ...
