"""Web APIs calling other APIs as their caller: the OAuth 2.0 on-behalf-of flow (a JWT bearer grant).

The API exchanges the access token it was called with (the user assertion, whose audience is the API itself)
for a token to a downstream API, through MSAL's ``acquire_token_on_behalf_of``. The provider keeps the results
per assertion, as MSAL .NET and Java do (MSAL Python leaves this to the application).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from . import check, msal_errors


def acquire(app: Any, user_assertion: str, scopes: Sequence[str], *,
            claims: Optional[str] = None) -> dict[str, Any]:
    """The downstream token for ``scopes`` on behalf of the assertion's user."""
    with msal_errors("on-behalf-of"):
        result = app.acquire_token_on_behalf_of(user_assertion, list(scopes), claims_challenge=claims)
    return check(result, "on-behalf-of")
