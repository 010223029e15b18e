"""get_token()'s browser flow in a real browser: the emulator's sign-in and form_post pages, then the library's
success or error page served by its redirect receiver."""

from __future__ import annotations

import webbrowser

import pytest

from netkit_msal import CallbackError, OAuth2Provider

from .conftest import WAIT, SeleniumBrowser, install, sign_in_at_emulator, wait_for


@pytest.fixture
def emu(emulator):
    emulator.set_auto_approve(True)
    emulator.reset_stats()
    yield emulator
    emulator.set_auto_approve(True)


@pytest.fixture
def restore_webbrowser():
    tryorder = list(webbrowser._tryorder or [])  # type: ignore[attr-defined]
    yield
    webbrowser._tryorder = tryorder  # type: ignore[attr-defined]


def test_sign_in_through_form_post_lands_on_the_success_page(emu, chromium, restore_webbrowser):
    megan = emu.users[1].upn
    emu.set_auto_approve(False)
    browser = install(SeleniumBrowser(chromium(), then=lambda d: sign_in_at_emulator(d, megan)))
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", loginHint=megan, timeout=WAIT))
    token = provider.get_token()
    assert token.username == megan
    assert "response_mode=form_post" in browser.opened[0]
    assert browser.done.wait(WAIT) and not browser.errors, browser.errors
    wait_for(browser.driver, lambda d: d.title == "Signed in", "the library's success page")
    assert "You are signed in" in browser.driver.page_source
    assert token.access_token not in browser.driver.page_source


def test_cancelled_sign_in_lands_on_the_error_page(emu, chromium, restore_webbrowser):
    emu.set_auto_approve(False)
    browser = install(SeleniumBrowser(chromium(), then=lambda d: sign_in_at_emulator(d, emu.users[1].upn,
                                                                                      accept=False)))
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", loginHint=emu.users[1].upn, timeout=WAIT))
    with pytest.raises(CallbackError) as caught:
        provider.get_token()
    assert caught.value.error == "access_denied"
    assert browser.done.wait(WAIT) and not browser.errors, browser.errors
    wait_for(browser.driver, lambda d: d.title == "Sign-in failed", "the library's error page")
    assert "access_denied" in browser.driver.page_source or "declined" in browser.driver.page_source
