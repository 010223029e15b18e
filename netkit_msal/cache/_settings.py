"""The ``cache`` parameter: checked once and turned into frozen :class:`CacheSettings`.

Its own module because both the parameter object (``_config``) and the stores need these settings: the
parameter object imports this module, the stores import only the settings type, and nothing here imports
the parameter object, so the three no longer import each other in a circle.
"""

from __future__ import annotations

import os
import re
import stat
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
    ``<default folder>/<name>.bin``) and ``allow_unencrypted`` says what to do where the platform offers no
    encryption: True a plaintext owner-only file, False memory only (with a warning), None (absent) a plaintext
    owner-only file with one warning, as the Azure CLI does. For "redis": ``redis_url`` (shown without its
    password), ``prefix`` of every key (None: derived from the client id) and ``encryption_key`` (never shown).
    """

    kind: str = "file"
    path: Optional[str] = None
    allow_unencrypted: Optional[bool] = None
    redis_url: Optional[str] = field(default=None, repr=False)
    prefix: Optional[str] = None
    encryption_key: Optional[str] = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = {"kind": self.kind, "path": self.path, "allow_unencrypted": self.allow_unencrypted,
                 "redis_url": redacted_url(self.redis_url) if self.redis_url else None, "prefix": self.prefix}
        return f"CacheSettings({', '.join(f'{k}={v!r}' for k, v in shown.items() if v is not None)})"

    def key_prefix(self, client_id: str) -> str:
        """The Redis key prefix: the one given, else one per app, so apps that share a Redis never meet."""
        if self.prefix is not None:
            return self.prefix
        return f"netkit-msal:{client_id}" if client_id else "netkit-msal"


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
        _check_cache_path(path)
    allow = value.get("allowUnencrypted")
    if allow is not None and not isinstance(allow, bool):
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
    _check_redis_url(url)
    prefix = value.get("prefix")
    if prefix is not None:
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
    if "\0" in value:
        raise ConfigError(f"{key} contains a NUL character", key=key)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{key} contains a lone surrogate (text that is no valid Unicode)", key=key) from None


def _check_cache_path(path: str) -> None:
    """Refuse at construction what the store would refuse at first use: a path that is no file or folder."""
    try:
        st = os.lstat(path)
    except OSError:
        return  # missing (the store creates it), or not inspectable yet: the store says why
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise ConfigError(f"cache.path {path} is {what}: give a regular file or a folder of your own",
                          key="cache.path")


def _check_redis_url(url: str) -> None:
    """A URL the redis client can use, checked now rather than at the first token (its errors may show it)."""
    bad = (f"cache.redis must be a redis://, rediss:// or unix:// URL such as redis://host:6379/0, "
           f"not {redacted_url(url)!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
    except ValueError as exc:
        raise ConfigError(f"{bad} ({exc})", key="cache.redis") from None
    if parts.scheme.lower() not in ("redis", "rediss", "unix"):
        raise ConfigError(bad, key="cache.redis")
    if parts.scheme.lower() != "unix" and not parts.hostname:
        raise ConfigError(f"{bad} (no host)", key="cache.redis")
    if parts.scheme.lower() == "unix" and not parts.path:
        raise ConfigError(f"{bad} (no socket path)", key="cache.redis")
    if parts.scheme.lower() != "unix" and parts.path.strip("/") and not parts.path.strip("/").isdecimal():
        raise ConfigError(f"{bad} (the path is the database number)", key="cache.redis")
    try:
        from redis.connection import parse_url

        parse_url(url)
    except ImportError:
        return  # said below
    except (ValueError, TypeError) as exc:
        reason = str(exc).replace(url, redacted_url(url))
        raise ConfigError(f"{bad} ({reason})", key="cache.redis") from None


def redacted_url(url: str) -> str:
    """``url`` without its password, for messages (even when it does not parse)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1***@", url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + netloc, parts.path, parts.query, parts.fragment))

