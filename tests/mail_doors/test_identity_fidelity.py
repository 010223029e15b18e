"""Entra's rules the mail doors and Graph rely on: loopback redirect URIs, and token shapes per resource."""

from __future__ import annotations

import msal
import pytest
import requests
from doors_support import ADELE

from netkit_msal.emulator import GRAPH, PUBLIC_CLIENT_ID, SECRET_CLIENT_ID

OUTLOOK_APP = "00000002-0000-0ff1-ce00-000000000000"


def authorize(emu, redirect_uri: str) -> requests.Response:
    return requests.get(f"{emu.authority}/oauth2/v2.0/authorize", verify=emu.ca_file, allow_redirects=False,
                        params={"client_id": PUBLIC_CLIENT_ID, "redirect_uri": redirect_uri, "response_type": "code",
                                "scope": f"{GRAPH}/User.Read openid", "code_challenge": "x" * 43,
                                "code_challenge_method": "S256"}, timeout=30)


@pytest.mark.parametrize("uri", ["http://localhost:1234", "http://localhost:1234/", "http://127.0.0.1:50993",
                                 "http://127.0.0.1:50993/authorize/", "http://localhost/authorize/"])
def test_a_registered_loopback_redirect_uri_matches_on_any_port(doors_emulator, uri):
    assert "AADSTS50011" not in authorize(doors_emulator, uri).text


@pytest.mark.parametrize("uri", ["http://localhost:1234/callback", "http://127.0.0.1:50993/authorize",
                                 "http://127.0.0.1:9/authorize/x", "https://localhost:1234",
                                 "http://localhost:1234/?x=1", "http://127.0.0.2:1234"])
def test_a_loopback_redirect_uri_with_another_path_scheme_or_host_is_refused(doors_emulator, uri):
    answer = authorize(doors_emulator, uri)
    assert "AADSTS50011" in answer.text and uri in answer.text


def claims_of(emu, token: str) -> dict:
    return emu.verify_access_token(token)


@pytest.mark.parametrize("resource, audience", [
    (f"{GRAPH}/User.Read", GRAPH),
    ("https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com"),
])
def test_tokens_for_microsofts_own_resources_are_v1(doors_emulator, resource, audience):
    emu = doors_emulator
    claims = claims_of(emu, emu.mint_access_token(ADELE, [resource]))
    assert claims["ver"] == "1.0" and claims["iss"] == f"https://sts.windows.net/{emu.tenant_id}/"
    assert claims["aud"] == audience and claims["upn"] == claims["unique_name"] == ADELE
    assert claims["scp"] == resource.rpartition("/")[2] and claims["appid"] and claims["app_displayname"]
    assert not {"azp", "preferred_username"} & set(claims)


def test_an_app_only_exchange_token_from_msal_is_v1_with_roles(doors_emulator):
    emu = doors_emulator
    from netkit_msal.emulator import SECRET_CLIENT_ID as client_id
    from netkit_msal.emulator._directory import SECRET_CLIENT_SECRET

    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would win over our CA
    session.verify = emu.ca_file
    app = msal.ConfidentialClientApplication(client_id, client_credential=SECRET_CLIENT_SECRET,
                                             authority=emu.authority, instance_discovery=False,
                                             http_client=session)
    result = app.acquire_token_for_client([f"{OUTLOOK_APP}/.default"])
    claims = claims_of(emu, result["access_token"])
    assert claims["ver"] == "1.0" and claims["aud"] == "https://outlook.office365.com"
    assert claims["idtyp"] == "app" and claims["idp"] == claims["iss"] and "IMAP.AccessAsApp" in claims["roles"]
    assert claims["appidacr"] == "1"


def test_a_customer_api_keeps_the_v2_shape(doors_emulator):
    emu = doors_emulator
    claims = claims_of(emu, emu.mint_access_token(ADELE, ["api://contoso-orders/Orders.Read"],
                                                  client_id=SECRET_CLIENT_ID))
    assert claims["ver"] == "2.0" and claims["iss"] == emu.issuer and claims["aud"] == "api://contoso-orders"
    assert claims["azp"] == SECRET_CLIENT_ID and claims["preferred_username"] == ADELE


def test_graph_accepts_its_v1_tokens(doors_emulator):
    emu = doors_emulator
    token = emu.mint_access_token(ADELE, [f"{GRAPH}/User.Read"])
    answer = requests.get(f"{emu.graph_url}/me", headers={"Authorization": f"Bearer {token}"},
                          verify=emu.ca_file, timeout=30)
    assert answer.status_code == 200 and answer.json()["userPrincipalName"] == ADELE
