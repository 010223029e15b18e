"""Signed-in tokens with the device code flow: for machines without a browser (SSH, containers).

The user opens the verification page on any device and types the code; the message goes to the
``on_device_code`` callback (default: stderr). Polling stops after 4D's ``timeout``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

from .._exceptions import AuthenticationError, FlowTimeoutError
from . import check, msal_errors

#: What the callback receives: user_code, verification_uri, message, expires_in.
DeviceCodeCallback = Callable[[Mapping[str, Any]], None]
_SHOWN = ("user_code", "verification_uri", "message", "expires_in")


def print_message(info: Mapping[str, Any]) -> None:
    """The default callback: the platform's message ("To sign in, use a web browser to open ...")."""
    print(info.get("message") or f"Open {info['verification_uri']} and enter the code {info['user_code']}",
          file=sys.stderr, flush=True)


def run(app: Any, scopes: Sequence[str], *, timeout: float, on_device_code: Optional[DeviceCodeCallback] = None,
        claims: Optional[str] = None, login_hint: Optional[str] = None) -> dict[str, Any]:
    """Start the flow, show the code, poll until someone signs in (or ``timeout``).

    ``login_hint`` goes with the device authorization request as a request parameter (MSAL's
    ``initiate_device_flow`` fixes the form body, so it travels in the query, which Entra reads for this
    endpoint as it does ``mkt``). Entra's documented parameters end at ``client_id`` and ``scope``, so the hint
    may be ignored there: the caller checks the account that comes back (``flows.check_account``).
    """
    extra = {"params": {"login_hint": login_hint}} if login_hint else {}
    with msal_errors("device code"):
        flow = app.initiate_device_flow(scopes=list(scopes), claims_challenge=claims, **extra)
    if "user_code" not in flow:
        raise AuthenticationError.from_msal(flow, "device code")
    (on_device_code or print_message)({key: flow[key] for key in _SHOWN if key in flow})
    deadline = time.time() + timeout
    with msal_errors("device code"):
        result = app.acquire_token_by_device_flow(
            flow, exit_condition=lambda f: time.time() >= min(deadline, f.get("expires_at", deadline)))
    if result.get("error") in ("authorization_pending", "slow_down"):
        raise FlowTimeoutError(f"device code: nobody signed in within {timeout:g} s")
    return check(result, "device code")
