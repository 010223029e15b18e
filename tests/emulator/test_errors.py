"""Every error Entra ID gives for the listed mistakes is reachable, in Entra's JSON shape."""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from netkit_msal.emulator import CERT_CLIENT_ID, GRAPH, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET

from .conftest import assert_entra_error, authorize_url, confidential_app, get_code, post_token, redeem, session_for

CC = "client_credentials"


def test_bad_client_secret_through_msal(emulator):
    result = confidential_app(emulator, SECRET_CLIENT_ID, "wrong").acquire_token_for_client([f"{GRAPH}/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_bad_client_secret_raw(emulator):
    response = post_token(emulator, client_id=SECRET_CLIENT_ID, client_secret="nope", grant_type=CC,
                          scope=f"{GRAPH}/.default")
    assert_entra_error(response, "invalid_client", 7000215, 401)


def test_confidential_client_without_credential(emulator):
    response = post_token(emulator, client_id=SECRET_CLIENT_ID, grant_type=CC, scope=f"{GRAPH}/.default")
    assert_entra_error(response, "invalid_client", 7000218, 401)


def test_public_client_must_not_send_secret(emulator):
    response = post_token(emulator, client_secret="x", grant_type=CC, scope=f"{GRAPH}/.default")
    assert_entra_error(response, "invalid_client", 700025, 401)


def test_unknown_client(emulator):
    response = post_token(emulator, client_id=str(uuid.uuid4()), grant_type="refresh_token", refresh_token="x")
    assert_entra_error(response, "unauthorized_client", 700016)


def test_client_credentials_needs_default_scope(emulator):
    response = post_token(emulator, client_id=SECRET_CLIENT_ID, client_secret=SECRET_CLIENT_SECRET,
                          grant_type=CC, scope=f"{GRAPH}/Mail.Read")
    assert_entra_error(response, "invalid_scope", 1002012)


def test_reused_code(emulator):
    code, verifier = get_code(emulator)
    assert redeem(emulator, code, verifier).status_code == 200
    assert_entra_error(redeem(emulator, code, verifier), "invalid_grant", 54005)


def test_expired_code(fresh_emulator):
    code, verifier = get_code(fresh_emulator)
    fresh_emulator.advance_clock(601)
    assert_entra_error(redeem(fresh_emulator, code, verifier), "invalid_grant", 70008)


def test_unknown_code(emulator):
    assert_entra_error(redeem(emulator, "not-a-code", "v"), "invalid_grant", 70000)


def test_bad_pkce_verifier(emulator):
    code, _ = get_code(emulator)
    assert_entra_error(redeem(emulator, code, "another-verifier-of-enough-length-0123456789"),
                       "invalid_grant", 501481)


def test_missing_pkce_verifier(emulator):
    code, _ = get_code(emulator)
    assert_entra_error(redeem(emulator, code, ""), "invalid_request", 900144)


def test_plain_pkce_is_verified(emulator):
    answer = emulator.browser().authorize(authorize_url(emulator, code_challenge="plain-verifier-" + "x" * 30,
                                                        code_challenge_method="plain"))
    assert_entra_error(redeem(emulator, answer["code"], "wrong"), "invalid_grant", 501481)
    answer = emulator.browser().authorize(authorize_url(emulator, code_challenge="plain-verifier-" + "x" * 30,
                                                        code_challenge_method="plain"))
    assert redeem(emulator, answer["code"], "plain-verifier-" + "x" * 30).status_code == 200


def test_redirect_uri_must_match_at_redemption(emulator):
    code, verifier = get_code(emulator)
    assert_entra_error(redeem(emulator, code, verifier, redirect_uri="http://localhost:5001"),
                       "invalid_grant", 500112)


def test_unregistered_redirect_uri_is_refused_with_a_page(emulator):
    response = session_for(emulator).get(authorize_url(emulator, redirect_uri="https://evil.example/cb"),
                                         allow_redirects=False)
    assert response.status_code == 400 and "AADSTS50011" in response.text
    assert "Location" not in response.headers


def test_unknown_scope_and_resource_at_authorize(emulator):
    browser = emulator.browser()
    answer = browser.authorize(authorize_url(emulator, scope=f"{GRAPH}/No.Such.Permission"))
    assert answer["error"] == "invalid_scope" and answer["error_description"].startswith("AADSTS70011:")
    assert answer["state"] == "st"
    answer = browser.authorize(authorize_url(emulator, scope="https://unknown.example/Read"))
    assert answer["error"] == "invalid_resource" and answer["error_description"].startswith("AADSTS500011:")


def test_unknown_scope_resource_and_mixed_resources_at_token(emulator):
    code, verifier = get_code(emulator)
    token = redeem(emulator, code, verifier).json()["refresh_token"]

    def refresh(scope: str):
        return post_token(emulator, grant_type="refresh_token", refresh_token=token, scope=scope)

    assert_entra_error(refresh(f"{GRAPH}/Nope.Read offline_access"), "invalid_scope", 70011)
    assert_entra_error(refresh("api://unknown/x offline_access"), "invalid_resource", 500011)
    assert_entra_error(refresh(f"{GRAPH}/User.Read https://outlook.office.com/SMTP.Send"), "invalid_scope", 28000)


def test_consent_missing_then_given_interactively(fresh_emulator):
    emu = fresh_emulator
    code, verifier = get_code(emu)
    token = redeem(emu, code, verifier).json()["refresh_token"]
    response = post_token(emu, grant_type="refresh_token", refresh_token=token,
                          scope=f"{GRAPH}/Files.Read offline_access openid")
    body = assert_entra_error(response, "invalid_grant", 65001)
    assert body["suberror"] == "consent_required"
    # The user consents at a sign-in; the refresh token then works for that scope.
    get_code(emu, scope=f"{GRAPH}/Files.Read")
    response = post_token(emu, grant_type="refresh_token", refresh_token=token,
                          scope=f"{GRAPH}/Files.Read offline_access openid")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == f"{GRAPH}/Files.Read"


def test_revoked_refresh_token(fresh_emulator):
    emu = fresh_emulator
    code, verifier = get_code(emu)
    first = redeem(emu, code, verifier).json()["refresh_token"]
    rotated = post_token(emu, grant_type="refresh_token", refresh_token=first,
                         scope=f"{GRAPH}/User.Read offline_access")
    second = rotated.json()["refresh_token"]
    assert second != first  # rotation: a new refresh token comes with every refresh
    emu.revoke_refresh_tokens(emu.users[0].upn)
    for token in (first, second):
        response = post_token(emu, grant_type="refresh_token", refresh_token=token, scope=f"{GRAPH}/User.Read")
        assert_entra_error(response, "invalid_grant", 50173)
    # A new sign-in gives a working refresh token again.
    code, verifier = get_code(emu)
    fresh = redeem(emu, code, verifier).json()["refresh_token"]
    assert post_token(emu, grant_type="refresh_token", refresh_token=fresh, scope=f"{GRAPH}/User.Read").ok


def test_disabled_user(fresh_emulator):
    emu = fresh_emulator
    user = emu.users[1].upn
    code, verifier = get_code(emu, login_hint=user)
    token = redeem(emu, code, verifier).json()["refresh_token"]
    emu.disable_user(user)
    response = post_token(emu, grant_type="refresh_token", refresh_token=token, scope=f"{GRAPH}/User.Read")
    assert_entra_error(response, "invalid_grant", 50057)
    answer = emu.browser().authorize(authorize_url(emu, login_hint=user))
    assert answer["error"] == "access_denied" and answer["error_description"].startswith("AADSTS50057:")
    emu.disable_user(user, disabled=False)
    assert post_token(emu, grant_type="refresh_token", refresh_token=token, scope=f"{GRAPH}/User.Read").ok


def test_unknown_tenant(emulator):
    response = session_for(emulator).get(f"{emulator.url}/no-such-tenant/v2.0/.well-known/openid-configuration")
    assert_entra_error(response, "invalid_request", 90002)


def _assertion(emu, key, *, thumbprint=None, aud=None, exp_delta=600, iss=CERT_CLIENT_ID) -> str:
    import base64

    thumb = thumbprint or emu.client_certificate_thumbprint
    now = int(time.time())
    return jwt.encode({"aud": aud or emu.token_endpoint, "iss": iss, "sub": iss, "jti": str(uuid.uuid4()),
                       "iat": now, "nbf": now, "exp": now + exp_delta}, key, algorithm="RS256",
                      headers={"x5t": base64.urlsafe_b64encode(bytes.fromhex(thumb)).decode()})


def _post_assertion(emu, assertion):
    return post_token(emu, client_id=CERT_CLIENT_ID, grant_type=CC, scope=f"{GRAPH}/.default",
                      client_assertion=assertion,
                      client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")


def _real_key(emu):
    return serialization.load_pem_private_key(open(emu.client_certificate_path, "rb").read(), None)


def test_genuine_assertion_is_accepted(emulator):
    assert _post_assertion(emulator, _assertion(emulator, _real_key(emulator))).status_code == 200


def test_forged_assertion_is_refused(emulator):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = assert_entra_error(_post_assertion(emulator, _assertion(emulator, forger)), "invalid_client", 700027, 401)
    assert "signature" in body["error_description"]


def test_assertion_with_unknown_thumbprint_is_refused(emulator):
    response = _post_assertion(emulator, _assertion(emulator, _real_key(emulator), thumbprint="00" * 20))
    assert_entra_error(response, "invalid_client", 700027, 401)


def test_assertion_for_another_audience_is_refused(emulator):
    response = _post_assertion(emulator, _assertion(emulator, _real_key(emulator),
                                                    aud="https://login.microsoftonline.com/x/oauth2/v2.0/token"))
    assert_entra_error(response, "invalid_client", 700212, 401)


def test_expired_assertion_is_refused(emulator):
    response = _post_assertion(emulator, _assertion(emulator, _real_key(emulator), exp_delta=-3600))
    assert_entra_error(response, "invalid_client", 700024, 401)


def test_assertion_for_another_client_is_refused(emulator):
    response = _post_assertion(emulator, _assertion(emulator, _real_key(emulator), iss=SECRET_CLIENT_ID))
    assert_entra_error(response, "invalid_client", 700021, 401)


def test_consent_to_two_resources_at_once_then_one_token_each(fresh_emulator):
    """As Entra: authorize may name several resources (consent); a token request may not (AADSTS28000)."""
    emu = fresh_emulator
    both = f"{GRAPH}/Files.Read https://outlook.office.com/EWS.AccessAsUser.All"
    code, verifier = get_code(emu, scope=both)
    assert_entra_error(redeem(emu, code, verifier, scope=f"{both} offline_access"), "invalid_scope", 28000)
    code, verifier = get_code(emu, scope=both)
    tokens = redeem(emu, code, verifier, scope=f"{GRAPH}/Files.Read offline_access openid").json()
    assert tokens["scope"] == f"{GRAPH}/Files.Read"
    other = post_token(emu, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                       scope="https://outlook.office.com/EWS.AccessAsUser.All offline_access")
    assert other.ok, other.text  # consented at the sign-in, so no AADSTS65001


def test_client_credentials_with_two_resources(emulator):
    response = post_token(emulator, client_id=SECRET_CLIENT_ID, client_secret=SECRET_CLIENT_SECRET, grant_type=CC,
                          scope=f"{GRAPH}/.default https://outlook.office365.com/.default")
    assert_entra_error(response, "invalid_scope", 70011)


def test_token_endpoints_take_post_only(emulator):
    session = session_for(emulator)
    assert_entra_error(session.get(emulator.token_endpoint), "invalid_request", 900561)
    assert_entra_error(session.get(f"{emulator.authority}/oauth2/v2.0/devicecode"), "invalid_request", 900561)
