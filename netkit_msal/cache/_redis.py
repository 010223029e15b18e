"""The Redis store: a token cache and refresh lock shared by workers on several machines (issue 9).

Its own module because only fleets need it (the redis package is an optional extra, imported lazily).

Layout, under ``<prefix>:``:
- ``p:<partition>``: a hash {``v``: version, ``data``: encrypted JSON of MSAL entries}. Partitions follow
  MSAL's advice for distributed caches: ``app:<client_id>`` for app-only tokens, ``user:<home_account_id>``
  for an account's tokens; ``directory`` holds the small account records and app metadata, so listing
  accounts loads no token. A search that names an account (or asks for app tokens) loads only that
  partition; the rare one that names neither loads them all.
- ``partitions``: the set of partition names. ``lock:refresh`` / ``lock:fence``: the refresh lock.

Values are AES-GCM encrypted with a key derived (HKDF-SHA256) from ``encryptionKey``; the Redis key is
the associated data, so an entry cannot be moved to another key. Writes replay MSAL's operations on the
partition's current content inside WATCH/MULTI, so concurrent workers never lose each other's tokens.
Every Redis call has a short time-out: Redis down or slow gives a CacheError, never a hang.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Optional

import msal

from .._exceptions import CacheError
from ._base import TokenStore
from ._http import _PersistentHttpCache
from ._lock import _ProcessLock
from ._settings import CacheSettings, redacted_url

log = logging.getLogger("netkit_msal.cache")

_SOCKET_TIMEOUT = 2.0
_FORMAT = b"nk1"
_ALL = None  # "every partition"
_ACQUIRE = """
local token = redis.call('incr', KEYS[2]) .. ':' .. ARGV[1]
if redis.call('set', KEYS[1], token, 'NX', 'PX', ARGV[2]) then return token end
return false
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


def open_redis_store(settings: CacheSettings, *, name: str) -> RedisTokenStore:
    """Connect lazily (the first cache access connects); ``name`` is unused: ``prefix`` separates caches."""
    import redis

    assert settings.redis_url and settings.encryption_key
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=_SOCKET_TIMEOUT,
        socket_connect_timeout=_SOCKET_TIMEOUT,
        retry_on_timeout=False,
    )
    crypto = _Crypto(settings.encryption_key, settings.prefix)
    where = f"redis {redacted_url(settings.redis_url)} prefix {settings.prefix!r}"
    http_cache = _PersistentHttpCache(_RedisHttp(client, f"{settings.prefix}:http", crypto, where))
    return RedisTokenStore(
        _RedisTokenCache(client, settings.prefix, crypto, where), http_cache, client, settings.prefix, where
    )


class RedisTokenStore(TokenStore):
    """A TokenStore on Redis. ``lock_ttl``: seconds after which a crashed holder's refresh lock expires."""

    lock_ttl: float = 20.0

    def __init__(
        self, token_cache: _RedisTokenCache, http_cache: _PersistentHttpCache, client: Any, prefix: str, where: str
    ) -> None:
        super().__init__(
            token_cache, http_cache, description=f"{where} (AES-GCM encrypted, partitioned per app and account)"
        )
        self.persistent = True
        self.encrypted = True
        self._client = client
        self._where = where
        self._lock_key = f"{prefix}:lock:refresh"
        self._fence_key = f"{prefix}:lock:fence"
        self._threads = _ProcessLock(None, purpose="refresh a token")
        self.fence: Optional[int] = None  # the fencing number of the lock this process holds, if any

    def refresh_lock(self, timeout: float = 30.0) -> _RedisHolding:
        """One refresher across every worker: SET NX PX with a fencing number; bounded wait (CacheError)."""
        return _RedisHolding(self, timeout)

    def _acquire(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        self._threads._acquire(timeout)
        try:
            with _redis_errors(self._where):
                me = f"{os.getpid()}:{secrets.token_hex(8)}"
                ttl_ms = max(1, int(self.lock_ttl * 1000))
                delay = 0.002
                while True:  # one round trip per attempt: a new fencing number, then SET NX PX
                    token = self._client.eval(_ACQUIRE, 2, self._lock_key, self._fence_key, me, ttl_ms)
                    if token:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        holder = self._client.get(self._lock_key)
                        who = holder.decode("ascii", "replace").split(":")[1] if holder else "?"
                        raise CacheError(
                            f"waited {timeout:g} s to refresh a token but another worker (process {who}) holds the "
                            f"refresh lock in {self._where}; it expires {self.lock_ttl:g} s after its holder took it"
                        )
                    time.sleep(min(delay, remaining))
                    delay = min(delay * 2, 0.05)
            token = token.decode("ascii")
            self.fence = int(token.split(":", 1)[0])
            return token
        except BaseException:
            self._threads._release()
            raise

    def _release(self, token: str) -> None:
        """Delete the lock if it is still ours (never a successor's); if Redis is gone, it expires by itself."""
        import redis

        self.fence = None
        try:
            self._client.eval(_RELEASE, 1, self._lock_key, token)
        except redis.RedisError as exc:
            log.warning("netkit-msal: could not release the refresh lock in %s (%s); it expires in %g s",
                        self._where, type(exc).__name__, self.lock_ttl)
        finally:
            self._threads._release()


class _RedisHolding:
    __slots__ = ("_store", "_timeout", "_token")

    def __init__(self, store: RedisTokenStore, timeout: float) -> None:
        self._store = store
        self._timeout = timeout
        self._token = ""

    def __enter__(self) -> None:
        self._token = self._store._acquire(self._timeout)

    def __exit__(self, *exc_info: object) -> None:
        self._store._release(self._token)


@contextlib.contextmanager
def _redis_errors(where: str) -> Iterator[None]:
    """Turn Redis client errors into one CacheError that says where."""
    import redis

    try:
        yield
    except redis.RedisError as exc:
        raise CacheError(f"the token cache in {where} is unavailable: {type(exc).__name__}: {exc}") from None


class _RedisHttp:
    """The fleet's HTTP cache (discovery documents) in one Redis key, so a new worker makes no request.

    Public data, sealed anyway like every value here. Concurrent writers may drop each other's newest
    entry: for a cache, that costs one request, so no lock.
    """

    _TTL = 25 * 3600  # MSAL keeps discovery documents 24 h

    def __init__(self, client: Any, key: str, crypto: _Crypto, where: str) -> None:
        self._client = client
        self._key = key
        self._crypto = crypto
        self.where = f"{where} key {key!r}"

    def read(self) -> Optional[bytes]:
        with _redis_errors(self.where):
            blob = self._client.get(self._key)
        return None if blob is None else self._crypto.open(blob, self._key.encode())

    def locked(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def write(self, data: bytes) -> None:
        with _redis_errors(self.where):
            self._client.set(self._key, self._crypto.seal(data, self._key.encode()), ex=self._TTL)


class _Crypto:
    def __init__(self, key_text: str, prefix: str) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        key = HKDF(hashes.SHA256(), 32, salt=b"netkit-msal redis cache", info=prefix.encode()).derive(key_text.encode())
        self._aead = AESGCM(key)

    def seal(self, data: bytes, where: bytes) -> bytes:
        nonce = os.urandom(12)
        return _FORMAT + nonce + self._aead.encrypt(nonce, data, where)

    def open(self, blob: bytes, where: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        if not blob.startswith(_FORMAT):
            raise CacheError(f"the entry {where.decode()} is not a netkit-msal cache entry")
        try:
            return self._aead.decrypt(blob[3:15], blob[15:], where)
        except InvalidTag:
            raise CacheError(
                f"cannot decrypt {where.decode()}: cache.encryptionKey differs from the key it was written with"
            ) from None


class _RedisTokenCache(msal.SerializableTokenCache):
    """MSAL's token cache over Redis partitions, reloaded per partition when its version moved."""

    def __init__(self, client: Any, prefix: str, crypto: _Crypto, where: str) -> None:
        super().__init__()
        self._client = client
        self._prefix = prefix
        self._crypto = crypto
        self._where = where
        self._parts: dict[str, tuple[int, dict[str, dict[str, dict]]]] = {}  # name -> (version, entries)
        self._pending: dict[str, list[tuple[str, dict, Optional[dict]]]] = {}
        self._batching = False
        self.is_encrypted = True

    # partitions ----------------------------------------------------------------------------------
    def _key(self, partition: str) -> str:
        return f"{self._prefix}:p:{partition}"

    def _partition_of(self, credential_type: str, entry: dict) -> str:
        if credential_type in (self.CredentialType.ACCOUNT, self.CredentialType.APP_METADATA):
            return "directory"
        home = entry.get("home_account_id")
        return f"user:{home}" if home else f"app:{entry.get('client_id', '')}"

    def _needed(self, credential_type: str, query: Optional[dict]) -> Optional[list[str]]:
        if credential_type in (self.CredentialType.ACCOUNT, self.CredentialType.APP_METADATA):
            return ["directory"]
        if query and "home_account_id" in query:
            if query["home_account_id"]:
                return [f"user:{query['home_account_id']}"]
            if "client_id" in query:
                return [f"app:{query['client_id']}"]
        return _ALL

    def _sync(self, partitions: Optional[list[str]]) -> None:
        """Bring the named partitions (None: all) up to date: one round trip when nothing changed."""
        with _redis_errors(self._where):
            if partitions is _ALL:
                partitions = sorted(m.decode() for m in self._client.smembers(f"{self._prefix}:partitions"))
                for gone in set(self._parts) - set(partitions):
                    del self._parts[gone]
            pipe = self._client.pipeline(transaction=False)
            for name in partitions:
                pipe.hget(self._key(name), "v")
            versions = pipe.execute()
            changed = False
            stale = []
            for name, version in zip(partitions, versions):
                if version is None:
                    changed = self._parts.pop(name, None) is not None or changed
                elif self._parts.get(name, (None,))[0] != int(version):
                    stale.append(name)
            if stale:
                pipe = self._client.pipeline(transaction=False)
                for name in stale:
                    pipe.hmget(self._key(name), "v", "data")
                for name, (version, blob) in zip(stale, pipe.execute()):
                    if version is not None:
                        self._parts[name] = (int(version), self._decode(name, blob))
                changed = True
        if changed:
            self._rebuild()

    def _decode(self, name: str, blob: Optional[bytes]) -> dict[str, dict[str, dict]]:
        if not blob:
            return {}
        return json.loads(self._crypto.open(blob, self._key(name).encode()))

    def _rebuild(self) -> None:
        merged: dict[str, dict[str, dict]] = {}
        for _, entries in self._parts.values():
            for credential_type, items in entries.items():
                merged.setdefault(credential_type, {}).update(items)
        self._cache = merged

    # MSAL's cache interface -------------------------------------------------------------------------
    def search(self, credential_type: str, target: Any = None, query: Any = None, *, now: Any = None) -> Iterator[dict]:
        with self._lock:
            if not self._batching:
                self._sync(self._needed(credential_type, query))
            yield from super().search(credential_type, target=target, query=query, now=now)

    def _get_app_metadata(self, environment: str, client_id: str, default: Any = None) -> Any:
        with self._lock:
            self._sync(["directory"])
            return super()._get_app_metadata(environment, client_id, default=default)

    def add(self, event: dict, **kwargs: Any) -> None:
        with self._lock:
            self._batching = True
            try:
                super().add(event, **kwargs)
            finally:
                self._batching = False
            self._commit()

    def modify(self, credential_type: str, old_entry: dict, new_key_value_pairs: Optional[dict] = None) -> None:
        with self._lock:
            super().modify(credential_type, old_entry, new_key_value_pairs)
            partition = self._partition_of(credential_type, old_entry)
            self._pending.setdefault(partition, []).append((credential_type, old_entry, new_key_value_pairs))
            if not self._batching:
                self._commit()

    def _commit(self) -> None:
        """Replay the pending operations on each partition's current content, atomically per partition."""
        import redis

        pending, self._pending = self._pending, {}
        with _redis_errors(self._where):
            for name, operations in pending.items():
                key = self._key(name)
                for _ in range(50):
                    try:
                        with self._client.pipeline(transaction=True) as pipe:
                            pipe.watch(key)
                            version, blob = pipe.hmget(key, "v", "data")
                            entries = self._decode(name, blob)
                            for credential_type, old_entry, new_pairs in operations:
                                entry_key = self.key_makers[credential_type](**old_entry)
                                bucket = entries.setdefault(credential_type, {})
                                if new_pairs:
                                    bucket[entry_key] = dict(old_entry, **new_pairs)
                                else:
                                    bucket.pop(entry_key, None)
                            new_version = int(version or 0) + 1
                            sealed = self._crypto.seal(json.dumps(entries).encode(), key.encode())
                            pipe.multi()
                            pipe.hset(key, mapping={"v": new_version, "data": sealed})
                            pipe.sadd(f"{self._prefix}:partitions", name)
                            pipe.execute()
                        self._parts[name] = (new_version, entries)
                        break
                    except redis.WatchError:
                        continue
                else:
                    raise CacheError(f"the token cache partition {name} in {self._where} kept changing; retry")
        self._rebuild()

