"""Tokens without the user: from MSAL's cache, refreshed with the cached refresh token when expired.

The provider calls these first with the cache alone, then (to refresh) under ``TokenStore.refresh_lock()``: MSAL
re-reads a persisted cache, so a process that waited for the lock finds the token another process just refreshed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from .._exceptions import InteractionRequiredError
from . import check, msal_errors


def acquire(app: Any, scopes: Sequence[str], account: Mapping[str, Any], *, force_refresh: bool = False,
            claims: Optional[str] = None) -> Optional[dict[str, Any]]:
    """The account's token from the cache or by refresh; None when the user must sign in again.

    A ``claims`` challenge (CAE, conditional access) skips the cached access token and goes with the refresh.
    """
    with msal_errors("silent token"):
        result = app.acquire_token_silent_with_error(list(scopes), account=account, force_refresh=force_refresh,
                                                     claims_challenge=claims)
    if result is None:
        return None
    try:
        return check(result, "silent token")
    except InteractionRequiredError:
        return None


def by_refresh_token(app: Any, refresh_token: str, scopes: Sequence[str]) -> Optional[dict[str, Any]]:
    """Redeem a refresh token from a saved token (4D's ``token`` parameter); None if it is no longer good."""
    with msal_errors("refresh token"):
        result = app.acquire_token_by_refresh_token(refresh_token, list(scopes))
    try:
        return check(result, "refresh token")
    except InteractionRequiredError:
        return None
