"""The store interface: what the provider hands to MSAL (a token cache, an HTTP cache) and a refresh lock.

Its own module so that every backend (memory, file, Redis) depends on this small base and on nothing of
each other; ``open_store`` in ``cache/__init__`` chooses among them from one table.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from typing import Any, Optional, Protocol

import msal

from ._http import _PersistentHttpCache
from ._lock import _ProcessLock
from ._settings import CacheSettings

log = logging.getLogger("netkit_msal.cache")

#: Seconds a writer waits for another process's write of the token or HTTP cache.
WRITE_LOCK_TIMEOUT = 10.0


class TokenStore:
    """What the provider hands to MSAL: ``token_cache`` and ``http_cache``, plus a refresh lock.

    ``persistent`` and ``encrypted`` say how tokens are kept; ``location`` is the token cache file
    (None in memory); ``description`` is one human line for logs and the CLI (no secrets).
    A backend is a subclass (Redis) or this class given other caches (memory, file).
    """

    def __init__(
        self,
        token_cache: msal.SerializableTokenCache,
        http_cache: MutableMapping[str, Any],
        *,
        description: str,
        location: Optional[str] = None,
        encrypted: bool = False,
        refresh_lock_path: Optional[str] = None,
    ) -> None:
        self.token_cache = token_cache
        self.http_cache = http_cache
        self.description = description
        self.location = location
        self.persistent = location is not None
        self.encrypted = encrypted
        self._refresh_lock = _ProcessLock(refresh_lock_path, purpose="refresh a token")

    def save_http_cache(self) -> None:
        """Write pending HTTP cache entries (discovery documents) to disk; never raises."""
        if isinstance(self.http_cache, _PersistentHttpCache):
            self.http_cache.save()

    def refresh_lock(self, timeout: float = 30.0) -> AbstractContextManager[Any]:
        """Hold this while refreshing, so that one process refreshes and the others reuse its result.

        Threads and processes (file stores) exclude each other. Waits at most ``timeout`` seconds,
        then raises CacheError. Not re-entrant. Costs a few µs when free.
        """
        return self._refresh_lock.hold(timeout)

    def __repr__(self) -> str:
        return f"<TokenStore {self.description}>"


class StoreOpener(Protocol):
    """A backend's entry point: settings and a cache name in, a store out."""

    def __call__(self, settings: CacheSettings, *, name: str, client_id: str = "") -> TokenStore: ...


def memory_store(description: str = "in memory (not persisted)") -> TokenStore:
    """Tokens for this run only (``cache: false``, or the fallback when nothing else can be used)."""
    return TokenStore(msal.SerializableTokenCache(), {}, description=description)


def open_memory_store(settings: CacheSettings, *, name: str) -> TokenStore:
    """The memory backend's opener (``cache: false``)."""
    return memory_store()


_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Log and ``warnings.warn`` ``message`` once per ``key`` for the life of the process."""
    if key in _warned:
        return
    _warned.add(key)
    log.warning("%s", message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)
