"""With auto_approve=False a person picks an account and consents on the emulator's sign-in page."""

from __future__ import annotations

import jwt
import pytest

from netkit_msal.emulator import GRAPH, Emulator

from .conftest import authorize_url, public_app, session_for


@pytest.fixture
def manual_emulator(fresh_state_dir):
    with Emulator(state_dir=fresh_state_dir, auto_approve=False) as emu:
        yield emu


def test_sign_in_page_lists_users_and_permissions(manual_emulator):
    emu = manual_emulator
    page = session_for(emu).get(authorize_url(emu, login_hint=emu.users[1].upn), allow_redirects=False)
    assert page.status_code == 200 and 'id="signin"' in page.text
    assert f'value="{emu.users[1].upn}" selected' in page.text
    assert f"{GRAPH}/User.Read" in page.text
    assert "sales@" not in page.text  # shared mailboxes do not sign in


def test_msal_interactive_picks_user_on_page(manual_emulator):
    emu = manual_emulator
    emu.install_browser(emu.users[3].upn)
    result = public_app(emu).acquire_token_interactive([f"{GRAPH}/Mail.Read"], timeout=30)
    assert "access_token" in result, result
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["upn"] == emu.users[3].upn


def test_person_cancels(manual_emulator):
    emu = manual_emulator
    answer = emu.browser(consent=False).authorize(authorize_url(emu))
    assert answer["error"] == "access_denied" and answer["error_description"].startswith("AADSTS65004:")
    assert answer["state"] == "st"


def test_prompt_none_without_session(manual_emulator):
    emu = manual_emulator
    answer = emu.browser().authorize(authorize_url(emu, prompt="none"))
    assert answer["error"] == "login_required"


def test_query_and_fragment_response_modes(emulator):
    browser = emulator.browser()
    assert "code" in browser.authorize(authorize_url(emulator, response_mode="query"))
    assert "code" in browser.authorize(authorize_url(emulator, response_mode="fragment"))
    assert "code" in browser.authorize(authorize_url(emulator, response_mode="form_post"))


def test_prompt_none_with_auto_approve_needs_consent(fresh_emulator):
    emu = fresh_emulator
    browser = emu.browser()
    assert "code" in browser.authorize(authorize_url(emu, prompt="none"))  # admin-consented permission
    answer = browser.authorize(authorize_url(emu, prompt="none", scope=f"{GRAPH}/Files.Read"))
    assert answer["error"] == "consent_required" and answer["error_description"].startswith("AADSTS65001:")
    browser.authorize(authorize_url(emu, scope=f"{GRAPH}/Files.Read"))  # the user consents once
    assert "code" in browser.authorize(authorize_url(emu, prompt="none", scope=f"{GRAPH}/Files.Read"))


def test_pages_escape_request_values(manual_emulator):
    emu = manual_emulator
    evil = '"><script>alert(1)</script>'
    page = session_for(emu).get(authorize_url(emu, state=evil), allow_redirects=False).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    answer = emu.browser(emu.users[0].upn).authorize(authorize_url(emu, state=evil, response_mode="form_post"))
    assert answer["state"] == evil  # carried through the sign-in form and the form_post page intact
