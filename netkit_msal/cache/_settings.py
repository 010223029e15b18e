"""The ``cache`` parameter: checked once and turned into frozen :class:`CacheSettings`.

Its own module because both the parameter object (``_config``) and the stores need these settings: the
parameter object imports this module, the stores import only the settings type, and nothing here imports
the parameter object, so the three no longer import each other in a circle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from .._exceptions import ConfigError
from .._suggest import suggest_key

_FILE_KEYS = ("path", "allowUnencrypted")
_REDIS_KEYS = ("redis", "prefix", "encryptionKey")


@dataclass(frozen=True)
class CacheSettings:
    """The validated ``cache`` parameter.

    ``kind`` is "memory", "file" or "redis". For "file", ``path`` is the token cache file (None:
    ``<default folder>/<name>.bin``) and ``allow_unencrypted`` says whether a plaintext owner-only
    file is acceptable where the platform offers no encryption. For "redis": ``redis_url``,
    ``prefix`` of every key, and ``encryption_key`` (never shown by repr).
    """

    kind: str = "file"
    path: Optional[str] = None
    allow_unencrypted: bool = False
    redis_url: Optional[str] = None
    prefix: str = "netkit-msal"
    encryption_key: Optional[str] = field(default=None, repr=False)


_MIN_KEY_LENGTH = 32


def validate_cache_param(value: Any) -> CacheSettings:
    """Check the 4D-style ``cache`` parameter (None, True, False or a dict) and return settings.

    Raises ConfigError naming ``cache`` or ``cache.<key>``.
    """
    if isinstance(value, CacheSettings):
        return value
    if value is None or value is True:
        return CacheSettings()
    if value is False:
        return CacheSettings(kind="memory")
    if not isinstance(value, dict):
        raise ConfigError(
            "cache must be false (memory only), omitted (per-user persistent cache) or an object "
            f'such as {{"path": "...", "allowUnencrypted": true}}, not {type(value).__name__}',
            key="cache",
            code=10,
        )
    for key in value:
        if not isinstance(key, str) or key not in _FILE_KEYS + _REDIS_KEYS:
            suggestion = suggest_key(str(key), _FILE_KEYS + _REDIS_KEYS)
            hint = f' (did you mean "{suggestion}"?)' if suggestion else ""
            raise ConfigError(
                f'cache.{key} is not a known key{hint}; known keys: {", ".join(_FILE_KEYS + _REDIS_KEYS)}',
                key=f"cache.{key}",
                suggestion=suggestion,
            )
    if any(key in value for key in _REDIS_KEYS):
        return _redis_settings(value)
    path = value.get("path")
    if path is not None:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        _require_text(path, "cache.path", "a file path")
        path = os.path.abspath(os.path.expandvars(os.path.expanduser(path)))
    allow = value.get("allowUnencrypted", False)
    if not isinstance(allow, bool):
        raise ConfigError(
            f"cache.allowUnencrypted must be true or false, not {type(allow).__name__}",
            key="cache.allowUnencrypted",
            code=10,
        )
    return CacheSettings(kind="file", path=path, allow_unencrypted=allow)


def _redis_settings(value: dict[str, Any]) -> CacheSettings:
    for file_key in _FILE_KEYS:
        if file_key in value:
            raise ConfigError(
                f"cache.{file_key} is for a file cache and cannot be combined with cache.redis", key=f"cache.{file_key}"
            )
    if "redis" not in value:
        raise ConfigError("cache.redis (a redis:// URL) is required with prefix/encryptionKey", key="cache.redis",
                          code=2)
    url = value["redis"]
    _require_text(url, "cache.redis", "a URL such as redis://host:6379/0")
    if urlsplit(url).scheme.lower() not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"cache.redis must be a redis://, rediss:// or unix:// URL, not {redacted_url(url)!r}", key="cache.redis"
        )
    prefix = value.get("prefix", "netkit-msal")
    _require_text(prefix, "cache.prefix", "a key prefix")
    key = value.get("encryptionKey")
    if key is None:
        raise ConfigError(
            "cache.encryptionKey is required with cache.redis: a shared Redis is not a private disk. Make one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"` and give every worker the same',
            key="cache.encryptionKey",
            code=2,
        )
    _require_text(key, "cache.encryptionKey", "a secret text")
    if len(key) < _MIN_KEY_LENGTH:
        raise ConfigError(
            f"cache.encryptionKey is too short: use at least {_MIN_KEY_LENGTH} random characters "
            '(`python -c "import secrets; print(secrets.token_urlsafe(32))"`)',
            key="cache.encryptionKey",
        )
    try:
        import redis  # noqa: F401 - an optional extra: say so at configuration time
    except ImportError:
        raise ConfigError(
            "cache.redis needs the redis package: pip install 'netkit-msal[redis]'", key="cache.redis"
        ) from None
    return CacheSettings(kind="redis", redis_url=url, prefix=prefix, encryption_key=key)


def _require_text(value: Any, key: str, what: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a text ({what}), not {type(value).__name__}", key=key, code=10)
    if not value.strip():
        raise ConfigError(f"{key} is empty", key=key, code=9)


def redacted_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + netloc, parts.path, parts.query, parts.fragment))

