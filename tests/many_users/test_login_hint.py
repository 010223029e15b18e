"""loginHint is honoured by every flow, and the account that signs in is compared with it; reading the provider
never waits on a sign-in in progress."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
import requests

from netkit_msal import AuthenticationError, OAuth2Provider, Token
from netkit_msal._token import _decode_jwt_claims

from .conftest import web_params

BOUND = 60  # seconds: generous bounds on waits for events, never a timing assertion


def _manual_sign_in(emu: Any, info: dict[str, Any], user: str) -> str:
    """A person at the emulator's /devicelogin page: types the code, picks ``user``, consents. The picker's HTML."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = emu.ca_file
        url = info["verification_uri"]
        picker = session.post(url, data={"code": info["user_code"]}, timeout=BOUND).text
        session.post(url, data={"code": info["user_code"], "user": user, "consent": "yes", "action": "accept"},
                     timeout=BOUND).raise_for_status()
    return picker


def test_device_code_sends_login_hint_and_the_emulator_approves_that_user(emu):
    emu.set_device_code_interval(1)
    shown: list[dict[str, Any]] = []
    adele, megan = emu.users[0].upn, emu.users[1].upn
    provider = OAuth2Provider(emu.params(cache=False, flow="deviceCode", loginHint=megan), on_device_code=shown.append)
    assert provider.get_token().username == megan and shown
    control = OAuth2Provider(emu.params(cache=False, flow="deviceCode", loginHint=None), on_device_code=shown.append)
    assert control.get_token().username == adele  # without the hint the emulator would have approved adele


def test_device_code_page_preselects_the_hint_and_another_user_is_an_error(emu):
    emu.set_device_code_interval(1)
    emu.set_auto_approve(False)
    adele, megan = emu.users[0].upn, emu.users[1].upn
    pickers: list[str] = []

    def person_signs_in_as_adele(info: Any) -> None:
        pickers.append(_manual_sign_in(emu, dict(info), adele))

    provider = OAuth2Provider(emu.params(cache=False, flow="deviceCode", loginHint=megan),
                              on_device_code=person_signs_in_as_adele)
    with pytest.raises(AuthenticationError) as caught:
        provider.get_token()
    message = str(caught.value)
    assert adele in message and f"loginHint asked for {megan}" in message
    assert f'value="{megan}" selected' in pickers[0]  # the hint reached the sign-in page
    assert provider.token is None and provider.username is None


def test_browser_sign_in_as_another_user_is_an_error(emu):
    emu.set_auto_approve(False)
    adele, megan = emu.users[0].upn, emu.users[1].upn
    emu.install_browser(user=adele)  # the person picks adele on the sign-in page
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", loginHint=megan))
    with pytest.raises(AuthenticationError, match=f"{adele} signed in, but loginHint asked for {megan}"):
        provider.get_token()
    assert provider.token is None
    emu.install_browser(user=megan)
    assert provider.get_token().username == megan


def test_web_app_sign_in_as_another_user_than_the_hint_is_an_error(emu):
    emu.set_auto_approve(False)
    adele, megan = emu.users[0].upn, emu.users[1].upn
    provider = OAuth2Provider(web_params(emu))
    url = provider.get_authorization_url(login_hint=megan)
    with pytest.raises(AuthenticationError, match="loginHint asked for"):
        provider.complete_authorization(emu.browser(adele).authorize(url))
    assert provider.accounts() == [] or all(a["username"] != megan for a in provider.accounts())


def test_cli_username_is_the_account_signed_in(emu, tmp_path):
    emu.set_device_code_interval(1)
    megan = emu.users[1].upn
    path = tmp_path / "params.json"
    path.write_text(json.dumps(emu.params(cache=False)))
    env = {**os.environ, "NETKIT_MSAL_CACHE_DIR": str(tmp_path / "user-cache")}
    done = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "token", "--device-code", "--username", megan,
                           "--params", str(path)], capture_output=True, text=True, timeout=BOUND * 2, env=env,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stderr
    assert _decode_jwt_claims(done.stdout.strip())["upn"] == megan


class _FlowStarted(logging.Handler):
    """Set when the provider announces it is running a sign-in flow (it then waits for the redirect)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.started = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("running the browser flow"):
            self.started.set()


def test_reading_the_provider_never_waits_on_a_sign_in_in_progress(emu):
    megan = emu.users[1].upn
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", loginHint=megan, browserAutoOpen=False,
                                         timeout=BOUND * 2))
    handler = _FlowStarted()
    logger = logging.getLogger("netkit_msal")
    logger.addHandler(handler)
    got: list[Token] = []
    waiting = threading.Thread(target=lambda: got.append(provider.get_token()), daemon=True)
    try:
        waiting.start()
        assert handler.started.wait(BOUND), "get_token() never started its sign-in"
        read: dict[str, Any] = {}

        def read_members() -> None:
            read["uri"], read["token"], read["username"] = (provider.authenticate_uri, provider.token,
                                                            provider.username)

        reader = threading.Thread(target=read_members, daemon=True)
        reader.start()
        reader.join(BOUND)
        assert not reader.is_alive(), "reading authenticate_uri waited on the sign-in in progress"
        assert read["token"] is None and read["username"] is None
        emu.browser().visit(read["uri"])  # the URL read is the one get_token() waits on: signing in there ends it
        waiting.join(BOUND)
        assert not waiting.is_alive() and got[0].username == megan
    finally:
        logger.removeHandler(handler)
        provider.close()
