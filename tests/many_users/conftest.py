"""Many users through one provider, against the session's emulator (knobs restored around each test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netkit_msal import OAuth2Provider, Token
from netkit_msal.emulator import SECRET_CLIENT_ID, SECRET_CLIENT_SECRET

WEB_REDIRECT = "https://app.contoso.example/auth/callback"


@pytest.fixture
def emu(emulator: Any) -> Iterator[Any]:
    emulator.set_token_lifetime(3600)
    emulator.set_auto_approve(True)
    emulator.clear_faults()
    emulator.reset_stats()
    yield emulator
    emulator.set_token_lifetime(3600)
    emulator.set_auto_approve(True)
    emulator.set_device_code_interval(5)
    emulator.clear_faults()


def web_params(emu: Any, **overrides: Any) -> dict[str, Any]:
    """A web app's provider: the confidential app, a redirect URI the app itself receives, no loginHint."""
    return emu.params(cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                      permission="signedIn", redirectURI=WEB_REDIRECT, loginHint=None, **overrides)


def web_sign_in(emu: Any, provider: OAuth2Provider, upn: str) -> Token:
    """What a web app does for one user: the authorization URL, the browser's form_post back, the code redeemed."""
    url = provider.get_authorization_url(login_hint=upn)
    return provider.complete_authorization(emu.browser(upn).authorize(url))


@pytest.fixture
def web(emu: Any) -> Iterator[OAuth2Provider]:
    with OAuth2Provider(web_params(emu)) as provider:
        yield provider
