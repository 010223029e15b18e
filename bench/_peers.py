"""The peers, each built the way its documentation shows, pointed at the emulator.

What pointing at the emulator takes (and nothing more): the authority or base URL, trust in the emulator's CA,
and MSAL's instance discovery off (else the constructor calls login.microsoftonline.com). Where the
environment sets ``REQUESTS_CA_BUNDLE``, requests ignores ``Session.verify``, so the sessions handed to
MSAL and O365 also have ``trust_env = False``.

- msal: ``PublicClientApplication(client_id, authority=..., http_client=session, instance_discovery=False)``.
- azure-identity: ``ClientSecretCredential(tenant, client_id, secret, authority=..., connection_verify=ca,
  disable_instance_discovery=True)`` (sync for ``get_token``; the ``.aio`` one for msgraph-sdk, as its
  README does for async code).
- msgraph-sdk: what ``GraphServiceClient(credentials, scopes)`` builds inside (``AzureIdentityAuthenticationProvider``
  + ``GraphClientFactory.create_with_default_middleware`` + ``GraphRequestAdapter``), with an httpx client whose
  base URL is the emulator's and whose SSL context trusts its CA; ``allowed_hosts`` names the emulator host.
- O365 2.1: ``Account(credentials, auth_flow_type="credentials", tenant_id=..., protocol=...)``. Its
  ``Connection`` hard-codes ``https://login.microsoftonline.com/<tenant>`` as MSAL's authority and builds
  MSAL without ``instance_discovery=False`` nor a way to trust a private CA, so a subclass (the
  ``Account.connection_constructor`` hook) sets the authority, builds the same ``ConfidentialClientApplication``
  with those two settings, and has ``get_session`` trust the CA. The protocol is ``MSGraphProtocol`` with the
  emulator's URL as ``_protocol_url``. ``requests_delay=0``: O365 otherwise sleeps 200 ms between two calls
  (a throttling courtesy, not work); with the default the peer would only look slower.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from ._emulator import EmulatorProcess

GRAPH = "https://graph.microsoft.com"
GRAPH_DEFAULT = f"{GRAPH}/.default"


def session(ca_file: str) -> requests.Session:
    """A requests session trusting ``ca_file`` even where ``REQUESTS_CA_BUNDLE`` is set."""
    http = requests.Session()
    http.trust_env = False
    http.verify = ca_file
    return http


def msal_public_app(emu: EmulatorProcess, token_cache: Any = None) -> Any:
    import msal

    return msal.PublicClientApplication(emu.public_app()["clientId"], authority=emu.authority,
                                        http_client=session(emu.ca_file), instance_discovery=False,
                                        token_cache=token_cache)


def msal_confidential_app(emu: EmulatorProcess) -> Any:
    """msal's ``ConfidentialClientApplication`` for the seeded secret app (app-only tokens)."""
    import msal

    app = emu.secret_app()
    return msal.ConfidentialClientApplication(app["clientId"], client_credential=app["clientSecret"],
                                              authority=emu.authority,
                                              http_client=session(emu.ca_file), instance_discovery=False)


def azure_secret_credential(emu: EmulatorProcess, *, aio: bool = False) -> Any:
    if aio:
        from azure.identity.aio import ClientSecretCredential
    else:
        from azure.identity import ClientSecretCredential  # type: ignore[assignment]
    app = emu.secret_app()
    return ClientSecretCredential(emu.tenant_id, app["clientId"], app["clientSecret"], authority=emu.url,
                                  connection_verify=emu.ca_file, disable_instance_discovery=True)


def azure_browser_credential(emu: EmulatorProcess) -> Any:
    """azure-identity's ``InteractiveBrowserCredential`` for the public client (sign-in: the headless browser)."""
    from azure.identity import InteractiveBrowserCredential

    return InteractiveBrowserCredential(tenant_id=emu.tenant_id, client_id=emu.public_app()["clientId"],
                                        authority=emu.url, disable_instance_discovery=True,
                                        connection_verify=emu.ca_file, login_hint=emu.upn)


def graph_sdk_client(emu: EmulatorProcess, credential: Any) -> Any:
    """msgraph-sdk's ``GraphServiceClient`` over ``credential`` (an azure-core async credential)."""
    import httpx
    import msgraph.graph_request_adapter
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.kiota_client_factory import DEFAULT_CONNECTION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_DEFAULT], allowed_hosts=["127.0.0.1"])
    # what KiotaClientFactory.get_default_client() builds, with the emulator's base URL and CA
    http = httpx.AsyncClient(base_url=emu.graph_url, verify=ssl.create_default_context(cafile=emu.ca_file),
                             http2=True,
                             timeout=httpx.Timeout(DEFAULT_REQUEST_TIMEOUT, connect=DEFAULT_CONNECTION_TIMEOUT))
    client = GraphClientFactory.create_with_default_middleware(client=http,
                                                              options=msgraph.graph_request_adapter.options)
    adapter = GraphRequestAdapter(auth, client=client)
    adapter.base_url = emu.graph_url
    return GraphServiceClient(request_adapter=adapter)


def o365_account(emu: EmulatorProcess, mailbox_upn: str) -> Any:
    """An O365 ``Account`` (client credentials, app-only) on ``mailbox_upn``'s mailbox, authenticated."""
    import msal
    from O365 import Account
    from O365.connection import Connection, MSGraphProtocol
    from O365.utils.token import MemoryTokenBackend

    class EmulatorConnection(Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._msal_authority = emu.authority

        @property
        def msal_client(self) -> Any:
            if self._msal_client is None:  # Connection.msal_client's construction + the two emulator settings
                self._msal_client = msal.ConfidentialClientApplication(
                    client_id=self.auth[0], client_credential=self.auth[1], authority=self._msal_authority,
                    token_cache=self.token_backend, timeout=self.timeout, http_client=session(emu.ca_file),
                    instance_discovery=False)
            return self._msal_client

        def get_session(self, load_token: bool = False) -> requests.Session:
            http = super().get_session(load_token)
            http.trust_env = False
            http.verify = emu.ca_file
            return http

    class EmulatorAccount(Account):
        connection_constructor = EmulatorConnection

    class EmulatorProtocol(MSGraphProtocol):
        _protocol_url = emu.url + "/"

    app = emu.secret_app()
    account = EmulatorAccount((app["clientId"], app["clientSecret"]), auth_flow_type="credentials",
                              tenant_id=emu.tenant_id, protocol=EmulatorProtocol(), main_resource=mailbox_upn,
                              token_backend=MemoryTokenBackend(), requests_delay=0)
    if not account.authenticate(requested_scopes=[GRAPH_DEFAULT]):
        raise RuntimeError("O365 could not get a token from the emulator")
    return account
