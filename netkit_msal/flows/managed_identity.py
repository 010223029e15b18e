"""App-only tokens from an Azure managed identity, through MSAL's ``ManagedIdentityClient``.

MSAL finds the host's identity endpoint from the environment (App Service and Functions' ``IDENTITY_ENDPOINT`` +
``IDENTITY_HEADER``, Arc, Service Fabric, Machine Learning, else the VM's IMDS) and keeps the tokens in the
provider's token cache, as for any app. :class:`ManagedIdentityApp` gives that client the three calls the provider
makes of a confidential client, so a managed identity goes through the ``client_credentials`` flow module unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from .._claims import CLIENT_CAPABILITIES
from .._exceptions import ConfigError

if TYPE_CHECKING:
    import msal
    import requests

    from .._managed_identity import ManagedIdentity


def resource_of(scopes: Sequence[str]) -> str:
    """A managed identity asks for a *resource*: ``https://graph.microsoft.com/.default`` -> its resource URI."""
    resources = {s[:-len("/.default")] if s.endswith("/.default") else s for s in scopes}
    if len(resources) != 1:
        raise ConfigError(f"a managed identity token is for one resource, not {sorted(resources)}", key="scope")
    return resources.pop()


class ManagedIdentityApp:
    """MSAL's ``ManagedIdentityClient`` seen as the provider's service app (tokens for ``<resource>/.default``)."""

    def __init__(self, identity: ManagedIdentity, token_cache: msal.TokenCache, http_client: requests.Session,
                 http_cache: Any = None) -> None:
        import msal

        self.identity = identity
        self.token_cache = token_cache
        self.client = msal.ManagedIdentityClient(identity.msal(), http_client=http_client, token_cache=token_cache,
                                                 http_cache=http_cache, client_capabilities=CLIENT_CAPABILITIES)

    def acquire_token_for_client(self, scopes: Sequence[str], claims_challenge: Optional[str] = None) -> dict:
        """A cached token, else one from the identity endpoint; a claims challenge skips the cached one."""
        return self.client.acquire_token_for_client(resource=resource_of(scopes), claims_challenge=claims_challenge)

    def remove_tokens_for_client(self) -> None:
        """Forget this identity's cached tokens (``force_refresh``, ``sign_out``)."""
        kind = self.token_cache.CredentialType.ACCESS_TOKEN
        # MSAL files the system-assigned identity's tokens under client_id None, a user-assigned one's under its id
        query = {"client_id": self.identity.value, "realm": "managed_identity", "home_account_id": None}
        for entry in list(self.token_cache.search(kind, query=query)):
            self.token_cache.remove_at(entry)

    def get_accounts(self, username: Optional[str] = None) -> list[dict[str, Any]]:
        """A managed identity has no user accounts."""
        return []

    def __repr__(self) -> str:
        return f"ManagedIdentityApp({self.identity.label!r})"
