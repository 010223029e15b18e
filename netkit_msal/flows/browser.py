"""Signed-in tokens through the user's browser, the redirect received on this machine (4D's signedIn flow).

A :class:`~netkit_msal._loopback.RedirectReceiver` listens on the ``redirectURI``'s host, port and path (port 0:
any free port) before the sign-in URL is built, so the URL carries the real redirect URI. With
``browserAutoOpen: false`` the application opens ``provider.authenticate_uri`` itself and the provider waits.
"""

from __future__ import annotations

import os
import platform
import secrets
import sys
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from .._config import Config
from . import auth_code


@dataclass(repr=False)
class PendingSignIn:
    """A sign-in whose URL exists and whose redirect is awaited (its flow holds the PKCE verifier: no repr)."""

    receiver: Any  # RedirectReceiver
    flow: dict[str, Any]

    def __repr__(self) -> str:
        return f"<PendingSignIn {self.receiver!r}>"

    @property
    def auth_uri(self) -> str:
        return self.flow["auth_uri"]

    def close(self) -> None:
        self.receiver.close()


def start(app: Any, config: Config, scopes: Sequence[str], claims: Optional[str] = None) -> PendingSignIn:
    """Bind the redirect receiver, then build the sign-in URL for its actual redirect URI."""
    from .._loopback import RedirectReceiver

    state = unguessable_state(config.state)
    receiver = RedirectReceiver(config.redirect_uri, state=state, timeout=config.timeout,
                                success_page=config.authentication_page,
                                error_page=config.authentication_error_page)
    try:
        flow = auth_code.start(app, scopes, redirect_uri=receiver.redirect_uri, state=state,
                               prompt=config.prompt, login_hint=config.login_hint, claims=claims)
    except BaseException:
        receiver.close()
        raise
    return PendingSignIn(receiver, flow)


def unguessable_state(app_state: Optional[str]) -> str:
    """The ``state`` the redirect must bring back: the application's ``state`` is no secret (4D apps often fix
    it), so a random part follows it; a page that knows it still cannot answer or abort the sign-in."""
    nonce = secrets.token_urlsafe(24)
    return f"{app_state}.{nonce}" if app_state else nonce


def open_browser(pending: PendingSignIn) -> bool:
    """Open the sign-in URL in the user's browser; False when none could be opened."""
    try:
        return bool(webbrowser.open(pending.auth_uri))
    except webbrowser.Error:
        return False


def show_url(pending: PendingSignIn) -> None:
    """Where no browser opened: tell the user where to sign in."""
    print(f"Open this address in a browser to sign in:\n{pending.auth_uri}", file=sys.stderr, flush=True)


def finish(app: Any, pending: PendingSignIn) -> dict[str, Any]:
    """Wait for the redirect and redeem its code. Always closes the receiver."""
    try:
        params = pending.receiver.wait()
    finally:
        pending.close()
    return auth_code.complete(app, pending.flow, params)


def browser_available() -> bool:
    """Whether a graphical browser can open: false on a Linux/BSD server without a desktop (SSH, containers),
    where ``webbrowser`` would pick a text-mode browser that cannot complete a Microsoft sign-in."""
    if os.name == "posix" and sys.platform != "darwin" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER")
        or "microsoft" in platform.release().lower()  # WSL opens the Windows browser
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True
