"""Where MSAL's token cache and HTTP cache live: memory, a file shared by processes, or Redis.

``validate_cache_param`` turns the ``cache`` parameter into ``CacheSettings``; ``open_store`` turns settings
into a ``TokenStore`` the provider hands to MSAL. Modules: ``_settings`` (the parameter), ``_base`` (the
store interface and the memory store), ``_lock`` (the cross-process lock), ``_http`` (the persisted HTTP
cache), ``_file`` (the file store), ``_fast`` (a new process's token read from the file store's plaintext file
without MSAL, and what that file is) and ``_redis`` (the Redis store). Backends import only the base modules,
never each other; the table below is the one place that knows them all. Only the settings are imported
with the package: checking a parameter object does not load MSAL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._exceptions import CacheError, ConfigError
from .._paths import default_cache_dir
from ._settings import CacheSettings, redacted_url, validate_cache_param

if TYPE_CHECKING:
    from ._base import StoreOpener, TokenStore

__all__ = ["CacheError", "CacheSettings", "TokenStore", "default_cache_dir", "open_store", "redacted_url",
           "validate_cache_param"]


def _open_memory_store(settings: CacheSettings, *, name: str, client_id: str = "") -> TokenStore:
    from ._base import open_memory_store

    return open_memory_store(settings, name=name)


def _open_file_store(settings: CacheSettings, *, name: str, client_id: str = "") -> TokenStore:
    from ._file import open_file_store

    return open_file_store(settings, name=name)


def _open_redis_store(settings: CacheSettings, *, name: str, client_id: str = "") -> TokenStore:
    from ._redis import open_redis_store  # the redis package is an optional extra

    return open_redis_store(settings, name=name, client_id=client_id)


#: ``CacheSettings.kind`` -> the backend that opens it.
BACKENDS: dict[str, StoreOpener] = {
    "memory": _open_memory_store,
    "file": _open_file_store,
    "redis": _open_redis_store,
}


def open_store(settings: CacheSettings, *, name: str, client_id: str = "") -> TokenStore:
    """Open the store the settings describe. ``name`` is the file name (no extension) in the default folder;
    ``client_id`` the app's, which names a Redis store's default key prefix.

    A Redis store connects on first use; its errors are CacheErrors then. A file store never fails for want
    of encryption: it falls back to plaintext or memory (``allowUnencrypted``), with at most one warning; it
    raises CacheError for a folder others could write to or a path that is no regular file.
    """
    opener = BACKENDS.get(settings.kind)
    if opener is None:
        raise ConfigError(f"cache: unsupported cache kind {settings.kind!r}", key="cache")
    return opener(settings, name=name, client_id=client_id)


def __getattr__(name: str) -> Any:
    if name == "TokenStore":
        from ._base import TokenStore

        return TokenStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
