"""The HTTP client MSAL is given: the provider's session, with two duties MSAL has no hook for.

- Token answers are checked before MSAL sees them: MSAL caches an answer as soon as it parses it, so an
  ``expires_in`` of ``1e20``, ``Infinity``, ``-5`` or ``"soon"`` would poison the cache for every later process.
  A malformed answer is an AuthenticationError and reaches neither MSAL nor the cache.
- :func:`cache_only`: while it runs, a request raises :class:`RefreshNeeded` instead of going out, so the
  provider can read the cache without the refresh lock and take the lock only when MSAL must refresh.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
from collections.abc import Iterator
from typing import Any

from ._exceptions import AuthenticationError

#: Lifetimes beyond ten years are no token lifetime (Entra issues at most 28 hours).
_MAX_SECONDS = 10 * 365 * 24 * 3600
_SECONDS = ("expires_in", "ext_expires_in", "refresh_in")
_TEXTS = ("access_token", "token_type", "refresh_token", "id_token", "scope", "client_info", "foci")

_cache_only: contextvars.ContextVar[bool] = contextvars.ContextVar("netkit_msal_cache_only", default=False)


class MalformedTokenAnswer(AuthenticationError):
    """A token answer MSAL must not see; ``flows.msal_errors`` prefixes it with the flow's name."""


class RefreshNeeded(Exception):
    """MSAL wanted the network inside :func:`cache_only`: the cache alone cannot answer."""


@contextlib.contextmanager
def cache_only() -> Iterator[None]:
    """Let MSAL answer from its cache only (this thread or task); a request raises RefreshNeeded."""
    reset = _cache_only.set(True)
    try:
        yield
    finally:
        _cache_only.reset(reset)


class MsalHttpClient:
    """MSAL's ``http_client``: ``session``'s get/post/close, token answers checked, :func:`cache_only` obeyed."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def get(self, url: str, *args: Any, **kwargs: Any) -> Any:
        if _cache_only.get():
            raise RefreshNeeded(url)
        return self._session.get(url, *args, **kwargs)

    def post(self, url: str, *args: Any, **kwargs: Any) -> Any:
        if _cache_only.get():
            raise RefreshNeeded(url)
        response = self._session.post(url, *args, **kwargs)
        if response.status_code == 200:
            check_token_answer(response.text)
        return response

    def close(self) -> None:
        self._session.close()


def check_token_answer(text: str) -> None:
    """Raise AuthenticationError if a 200 answer of the identity platform holds malformed token fields.

    Only fields MSAL would store are judged; an answer that is no JSON object is left to MSAL (which fails on it
    before caching anything).
    """
    try:
        answer = json.loads(text)
    except ValueError:
        return
    if not isinstance(answer, dict):
        return
    problem = _problem(answer)
    if problem:
        raise MalformedTokenAnswer(f"the identity platform's token answer is malformed: {problem}; nothing was "
                                   "cached")


def _problem(answer: dict[str, Any]) -> str:
    for name in _SECONDS:
        if name in answer and not _is_seconds(answer[name]):
            return f"{name} is not a number of seconds between 1 and {_MAX_SECONDS}"
    if "access_token" not in answer:
        return ""
    for name in _TEXTS:
        value = answer.get(name)
        if value is not None and not isinstance(value, str):
            return f"{name} must be text, not {type(value).__name__}"
    if not answer["access_token"]:
        return "access_token is empty"
    return ""


def _is_seconds(value: Any) -> bool:
    """An integer count of seconds (AADv1 sends it as text), in range; not a bool, NaN or infinity."""
    if isinstance(value, str):
        text = value.strip()
        if not text.isdecimal() or not text.isascii():
            return False
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return False
    return 1 <= value <= _MAX_SECONDS
