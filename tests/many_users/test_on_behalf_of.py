"""A web API calling Graph as its caller: get_token_on_behalf_of against the emulator's OBO grant."""

from __future__ import annotations

from typing import Any

import pytest

from netkit_msal import AuthenticationError, ConfigError, OAuth2Provider
from netkit_msal.emulator import API_SCOPE, API_URI, GRAPH, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET


def _api(emu: Any) -> OAuth2Provider:
    """The middle tier: the confidential app whose API the client called."""
    return OAuth2Provider(emu.params(cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                                     loginHint=None, scope="User.Read"))


def _incoming(emu: Any, upn: str) -> str:
    """What the client app sends the API: its user's token for the API's scope (got through the real MSAL)."""
    emu.install_browser()
    client = OAuth2Provider(emu.params(cache=False, loginHint=upn, scope=API_SCOPE))
    token = client.get_token()
    assert token.access_token_claims["aud"] == API_URI
    return token.access_token


def test_on_behalf_of_gives_the_callers_token_cached_per_assertion(emu):
    megan, alex = emu.users[1].upn, emu.users[2].upn
    api = _api(emu)
    for_megan, for_alex = _incoming(emu, megan), _incoming(emu, alex)
    emu.reset_stats()
    first = api.get_token_on_behalf_of(for_megan, ["User.Read"])
    assert first.username == megan and first.access_token_claims["aud"] == GRAPH
    assert first.access_token_claims["appid"] == SECRET_CLIENT_ID
    assert emu.stats()["token:jwt-bearer"] == 1
    assert api.get_token_on_behalf_of(for_megan, ["User.Read"]) is first  # same assertion: no request
    other = api.get_token_on_behalf_of(for_alex, ["User.Read"])
    assert other.username == alex and emu.stats()["token:jwt-bearer"] == 2
    assert api.token is None and api.username is None  # callers' tokens are not the API's own


def test_the_downstream_token_calls_graph_as_the_caller(emu):
    megan = emu.users[1].upn
    token = _api(emu).get_token_on_behalf_of(_incoming(emu, megan), "User.Read")
    import requests

    me = requests.get(f"{emu.url}/v1.0/me", headers={"Authorization": f"Bearer {token.access_token}"},
                      verify=emu.ca_file, timeout=30)
    assert me.status_code == 200 and me.json()["userPrincipalName"] == megan


def _refused(api: OAuth2Provider, assertion: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        api.get_token_on_behalf_of(assertion, ["User.Read"])
    return caught.value


def test_assertions_entra_refuses(emu):
    api = _api(emu)
    megan = emu.users[1].upn
    graph_token = emu.mint_access_token(megan, (f"{GRAPH}/User.Read",))  # for Graph, not for this API
    error = _refused(api, graph_token)
    assert "AADSTS500131" in str(error) and "Assertion audience does not match" in str(error)
    expired = emu.mint_access_token(megan, (f"{API_URI}/access_as_user",), lifetime=1, exp=1)
    assert "AADSTS500133" in str(_refused(api, expired))
    app_only = emu.mint_access_token(None, (f"{API_URI}/.default",), client_id=SECRET_CLIENT_ID)
    assert "AADSTS50013" in str(_refused(api, app_only))
    forged = graph_token.rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    assert "AADSTS50013: Assertion failed signature validation" in str(_refused(api, forged))


def test_public_client_and_non_jwt_are_config_errors(emu):
    with pytest.raises(ConfigError):
        OAuth2Provider(emu.params(cache=False)).get_token_on_behalf_of("a.b.c", "User.Read")
    with pytest.raises(ConfigError) as caught:
        _api(emu).get_token_on_behalf_of("not a token", "User.Read")
    assert caught.value.key == "user_assertion"

