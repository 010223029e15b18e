"""Claims challenges: what a resource's ``WWW-Authenticate`` asks for, as the JSON text MSAL takes.

Continuous access evaluation (a session revoked, a location policy changed) and conditional access step-up
(an authentication context such as ``c1``) answer a valid-looking token with ``401`` and::

    WWW-Authenticate: Bearer realm="", authorization_uri="...", error="insufficient_claims", claims="<base64 JSON>"

The client gets a new token with those claims (``claims_challenge`` in MSAL) and retries once. Parsing lives here
so that the Office365 transport and the msgraph-sdk error mapping read the header the same way.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Optional

#: MSAL client capability saying "this app handles claims challenges": Entra then issues CAE tokens (``xms_cc``).
CLIENT_CAPABILITIES = ["CP1"]

_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*"([^"]*)"')


def _header(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if str(name).lower() == "www-authenticate":
            return str(value)
    return ""


def claims_challenge(headers: Mapping[str, str]) -> Optional[str]:
    """The decoded claims (JSON text) of a Bearer ``insufficient_claims`` challenge, or None.

    Entra encodes the claims in base64 (standard, sometimes unpadded, sometimes URL-safe): all are read. A
    challenge whose claims are not a JSON object is ignored (None), as a plain 401 would be.
    """
    header = _header(headers)
    if not header.lower().lstrip().startswith("bearer"):
        return None
    params = {k.lower(): v for k, v in _PARAM.findall(header)}
    encoded = params.get("claims")
    if not encoded or params.get("error", "insufficient_claims") != "insufficient_claims":
        return None
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        text = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True).decode("utf-8")
        value = json.loads(text)
    except (binascii.Error, ValueError):
        return None
    return text if isinstance(value, dict) else None
