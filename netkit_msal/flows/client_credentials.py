"""Service (app-only) tokens: OAuth 2.0 client credentials with a secret or a certificate.

MSAL looks in its cache first (``acquire_token_for_client`` since msal 1.23), so a valid cached app token
costs no request. The credential itself is given to ``ConfidentialClientApplication`` (see
``Config.client_credential``): a secret is sent in the body, a certificate signs a client assertion JWT whose
header carries the thumbprint (``x5t``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from . import check, msal_errors


def acquire(app: Any, scopes: Sequence[str], *, force_refresh: bool = False,
            claims: Optional[str] = None) -> dict[str, Any]:
    """An app-only token for ``scopes`` (``<resource>/.default``).

    ``force_refresh`` drops the cached ones; a ``claims`` challenge (CAE) is sent and bypasses the cache.
    """
    with msal_errors("client credentials"):
        if force_refresh:  # MSAL refuses force_refresh here: forget the app's tokens instead
            app.remove_tokens_for_client()
        return check(app.acquire_token_for_client(list(scopes), claims_challenge=claims), "client credentials")
