"""What graph_client() is built from: scopes per permission, the Graph host per cloud, lazy imports."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from netkit_msal import ConfigError, GraphError, OAuth2Provider
from netkit_msal._graph import run_sync
from netkit_msal._scopes import graph_scopes as config_graph_scopes

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "3c1e5b2a-9d4f-4e8b-a6c7-1f2e3d4c5b6a"
GRAPH = "https://graph.microsoft.com"
IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"


def _provider(permission="signedIn", **params) -> OAuth2Provider:
    base = {"name": "Microsoft", "permission": permission, "clientId": CLIENT, "tenant": TENANT}
    if permission == "service":
        base["clientSecret"] = "not-used-here"
    else:
        base["redirectURI"] = "http://127.0.0.1:50993/"
    return OAuth2Provider({**base, **params})


def graph_scopes(provider: OAuth2Provider, scopes=None) -> list:
    return config_graph_scopes(provider.config, scopes)


def test_delegated_scopes():
    with pytest.raises(ConfigError, match="two resources"):  # one resource per token (Entra: AADSTS28000)
        _provider(scope=["User.Read", "Mail.Send", IMAP])
    graph = _provider(scope=["User.Read", "Mail.Send"])
    assert graph_scopes(graph) == [f"{GRAPH}/User.Read", f"{GRAPH}/Mail.Send"]
    assert graph_scopes(_provider(scope=[IMAP])) == [f"{GRAPH}/.default"]
    assert graph_scopes(graph, "Calendars.Read offline_access") == [f"{GRAPH}/Calendars.Read"]


def test_app_only_scopes():
    service = _provider("service")
    assert graph_scopes(service) == [f"{GRAPH}/.default"]
    assert graph_scopes(service, [".default"]) == [f"{GRAPH}/.default"]
    with pytest.raises(ConfigError) as caught:
        graph_scopes(service, "User.Read.All")
    assert caught.value.key == "scopes" and ".default" in str(caught.value)


def test_bad_scopes():
    with pytest.raises(ConfigError, match="not a Microsoft Graph scope") as caught:
        graph_scopes(_provider(), [IMAP])
    assert caught.value.key == "scopes"
    with pytest.raises(ConfigError) as caught:
        graph_scopes(_provider(), "offline_access")
    assert caught.value.key == "scopes"


@pytest.mark.parametrize("authority, graph", [
    ("https://login.microsoftonline.com", GRAPH),
    ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
])
def test_national_clouds(authority, graph):
    """Each cloud's Graph: base URL, scopes and the one host the token may go to (no request is made)."""
    for permission in ("signedIn", "service"):
        provider = _provider(permission, authority=f"{authority}/{TENANT}")
        client = provider.graph_client()
        assert client.request_adapter.base_url == f"{graph}/v1.0"
        token_provider = client.request_adapter._authentication_provider.access_token_provider
        assert token_provider.get_allowed_hosts_validator().get_allowed_hosts() == [graph.split("/")[2]]
        assert all(scope.startswith(f"{graph}/") for scope in graph_scopes(provider))


def test_graph_endpoint_host_and_version(emulator):
    """``graphEndpoint`` in any case and with /v1.0: requests go to v1.0 once, the token to that host only."""
    host_url = emulator.url.replace("127.0.0.1", "LOCALHOST")
    provider = OAuth2Provider(emulator.params("service", cache=False, graphEndpoint=f"{host_url}/v1.0"))
    try:
        client = provider.graph_client()
        upn = emulator.users[0].upn
        assert run_sync(client.users.by_user_id(upn).get()).user_principal_name == upn
        # The same server under another name is another host: no token is sent there.
        elsewhere = client.users.by_user_id(upn).with_url(f"{emulator.graph_url}/users/{upn}")
        with pytest.raises(GraphError) as caught:
            run_sync(elsewhere.get())
        assert caught.value.status == 401 and "empty" in caught.value.message
    finally:
        provider.close()


def test_lazy_imports():
    """``import netkit_msal`` and a provider load no Azure SDK; the credential loads azure-core only."""
    code = (
        "import sys, netkit_msal\n"
        "netkit_msal.OAuth2Provider\n"
        "heavy = ('msgraph', 'kiota', 'azure', 'httpx')\n"
        "assert not [m for m in sys.modules if m.startswith(heavy)], 'loaded at import'\n"
        "import netkit_msal._credential\n"
        "assert not [m for m in sys.modules if m.startswith(('msgraph', 'kiota', 'azure.identity'))]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_run_sync_accepts_any_awaitable():
    class Later:
        def __await__(self):
            return (yield from asyncio.sleep(0, result=42).__await__())

    assert run_sync(Later()) == 42
