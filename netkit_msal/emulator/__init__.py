"""A local Microsoft 365 emulator: the Microsoft identity platform (Entra ID v2.0) and Graph, on loopback.

``with Emulator() as emu:`` serves HTTPS on a free port with its own CA (``emu.ca_file``); the real
MSAL, azure-identity and msgraph-sdk talk to it as to Entra ID and Graph. ``emu.params()`` gives a
ready 4D parameter object. ``netkit-msal emulator`` runs one from the command line.

Testing token expiry: MSAL counts a cached access token with under 300 s left as expired, using the
real clock. So ``emu.set_token_lifetime(299)`` (or less) makes every later silent call refresh with
the refresh token, and ``acquire_token_silent(..., force_refresh=True)`` refreshes once.
``emu.advance_clock(seconds)`` shifts only the emulator's own notion of now: authorization codes
(600 s), device codes (900 s), refresh tokens (90 days) and access tokens as ``verify_access_token``
(hence Graph) sees them expire, while MSAL's cache still holds them as valid.
"""

from __future__ import annotations

from ._directory import (
                         API_SCOPE,
                         API_URI,
                         CERT_CLIENT_ID,
                         GRAPH,
                         OUTLOOK,
                         OUTLOOK_365,
                         PUBLIC_CLIENT_ID,
                         SECRET_CLIENT_ID,
                         SECRET_CLIENT_SECRET,
)
from ._emulator import Emulator, default_state_dir
from ._http import TokenRejected

__all__ = [
    "Emulator", "TokenRejected", "default_state_dir", "PUBLIC_CLIENT_ID", "SECRET_CLIENT_ID",
    "SECRET_CLIENT_SECRET", "CERT_CLIENT_ID", "GRAPH", "OUTLOOK", "OUTLOOK_365", "API_URI", "API_SCOPE",
]
