"""The receiver in a real sign-in: MSAL's auth code flow at the emulator, delivered by its headless browser."""

from __future__ import annotations

import pytest
import requests

from netkit_msal._loopback import RedirectReceiver
from netkit_msal.cache import open_store, validate_cache_param


@pytest.fixture
def app(emulator):
    import msal

    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_file
    params = emulator.params()
    store = open_store(validate_cache_param(False), name="x")
    return msal.PublicClientApplication(
        params["clientId"], authority=emulator.authority, instance_discovery=False, http_client=session,
        token_cache=store.token_cache,
    )


@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")
@pytest.mark.parametrize("response_mode", [None, "form_post"])
def test_sign_in_through_the_receiver(emulator, app, response_mode) -> None:
    browser = emulator.install_browser()
    with RedirectReceiver("http://localhost:0/", state="st-" + str(response_mode), timeout=30) as receiver:
        flow = app.initiate_auth_code_flow(
            ["https://graph.microsoft.com/User.Read"], redirect_uri=receiver.redirect_uri,
            state="st-" + str(response_mode), login_hint=emulator.users[0].upn,
            **({"response_mode": response_mode} if response_mode else {}),
        )
        browser.open(flow["auth_uri"])
        params = receiver.wait()
    assert not browser.errors
    assert params["state"] == flow["state"] and params["code"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result.get("error_description")
    assert result["id_token_claims"]["preferred_username"] == emulator.users[0].upn
