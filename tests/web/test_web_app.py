"""samples/web_app.py end to end: two chromium sessions sign in as two users at once; each sees only its mail."""

from __future__ import annotations

import importlib.util
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from netkit_msal import OAuth2Provider
from netkit_msal.emulator import GRAPH, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET

from .conftest import WAIT, sign_in_at_emulator, wait_for

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "web_app.py"


def _load_sample() -> Any:
    spec = importlib.util.spec_from_file_location("web_app_sample", SAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def web_app(emulator: Any) -> Iterator[tuple[str, OAuth2Provider]]:
    """The sample app served on a free loopback port (threads: requests of both browsers at once)."""
    from werkzeug.serving import make_server

    provider = OAuth2Provider(emulator.params(cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                                              loginHint=None, scope=f"{GRAPH}/Mail.Read"))
    server = make_server("127.0.0.1", 0, _load_sample().create_app(provider), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    emulator.set_auto_approve(False)  # a person picks the account on the emulator's sign-in page
    try:
        yield f"http://127.0.0.1:{server.port}", provider
    finally:
        emulator.set_auto_approve(True)
        server.shutdown()
        thread.join(WAIT)
        provider.close()


def _mail_to_self(emu: Any, upn: str, subject: str) -> None:
    token = emu.mint_access_token(upn, (f"{GRAPH}/Mail.Send",))
    sent = requests.post(f"{emu.url}/v1.0/me/sendMail", verify=emu.ca_file, timeout=WAIT,
                         headers={"Authorization": f"Bearer {token}"},
                         json={"message": {"subject": subject, "body": {"contentType": "text", "content": "hi"},
                                           "toRecipients": [{"emailAddress": {"address": upn}}]}})
    assert sent.status_code == 202, sent.text


def _inbox(driver: Any) -> tuple[str, list[str]]:
    from selenium.webdriver.common.by import By

    wait_for(driver, lambda d: d.find_elements(By.ID, "mails"), "the inbox page")
    return (driver.find_element(By.ID, "user").text,
            [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#mails li.mail")])


def test_two_browsers_sign_in_at_once_and_each_sees_only_its_mail(emulator, chromium, web_app):
    from selenium.webdriver.common.by import By

    base, provider = web_app
    megan, alex = emulator.users[1].upn, emulator.users[2].upn
    marks = {upn: f"For {upn} only {secrets.token_hex(4)}" for upn in (megan, alex)}
    for upn, subject in marks.items():
        _mail_to_self(emulator, upn, subject)
    browsers = {megan: chromium(), alex: chromium()}

    for driver in browsers.values():  # both sign-ins in progress at the same time
        driver.get(base + "/")
        driver.find_element(By.ID, "sign-in").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "signin"), "the emulator's sign-in page")
    for upn, driver in browsers.items():
        sign_in_at_emulator(driver, upn)
    for _ in range(2):  # and again after both are signed in: the cookies keep each browser its own user
        for upn, driver in browsers.items():
            user, subjects = _inbox(driver)
            other = next(u for u in marks if u != upn)
            assert user == upn
            assert marks[upn] in subjects and marks[other] not in subjects, subjects
            driver.get(base + "/inbox")

    assert provider.token is None and provider.username is None  # no user became the app's own

    browsers[megan].find_element(By.ID, "sign-out").click()
    wait_for(browsers[megan], lambda d: d.find_elements(By.ID, "sign-in"), "the signed-out home page")
    browsers[alex].get(base + "/inbox")
    assert _inbox(browsers[alex])[0] == alex  # the other user's session is untouched
    assert [a["username"] for a in provider.accounts()] == [alex]


def test_callback_from_another_browser_is_refused(emulator, chromium, web_app):
    from selenium.webdriver.common.by import By

    base, _ = web_app
    driver = chromium()
    driver.get(base + "/")  # a page of the app, then the identity platform's form_post with another's code
    driver.execute_script(
        "const f = document.createElement('form'); f.method = 'POST'; f.action = arguments[0];"
        "for (const [k, v] of [['state', 'forged'], ['code', 'stolen']]) {"
        "  const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }"
        "document.body.appendChild(f); f.submit();", base + "/auth/callback")
    wait_for(driver, lambda d: "Sign-in failed" in d.title, "the refusal")
    assert "not started in this browser" in driver.find_element(By.TAG_NAME, "body").text
