"""Knobs from Python and over the admin route: faults, lifetimes, clock, users, counters."""

from __future__ import annotations

import logging

import jwt
import pytest
import requests

from netkit_msal.emulator import GRAPH, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET, TokenRejected

from .conftest import get_code, post_token, public_app, redeem, session_for

CC = {"client_id": SECRET_CLIENT_ID, "client_secret": SECRET_CLIENT_SECRET, "grant_type": "client_credentials",
      "scope": f"{GRAPH}/.default"}


def test_429_with_retry_after_then_success(fresh_emulator):
    emu = fresh_emulator
    emu.inject_fault("token", status=429, count=2, retry_after=3)
    for _ in range(2):
        response = post_token(emu, **CC)
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
        assert response.json()["error"] == "temporarily_unavailable"
    assert post_token(emu, **CC).status_code == 200
    assert emu.stats()["token"] == 3


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(fresh_emulator, status):
    fresh_emulator.inject_fault("discovery", status=status)
    url = f"{fresh_emulator.issuer}/.well-known/openid-configuration"
    session = session_for(fresh_emulator)
    assert session.get(url).status_code == status
    assert session.get(url).status_code == 200


def test_dropped_connection(fresh_emulator):
    fresh_emulator.inject_fault("jwks", drop=True)
    session = session_for(fresh_emulator)
    url = f"{fresh_emulator.authority}/discovery/v2.0/keys"
    with pytest.raises(requests.ConnectionError):
        session.get(url)
    assert session.get(url).json()["keys"][0]["kid"] == fresh_emulator.kid


def test_latency_only_fault_still_answers(fresh_emulator):
    fresh_emulator.inject_fault("jwks", latency=0.05)
    assert session_for(fresh_emulator).get(f"{fresh_emulator.authority}/discovery/v2.0/keys").ok


def test_graph_faults_have_graph_shape_and_count(fresh_emulator):
    emu = fresh_emulator
    emu.inject_fault("graph", status=503, retry_after=1, count=None)
    session = session_for(emu)
    for _ in range(3):
        response = session.get(f"{emu.graph_url}/me")
        assert response.status_code == 503 and response.json()["error"]["code"] == "ServiceUnavailable"
    emu.clear_faults()
    assert session.get(f"{emu.graph_url}/me").status_code != 503
    assert emu.stats()["graph"] == 4
    emu.reset_stats()
    assert emu.stats()["graph"] == 0


def test_unknown_fault_endpoint_is_refused(fresh_emulator):
    with pytest.raises(ValueError):
        fresh_emulator.inject_fault("tokn", status=500)


def test_admin_route(fresh_emulator):
    emu = fresh_emulator
    session = session_for(emu)
    admin = f"{emu.url}/_emulator"
    info = session.get(admin).json()
    assert info["tenant"]["id"] == emu.tenant_id and info["params"]["service"]["clientId"] == SECRET_CLIENT_ID
    assert session.post(f"{admin}/faults", json={"endpoint": "token", "status": 503, "count": 1}).status_code == 204
    assert post_token(emu, **CC).status_code == 503
    session.post(f"{admin}/faults", json={"endpoint": "token", "status": 500, "count": None})
    assert session.delete(f"{admin}/faults").status_code == 204
    assert post_token(emu, **CC).ok
    assert session.post(f"{admin}/token-lifetime", json={"seconds": 120}).json() == {"token_lifetime": 120}
    assert post_token(emu, **CC).json()["expires_in"] == 120
    assert session.get(f"{admin}/stats").json()["token"] == 3
    session.post(f"{admin}/stats/reset")
    assert session.get(f"{admin}/stats").json()["token"] == 0

    code, verifier = get_code(emu, login_hint=emu.users[2].upn)
    refresh = redeem(emu, code, verifier).json()["refresh_token"]
    assert session.post(f"{admin}/users/{emu.users[2].upn}/revoke").status_code == 204
    revoked = post_token(emu, grant_type="refresh_token", refresh_token=refresh, scope=f"{GRAPH}/User.Read")
    assert revoked.json()["error_codes"] == [50173]
    assert session.post(f"{admin}/users/{emu.users[2].upn}/disable", json={"disabled": True}).status_code == 204
    assert not emu.users[2].enabled
    session.post(f"{admin}/users/{emu.users[2].upn}/disable", json={"disabled": False})
    assert emu.users[2].enabled
    assert session.post(f"{admin}/users/nobody@x/revoke").status_code == 404
    assert session.post(f"{admin}/faults", json={"endpoint": "nope"}).status_code == 400
    session.post(f"{admin}/clock", json={"advance": 10})
    assert emu.clock.offset == 10
    session.post(f"{admin}/auto-approve", json={"enabled": False})
    assert emu.settings.auto_approve is False
    session.post(f"{admin}/device-code-interval", data={"seconds": "2"})  # form bodies work too
    assert emu.settings.device_code_interval == 2


def test_short_lifetime_makes_msal_refresh_silently(fresh_emulator):
    """The expiry strategy for tests: MSAL treats a token with < 300 s left as expired."""
    emu = fresh_emulator
    emu.set_token_lifetime(299)
    app = public_app(emu)
    flow = app.initiate_auth_code_flow([f"{GRAPH}/User.Read"], redirect_uri="http://localhost:1",
                                       response_mode="form_post")
    app.acquire_token_by_auth_code_flow(flow, emu.browser().authorize(flow["auth_uri"]))
    emu.reset_stats()
    result = app.acquire_token_silent([f"{GRAPH}/User.Read"], account=app.get_accounts()[0])
    assert result["token_source"] == "identity_provider"
    assert emu.stats()["token:refresh_token"] == 1
    emu.set_token_lifetime(3600)
    app.acquire_token_silent([f"{GRAPH}/User.Read"], account=app.get_accounts()[0])
    result = app.acquire_token_silent([f"{GRAPH}/User.Read"], account=app.get_accounts()[0])
    assert result["token_source"] == "cache"
    assert emu.stats()["token:refresh_token"] == 2


def test_advance_clock_expires_access_tokens_for_the_emulator(fresh_emulator):
    emu = fresh_emulator
    token = emu.mint_access_token(emu.users[0], lifetime=600)
    assert emu.verify_access_token(token)["upn"] == emu.users[0].upn
    emu.advance_clock(601)
    with pytest.raises(TokenRejected, match="expired"):
        emu.verify_access_token(token)


def test_mint_access_token_shapes(emulator):
    user = emulator.mint_access_token(emulator.users[0].upn, ("https://outlook.office.com/IMAP.AccessAsUser.All",
                                                              "https://outlook.office.com/SMTP.Send"))
    header = jwt.get_unverified_header(user)
    assert header == {"alg": "RS256", "kid": emulator.kid, "typ": "JWT"}
    claims = emulator.verify_access_token(user)
    assert claims["aud"] == "https://outlook.office.com" and claims["scp"] == "IMAP.AccessAsUser.All SMTP.Send"
    # Entra's v1 shape for Microsoft's own resources: upn/unique_name and appid, no azp/preferred_username
    assert {"iss", "tid", "oid", "sub", "upn", "unique_name", "appid", "iat", "nbf", "exp"} <= set(claims)
    assert claims["ver"] == "1.0" and claims["iss"] == f"https://sts.windows.net/{emulator.tenant_id}/"
    assert not {"azp", "preferred_username"} & set(claims)
    app = emulator.verify_access_token(emulator.mint_access_token(None, (f"{GRAPH}/.default",),
                                                                  client_id=SECRET_CLIENT_ID))
    assert app["idtyp"] == "app" and "Mail.Send" in app["roles"] and "upn" not in app
    custom = emulator.verify_access_token(emulator.mint_access_token(emulator.users[0], roles=["x"]))
    assert custom["roles"] == ["x"]


def test_verify_rejects_foreign_and_tampered_tokens(emulator):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = emulator.mint_access_token(emulator.users[0])
    forged = jwt.encode(jwt.decode(good, options={"verify_signature": False}), key, algorithm="RS256",
                        headers={"kid": emulator.kid})
    with pytest.raises(TokenRejected, match="signature") as info:
        emulator.verify_access_token(forged)
    assert forged not in str(info.value)
    with pytest.raises(TokenRejected, match="kid"):
        emulator.verify_access_token(jwt.encode({"a": 1}, key, algorithm="RS256", headers={"kid": "other"}))
    with pytest.raises(TokenRejected, match="issuer"):
        emulator.verify_access_token(emulator.mint_access_token(emulator.users[0], iss="https://evil/"))
    with pytest.raises(TokenRejected):
        emulator.verify_access_token("not a jwt")


def test_request_log_has_no_secrets(fresh_emulator, caplog):
    emu = fresh_emulator
    with caplog.at_level(logging.DEBUG, logger="netkit_msal.emulator"):
        token = post_token(emu, **CC).json()["access_token"]
        code, verifier = get_code(emu)
        tokens = redeem(emu, code, verifier).json()
    text = caplog.text
    assert "POST /" in text and "-> 200" in text
    for secret in (SECRET_CLIENT_SECRET, token, code, verifier, tokens["refresh_token"], tokens["access_token"]):
        assert secret not in text


def test_persisted_refresh_tokens_survive_a_restart(tmp_path):
    from netkit_msal.emulator import Emulator

    with Emulator(tmp_path, persist=True) as emu:
        code, verifier = get_code(emu)
        refresh = redeem(emu, code, verifier).json()["refresh_token"]
        port = emu.port
    with Emulator(tmp_path, persist=True, port=port) as emu:
        answer = post_token(emu, grant_type="refresh_token", refresh_token=refresh, scope=f"{GRAPH}/User.Read")
        assert answer.ok, answer.text
        assert emu.verify_access_token(answer.json()["access_token"])["upn"] == emu.users[0].upn
    with Emulator(tmp_path) as emu:  # not persisted: a fresh identity state
        answer = post_token(emu, grant_type="refresh_token", refresh_token=refresh, scope=f"{GRAPH}/User.Read")
        assert answer.json()["error_codes"] == [9002313]


def test_concurrent_clients(emulator):
    from concurrent.futures import ThreadPoolExecutor

    def fetch(_):
        session = session_for(emulator)
        return [post_token(emulator, **CC).status_code for _ in range(3)] + \
            [session.get(f"{emulator.authority}/discovery/v2.0/keys").status_code]

    with ThreadPoolExecutor(16) as pool:
        results = [code for codes in pool.map(fetch, range(32)) for code in codes]
    assert results == [200] * len(results)
