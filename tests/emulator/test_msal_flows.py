"""Unmodified MSAL gets tokens from the emulator in every flow."""

from __future__ import annotations

import jwt
import pytest

from netkit_msal.emulator import (
    CERT_CLIENT_ID,
    GRAPH,
    OUTLOOK,
    PUBLIC_CLIENT_ID,
    SECRET_CLIENT_ID,
    SECRET_CLIENT_SECRET,
)

from .conftest import confidential_app, public_app

USER_READ = f"{GRAPH}/User.Read"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_auth_code_flow_with_pkce(emulator):
    app = public_app(emulator)
    flow = app.initiate_auth_code_flow([USER_READ], redirect_uri="http://localhost:8765",
                                       login_hint=emulator.users[1].upn, response_mode="form_post")
    assert flow["code_verifier"]
    auth_response = emulator.browser().authorize(flow["auth_uri"])
    assert set(auth_response) >= {"code", "state", "client_info"}
    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert "access_token" in result, result
    at = claims(result["access_token"])
    assert at["aud"] == GRAPH and at["scp"] == "User.Read" and at["upn"] == emulator.users[1].upn
    assert result["id_token_claims"]["preferred_username"] == emulator.users[1].upn
    assert result["id_token_claims"]["nonce"]  # echoed, MSAL checked it
    assert result["refresh_token"]
    account = app.get_accounts()[0]
    assert account["username"] == emulator.users[1].upn
    assert account["home_account_id"] == f"{emulator.users[1].id}.{emulator.tenant_id}"
    assert emulator.verify_access_token(result["access_token"])["oid"] == emulator.users[1].id


def test_interactive_with_form_post_through_headless_browser(emulator):
    browser = emulator.install_browser()
    app = public_app(emulator)
    result = app.acquire_token_interactive([USER_READ], login_hint=emulator.users[0].upn, timeout=30)
    assert "access_token" in result, result
    assert browser.opened and "response_mode=form_post" in browser.opened[-1]
    assert claims(result["access_token"])["upn"] == emulator.users[0].upn
    # The cached token answers silently, with no request.
    before = emulator.stats()["token"]
    silent = app.acquire_token_silent([USER_READ], account=app.get_accounts()[0])
    assert silent["token_source"] == "cache"
    assert emulator.stats()["token"] == before


def test_silent_refresh_for_another_resource(emulator):
    app = public_app(emulator)
    flow = app.initiate_auth_code_flow([USER_READ], redirect_uri="http://127.0.0.1:9", response_mode="form_post")
    app.acquire_token_by_auth_code_flow(flow, emulator.browser().authorize(flow["auth_uri"]))
    mail = app.acquire_token_silent([f"{OUTLOOK}/IMAP.AccessAsUser.All"], account=app.get_accounts()[0])
    assert mail and "access_token" in mail, mail
    at = claims(mail["access_token"])
    assert at["aud"] == OUTLOOK and at["scp"] == "IMAP.AccessAsUser.All"


def test_client_credentials_with_secret(emulator):
    app = confidential_app(emulator, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET)
    result = app.acquire_token_for_client([f"{GRAPH}/.default"])
    assert "access_token" in result, result
    at = claims(result["access_token"])
    assert at["idtyp"] == "app" and "Mail.Send" in at["roles"] and at["appid"] == SECRET_CLIENT_ID
    assert "refresh_token" not in result


@pytest.mark.parametrize("with_public_certificate", [False, True])  # RS256 + x5t, PS256 + x5t#S256
def test_client_credentials_with_certificate(emulator, with_public_certificate):
    pem = open(emulator.client_certificate_path).read()
    credential = {"private_key": pem}
    if with_public_certificate:
        credential["public_certificate"] = pem[pem.index("-----BEGIN CERTIFICATE"):]
    else:
        credential["thumbprint"] = emulator.client_certificate_thumbprint
    app = confidential_app(emulator, CERT_CLIENT_ID, credential)
    result = app.acquire_token_for_client(["https://outlook.office365.com/.default"])
    assert "access_token" in result, result
    at = claims(result["access_token"])
    assert at["aud"] == "https://outlook.office365.com" and "IMAP.AccessAsApp" in at["roles"]


def test_web_app_auth_code_flow_with_secret(emulator):
    app = confidential_app(emulator, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET)
    flow = app.initiate_auth_code_flow([f"{GRAPH}/Mail.Send"], redirect_uri="https://app.contoso.example/auth/callback",
                                       response_mode="form_post")
    result = app.acquire_token_by_auth_code_flow(flow, emulator.browser().authorize(flow["auth_uri"]))
    assert claims(result["access_token"])["scp"] == "Mail.Send", result
    wrong = confidential_app(emulator, SECRET_CLIENT_ID, "bad")
    flow = wrong.initiate_auth_code_flow([f"{GRAPH}/Mail.Send"], redirect_uri="http://localhost",
                                         response_mode="form_post")
    result = wrong.acquire_token_by_auth_code_flow(flow, emulator.browser().authorize(flow["auth_uri"]))
    assert result["error_codes"] == [7000215]


def test_logout(emulator, http):
    response = http.get(f"{emulator.authority}/oauth2/v2.0/logout",
                        params={"post_logout_redirect_uri": "http://localhost:1/bye"}, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == "http://localhost:1/bye"


def test_scope_names_are_case_insensitive(emulator):
    app = public_app(emulator)
    result = app.acquire_token_by_device_flow(app.initiate_device_flow([f"{GRAPH}/user.read"]))
    assert claims(result["access_token"])["scp"] == "User.Read"


def test_token_response_shape(emulator):
    import base64
    import json

    from .conftest import get_code, redeem

    code, verifier = get_code(emulator, nonce="n-123")
    body = redeem(emulator, code, verifier).json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == body["ext_expires_in"] == 3600
    assert body["scope"] == USER_READ
    info = json.loads(base64.urlsafe_b64decode(body["client_info"] + "=="))
    assert info == {"uid": emulator.users[0].id, "utid": emulator.tenant_id}
    id_token = claims(body["id_token"])
    assert id_token["nonce"] == "n-123" and id_token["aud"] == PUBLIC_CLIENT_ID
    assert id_token["iss"] == emulator.issuer and id_token["tid"] == emulator.tenant_id
    assert {"preferred_username", "oid", "sub", "name"} <= set(id_token)
    at = emulator.verify_access_token(body["access_token"])
    # a Graph token: Entra's v1 shape (appid, no azp), whichever endpoint issued it
    assert at["appid"] == PUBLIC_CLIENT_ID and at["idtyp"] == "user" and at["ver"] == "1.0" and "azp" not in at
    assert at["iss"] == f"https://sts.windows.net/{emulator.tenant_id}/" and at["aud"] == "https://graph.microsoft.com"
    assert at["exp"] - at["iat"] == 3600 and at["nbf"] == at["iat"]
