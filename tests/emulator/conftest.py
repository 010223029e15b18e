"""Helpers for the emulator's own tests: MSAL apps that trust the emulator, fresh emulators."""

from __future__ import annotations

from typing import Any

import msal
import pytest
import requests

from netkit_msal.emulator import Emulator


def session_for(emu: Emulator) -> requests.Session:
    """REQUESTS_CA_BUNDLE is set on these machines: only trust_env=False makes requests use our CA."""
    session = requests.Session()
    session.trust_env = False
    session.verify = emu.ca_file
    return session


def public_app(emu: Emulator, **kw: Any) -> msal.PublicClientApplication:
    from netkit_msal.emulator import PUBLIC_CLIENT_ID

    return msal.PublicClientApplication(PUBLIC_CLIENT_ID, authority=kw.pop("authority", emu.authority),
                                        http_client=session_for(emu), instance_discovery=False, **kw)


def confidential_app(emu: Emulator, client_id: str, credential: Any, **kw: Any) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id, client_credential=credential, authority=emu.authority,
                                              http_client=session_for(emu), instance_discovery=False, **kw)


@pytest.fixture(scope="session")
def fresh_state_dir(tmp_path_factory):
    """One state folder for all fresh emulators: keys are generated once."""
    return tmp_path_factory.mktemp("emu-fresh")


@pytest.fixture
def fresh_emulator(fresh_state_dir):
    """An emulator of its own, for tests that turn knobs (shares no state with the session emulator)."""
    with Emulator(state_dir=fresh_state_dir) as emu:
        yield emu


@pytest.fixture
def http(emulator) -> requests.Session:
    return session_for(emulator)


def pkce_pair() -> tuple[str, str]:
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(emu: Emulator, *, client_id: str = "", scope: str = "https://graph.microsoft.com/User.Read",
                  redirect_uri: str = "http://localhost:5000", challenge: str = "", **extra: str) -> str:
    from urllib.parse import urlencode

    from netkit_msal.emulator import PUBLIC_CLIENT_ID

    params = {"client_id": client_id or PUBLIC_CLIENT_ID, "response_type": "code", "redirect_uri": redirect_uri,
              "scope": f"{scope} offline_access openid profile", "state": "st", "nonce": "n0", "client_info": "1"}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return f"{emu.authority}/oauth2/v2.0/authorize?{urlencode(params)}"


def get_code(emu: Emulator, **kw: Any) -> tuple[str, str]:
    """(code, verifier) from an auto-approved sign-in at the emulator."""
    verifier, challenge = pkce_pair()
    answer = emu.browser().authorize(authorize_url(emu, challenge=challenge, **kw))
    assert "code" in answer, answer
    return answer["code"], verifier


def post_token(emu: Emulator, **form: str) -> requests.Response:
    from netkit_msal.emulator import PUBLIC_CLIENT_ID

    form.setdefault("client_id", PUBLIC_CLIENT_ID)
    return session_for(emu).post(emu.token_endpoint, data=form)


def redeem(emu: Emulator, code: str, verifier: str, redirect_uri: str = "http://localhost:5000",
           scope: str = "https://graph.microsoft.com/User.Read offline_access openid profile",
           **form: str) -> requests.Response:
    return post_token(emu, grant_type="authorization_code", code=code, code_verifier=verifier,
                      redirect_uri=redirect_uri, scope=scope, client_info="1", **form)


def assert_entra_error(response: requests.Response, error: str, code: int, status: int = 400) -> dict:
    """Entra's error shape: error, 'AADSTSnnn: ...' description, error_codes, timestamp, trace and correlation ids."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == error, body
    assert body["error_codes"] == [code], body
    assert body["error_description"].startswith(f"AADSTS{code}: "), body
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    return body
