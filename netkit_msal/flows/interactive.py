"""Which sign-in a provider runs when no silent token exists, and running it (with the device code fallback).

Service providers use client credentials. For a user, ``flow`` decides when given; otherwise the browser (a
confidential app, or ``browserAutoOpen: false``, or a loopback redirect with a graphical browser), else the device
code. A browser that fails to open falls back to the device code unless the flow was chosen explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional

from .._config import is_loopback_redirect
from .._exceptions import ConfigError
from . import browser, device_code

if TYPE_CHECKING:
    from .._config import Config
    from .browser import PendingSignIn
    from .device_code import DeviceCodeCallback

log = logging.getLogger("netkit_msal")

FlowKind = Literal["client_credentials", "browser", "deviceCode"]

#: The OAuth 2.0 ``grant_type`` each flow redeems at the token endpoint (RFC 6749, RFC 8628).
GRANT_TYPES: dict[str, str] = {
    "client_credentials": "client_credentials",
    "browser": "authorization_code",
    "deviceCode": "urn:ietf:params:oauth:grant-type:device_code",
}


def flow_kind(config: Config) -> FlowKind:
    """"client_credentials", "browser" or "deviceCode" for this configuration."""
    if config.permission == "service":
        return "client_credentials"
    if config.flow == "browser":
        return "browser"
    if config.flow == "deviceCode":
        return "deviceCode"
    if config.confidential or not config.browser_auto_open:
        return "browser"
    return "browser" if is_loopback_redirect(config.redirect_uri) and browser.browser_available() else "deviceCode"


def grant_type(config: Config) -> str:
    """The grant the provider's token requests use (4D's ``grantType``); see :data:`GRANT_TYPES`."""
    return GRANT_TYPES[flow_kind(config)]


def prepare(app: Any, config: Config, scopes: Sequence[str], claims: Optional[str],
            pending: Optional[PendingSignIn]) -> Optional[PendingSignIn]:
    """The browser sign-in :func:`run` will wait on, bound before the wait so that its URL can be shown at once:
    ``pending`` if it covers ``scopes``, else a new one (``pending`` closed). None for the device code flow."""
    if flow_kind(config) != "browser" or not is_loopback_redirect(config.redirect_uri):
        if pending is not None:
            pending.close()
        return None
    if pending is not None and not claims and set(pending.flow.get("scope") or ()) >= set(scopes):
        return pending
    if pending is not None:
        pending.close()
    return browser.start(app, config, scopes, claims)


def run(app: Any, config: Config, scopes: Sequence[str], *, claims: Optional[str] = None,
        pending: Optional[PendingSignIn] = None,
        on_device_code: Optional[DeviceCodeCallback] = None) -> dict[str, Any]:
    """Sign the user in (browser or device code) and return MSAL's result.

    ``pending`` is a browser sign-in prepared by ``authenticate_uri``: used if it covers ``scopes``, else closed.
    """
    kind = flow_kind(config)
    log.debug("running the %s flow", kind)
    if kind == "deviceCode":
        if pending is not None:
            pending.close()
        return _device_code(app, config, scopes, claims, on_device_code)
    if not is_loopback_redirect(config.redirect_uri):
        if pending is not None:
            pending.close()
        raise ConfigError(
            f"redirectURI {config.redirect_uri!r} is not on this machine, so get_token() cannot receive "
            "the sign-in: web apps use get_authorization_url() and complete_authorization()",
            key="redirectURI")
    if pending is not None and not claims and set(pending.flow.get("scope") or ()) >= set(scopes):
        log.debug("using the sign-in prepared by authenticate_uri")
    else:
        if pending is not None:
            pending.close()
        pending = browser.start(app, config, scopes, claims)
    if config.browser_auto_open and not browser.open_browser(pending):
        if config.flow is None and not config.confidential:
            log.debug("no browser could be opened: device code flow instead")
            pending.close()
            return _device_code(app, config, scopes, claims, on_device_code)
        browser.show_url(pending)
    return browser.finish(app, pending)


def _device_code(app: Any, config: Config, scopes: Sequence[str], claims: Optional[str],
                 on_device_code: Optional[DeviceCodeCallback]) -> dict[str, Any]:
    return device_code.run(app, scopes, timeout=config.timeout, on_device_code=on_device_code, claims=claims,
                           login_hint=config.login_hint)

