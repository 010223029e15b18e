"""``provider.credential()`` / ``provider.async_credential()`` as azure-core credentials: scopes, token info,
claims challenges, tenants; handed to msgraph-sdk the way its README shows and to a plain azure-core pipeline."""

from __future__ import annotations

import asyncio

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo, SupportsTokenInfo, TokenCredential
from azure.core.credentials_async import AsyncSupportsTokenInfo, AsyncTokenCredential

from netkit_msal import AuthenticationError, OAuth2Provider
from netkit_msal._graph import graph_errors

GRAPH = "https://graph.microsoft.com"


def test_protocols(service):
    assert isinstance(service.credential(), TokenCredential)
    assert isinstance(service.credential(), SupportsTokenInfo)
    assert isinstance(service.async_credential(), AsyncTokenCredential)
    assert isinstance(service.async_credential(), AsyncSupportsTokenInfo)


def test_get_token_and_scope_mapping(service, emulator):
    cred = service.credential()
    token = service.get_token()
    full = cred.get_token(f"{GRAPH}/.default")
    assert isinstance(full, AccessToken) and full.token == token.access_token
    assert full.expires_on == int(token.expires_on.timestamp())
    # Short names get the Graph prefix; msgraph-sdk's scope for a host without scopes (the emulator's host,
    # port stripped) is the Graph resource; no scopes is the provider's configured scope.
    assert cred.get_token(".default").token == token.access_token
    assert cred.get_token("https://127.0.0.1/.default", enable_cae=True).token == token.access_token
    assert cred.get_token().token == token.access_token
    info = cred.get_token_info(f"{GRAPH}/.default")
    assert isinstance(info, AccessTokenInfo) and info.token == token.access_token and info.token_type == "Bearer"
    assert "access_token" not in repr(cred) and token.access_token not in repr(cred)


def test_claims_challenge_gets_a_fresh_token(service, emulator):
    cred = service.credential()
    cached = cred.get_token(f"{GRAPH}/.default")
    requests_before = emulator.stats()["token"]
    fresh = cred.get_token(f"{GRAPH}/.default", claims='{"access_token":{"nbf":{"essential":true}}}')
    assert emulator.stats()["token"] == requests_before + 1 and fresh.token != cached.token
    assert cred.get_token_info(f"{GRAPH}/.default").token == fresh.token


def test_tenant(service, emulator):
    cred = service.credential()
    assert cred.get_token(f"{GRAPH}/.default", tenant_id=emulator.tenant_id).token
    with pytest.raises(AuthenticationError, match="tenant"):
        cred.get_token(f"{GRAPH}/.default", tenant_id="another.example")
    with pytest.raises(AuthenticationError, match="tenant"):
        cred.get_token_info(f"{GRAPH}/.default", options={"tenant_id": "another.example"})


def test_msgraph_readme_form(delegated, emulator, monkeypatch):
    """``GraphServiceClient(credentials=..., scopes=[...])`` as msgraph-sdk's README shows.

    Against real Graph that is all. The emulator is not graph.microsoft.com: its URL goes on the request adapter,
    and its CA must be trusted (here through SSL_CERT_FILE, read by httpx when the SDK builds its client).
    """
    from msgraph import GraphServiceClient

    monkeypatch.setenv("SSL_CERT_FILE", emulator.ca_file)
    client = GraphServiceClient(credentials=delegated.credential(), scopes=["User.Read"])
    client.request_adapter.base_url = emulator.graph_url

    async def me():
        return await client.me.get()

    assert asyncio.run(me()).user_principal_name == emulator.users[0].upn


def test_azure_core_pipeline(service, delegated, emulator):
    """Any Azure SDK client: azure-core's BearerTokenCredentialPolicy (it calls get_token_info) over requests."""
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    def get(cred, scope, path):
        client = PipelineClient(base_url=emulator.graph_url,
                                policies=[BearerTokenCredentialPolicy(cred, scope)],
                                transport=RequestsTransport(connection_verify=emulator.ca_file))
        with client:
            response = client.send_request(HttpRequest("GET", f"{emulator.graph_url}{path}"))
        assert response.status_code == 200, response.text()
        return response.json()

    users = get(service.credential(), f"{GRAPH}/.default", "/users")
    assert [u["userPrincipalName"] for u in users["value"]] == [u.upn for u in emulator.users]
    assert get(delegated.credential(), f"{GRAPH}/User.Read", "/me")["userPrincipalName"] == emulator.users[0].upn


def test_async_credential_keeps_the_loop_free(emulator):
    """The provider's (blocking) token request runs in a worker thread: other tasks run meanwhile."""
    provider = OAuth2Provider(emulator.params("service", cache=False))
    events: list[str] = []

    async def other_task():
        await asyncio.sleep(0)
        events.append("other task ran")

    async def scenario():
        async with provider.async_credential() as cred:
            emulator.inject_fault("token", latency=0.3)
            ticker = asyncio.ensure_future(other_task())
            token = await cred.get_token(f"{GRAPH}/.default")
            events.append("token")
            await ticker
            info = await cred.get_token_info(f"{GRAPH}/.default")
        return token, info

    try:
        token, info = asyncio.run(scenario())
    finally:
        emulator.clear_faults()
        provider.close()
    assert events == ["other task ran", "token"]
    assert info.token == token.token and token.expires_on > 0


def test_async_graph_client_with_asyncio_run(emulator):
    """Pure async use: a provider's graph_client() awaited on the caller's own loop, errors typed by graph_errors."""
    from netkit_msal import GraphError

    provider = OAuth2Provider(emulator.params("service", cache=False))
    client = provider.graph_client()
    upn = emulator.users[1].upn

    async def scenario():
        users = await asyncio.gather(*(client.users.by_user_id(u.upn).get() for u in emulator.users[:3]))
        assert [u.user_principal_name for u in users] == [u.upn for u in emulator.users[:3]]
        inbox = await client.users.by_user_id(upn).mail_folders.by_mail_folder_id("inbox").messages.get()
        assert inbox.value
        with pytest.raises(GraphError) as caught:
            with graph_errors():
                await client.users.by_user_id(f"nobody@{emulator.domain}").get()
        assert caught.value.status == 404

    try:
        asyncio.run(scenario())
    finally:
        provider.close()
