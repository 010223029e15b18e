"""Device code flow: auto-approved, approved by a person at /devicelogin, and the polling answers."""

from __future__ import annotations

import re

import pytest

from netkit_msal.emulator import GRAPH, PUBLIC_CLIENT_ID, Emulator

from .conftest import assert_entra_error, post_token, public_app, session_for

USER_READ = f"{GRAPH}/User.Read"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def test_msal_device_flow_auto_approved(emulator):
    app = public_app(emulator)
    flow = app.initiate_device_flow([USER_READ])
    assert flow["verification_uri"] == f"{emulator.url}/devicelogin"
    assert flow["user_code"] in flow["message"]
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == emulator.users[0].upn
    # The poll carried no scope: the emulator remembered it from /devicecode.
    assert result["scope"] == USER_READ


def test_device_flow_remembers_login_hint(emulator):
    session = session_for(emulator)
    started = session.post(f"{emulator.authority}/oauth2/v2.0/devicecode",
                           data={"client_id": PUBLIC_CLIENT_ID, "scope": f"{USER_READ} offline_access openid",
                                 "login_hint": emulator.users[2].upn}).json()
    result = post_token(emulator, grant_type=DEVICE_GRANT, device_code=started["device_code"]).json()
    assert result["id_token"] and result["refresh_token"]
    import jwt

    assert jwt.decode(result["access_token"], options={"verify_signature": False})["upn"] == emulator.users[2].upn


@pytest.fixture
def manual_emulator(fresh_state_dir):
    with Emulator(state_dir=fresh_state_dir, auto_approve=False) as emu:
        yield emu


def test_person_types_the_code_at_devicelogin(manual_emulator):
    emu = manual_emulator
    app = public_app(emu)
    flow = app.initiate_device_flow([USER_READ])
    poll = {"grant_type": DEVICE_GRANT, "device_code": flow["device_code"]}
    assert_entra_error(post_token(emu, **poll), "authorization_pending", 70016)
    assert_entra_error(post_token(emu, **poll), "slow_down", 70016)  # polled again at once

    browser = session_for(emu)
    page = browser.get(flow["verification_uri"])
    assert page.status_code == 200 and 'name="code"' in page.text
    wrong = browser.post(flow["verification_uri"], data={"code": "NOTACODE1"})
    assert wrong.status_code == 400 and "Check the code" in wrong.text
    picker = browser.post(flow["verification_uri"], data={"code": flow["user_code"].lower()})
    assert picker.status_code == 200 and emu.users[3].upn in picker.text
    done = browser.post(flow["verification_uri"], data={"code": flow["user_code"], "user": emu.users[3].upn,
                                                        "consent": "yes", "action": "accept"})
    assert done.status_code == 200 and "You have signed in" in done.text

    result = app.acquire_token_by_device_flow(flow)
    assert result.get("id_token_claims", {}).get("preferred_username") == emu.users[3].upn, result
    # A device code works once.
    assert_entra_error(post_token(emu, **poll), "invalid_grant", 54005)


def test_person_declines(manual_emulator):
    emu = manual_emulator
    flow = public_app(emu).initiate_device_flow([USER_READ])
    session_for(emu).post(flow["verification_uri"], data={"code": flow["user_code"], "user": emu.users[0].upn,
                                                          "action": "cancel"})
    response = post_token(emu, grant_type=DEVICE_GRANT, device_code=flow["device_code"])
    assert_entra_error(response, "authorization_declined", 70000)


def test_device_code_expires(manual_emulator):
    emu = manual_emulator
    flow = public_app(emu).initiate_device_flow([USER_READ])
    emu.advance_clock(901)
    assert_entra_error(post_token(emu, grant_type=DEVICE_GRANT, device_code=flow["device_code"]),
                       "expired_token", 70019)
    page = session_for(emu).post(flow["verification_uri"], data={"code": flow["user_code"]})
    assert page.status_code == 400 and re.search("expired", page.text)


def test_devicecode_errors(emulator):
    session = session_for(emulator)
    url = f"{emulator.authority}/oauth2/v2.0/devicecode"
    assert_entra_error(session.post(url, data={"client_id": "nobody", "scope": USER_READ}),
                       "unauthorized_client", 700016)
    assert_entra_error(session.post(url, data={"client_id": PUBLIC_CLIENT_ID, "scope": f"{GRAPH}/Bogus"}),
                       "invalid_scope", 70011)


def test_device_code_interval_knob(manual_emulator):
    manual_emulator.set_device_code_interval(1)
    flow = public_app(manual_emulator).initiate_device_flow([USER_READ])
    assert flow["interval"] == 1


def test_devicelogin_for_an_auto_approved_code(emulator):
    flow = public_app(emulator).initiate_device_flow([USER_READ])
    page = session_for(emulator).post(flow["verification_uri"], data={"code": flow["user_code"]})
    assert page.status_code == 200 and "automatically" in page.text
