"""The Redis store: a token cache and refresh lock shared by workers on several machines (issue 9).

Its own module because only fleets need it (the redis package is an optional extra, imported lazily).

Layout, under ``<prefix>:``:
- ``p:<partition>``: a hash {``v``: version, ``data``: encrypted JSON of MSAL entries}. Partitions follow
  MSAL's advice for distributed caches: ``app:<client_id>`` for app-only tokens, ``user:<home_account_id>``
  for an account's tokens; ``directory`` holds the small account records and app metadata, so listing
  accounts loads no token. A search that names an account (or asks for app tokens) loads only that
  partition; the rare one that names neither loads them all.
- ``partitions``: the set of partition names. ``lock:refresh`` / ``lock:fence``: the refresh lock.
- ``hw``: a hash {partition: sealed highest version written}, so an older value restored into a partition
  (resurrecting a signed-out account) is refused.

The default prefix is ``netkit-msal:<client id>``: apps sharing a Redis never read each other's keys.
Values are AES-GCM encrypted with a key derived (HKDF-SHA256) from ``encryptionKey``; the Redis key and
the partition's version are the associated data, so an entry cannot be moved to another key or version.
Writes replay MSAL's operations on the partition's current content inside WATCH/MULTI, so concurrent
workers never lose each other's tokens; a write made under the refresh lock carries its fencing number and
is refused once a later holder has written. Every Redis call has a short time-out and is not retried, and
after a time-out the store fails at once for a moment: Redis down or slow gives a CacheError within about
``_SOCKET_TIMEOUT`` seconds, never a hang.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
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
#: The worst refresh a lock holder may be in: three token requests (urllib3 retries a 5xx twice) at the
#: session's default connect + read time-outs (10 + 30 s), and slack. The lock is renewed that long at most.
_WORST_REFRESH = 3 * (10.0 + 30.0) + 5.0
_LEGACY_FORMAT = b"nk1"  # associated data: the key only
_FORMAT = b"nk2"  # associated data: the key and the partition's version
_ALL = None  # "every partition"
_ACQUIRE = """
local token = redis.call('incr', KEYS[2]) .. ':' .. ARGV[1]
if redis.call('set', KEYS[1], token, 'NX', 'PX', ARGV[2]) then return token end
return false
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end
"""


def open_redis_store(settings: CacheSettings, *, name: str, client_id: str = "") -> RedisTokenStore:
    """Connect lazily (the first cache access connects); ``name`` is unused: the prefix separates caches."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    assert settings.redis_url and settings.encryption_key
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=_SOCKET_TIMEOUT,
        socket_connect_timeout=_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 0),  # redis-py retries 10 times by default: 2 s promised would become 20+
    )
    prefix = settings.key_prefix(client_id)
    crypto = _Crypto(settings.encryption_key, prefix)
    where = f"redis {redacted_url(settings.redis_url)} prefix {prefix!r}"
    health = _Health(where)
    http_cache = _PersistentHttpCache(_RedisHttp(client, f"{prefix}:http", crypto, health))
    return RedisTokenStore(_RedisTokenCache(client, prefix, crypto, health), http_cache, client, prefix, health)


class RedisTokenStore(TokenStore):
    """A TokenStore on Redis. ``lock_ttl``: seconds after which a crashed holder's refresh lock expires."""

    lock_ttl: float = 20.0

    def __init__(self, token_cache: _RedisTokenCache, http_cache: _PersistentHttpCache, client: Any, prefix: str,
                 health: _Health) -> None:
        where = health.where
        super().__init__(
            token_cache, http_cache, description=f"{where} (AES-GCM encrypted, partitioned per app and account)"
        )
        self.persistent = True
        self.encrypted = True
        self._client = client
        self._where = where
        self._health = health
        self._cache = token_cache
        self._renewer: Optional[_Renewer] = None
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
            with self._health.call():
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
            self._cache.fence_for(threading.get_ident(), self.fence)
            self._renewer = _Renewer(self._client, self._lock_key, token, ttl_ms)
            return token
        except BaseException:
            self._threads._release()
            raise

    def _release(self, token: str) -> None:
        """Delete the lock if it is still ours (never a successor's); if Redis is gone, it expires by itself."""
        import redis

        self.fence = None
        self._cache.fence_for(None, None)
        if self._renewer is not None:
            self._renewer.stop()
            self._renewer = None
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


class _Renewer:
    """Extends the refresh lock every third of its lifetime while its holder runs, for the worst refresh at most;
    a holder that crashed stops renewing, and the lock expires one lifetime later."""

    def __init__(self, client: Any, key: str, token: str, ttl_ms: int) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(client, key, token, ttl_ms),
                                        name="netkit-msal-lock-renewal", daemon=True)
        self._thread.start()

    def _run(self, client: Any, key: str, token: str, ttl_ms: int) -> None:
        import redis

        until = time.monotonic() + _WORST_REFRESH
        while not self._stop.wait(ttl_ms / 3000) and time.monotonic() < until:
            try:
                if not client.eval(_RENEW, 1, key, token, ttl_ms):
                    return  # lost (expired and taken): the fencing number refuses this holder's writes
            except redis.RedisError:
                return

    def stop(self) -> None:
        self._stop.set()


class _Health:
    """Turns Redis errors into one CacheError that says where; after a time-out, fails at once for a moment.

    One ``get_token`` makes several Redis calls (HTTP cache, token cache, lock): a stalled Redis must cost
    one time-out, not one per call.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self._stalled_until = 0.0

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        import redis

        if time.monotonic() < self._stalled_until:
            raise CacheError(f"the token cache in {self.where} is unavailable: it did not answer within "
                             f"{_SOCKET_TIMEOUT:g} s a moment ago")
        try:
            yield
        except (redis.TimeoutError, redis.ConnectionError) as exc:
            self._stalled_until = time.monotonic() + _SOCKET_TIMEOUT
            raise CacheError(f"the token cache in {self.where} is unavailable: {type(exc).__name__}: {exc}") \
                from None
        except redis.RedisError as exc:
            raise CacheError(f"the token cache in {self.where} is unavailable: {type(exc).__name__}: {exc}") \
                from None


class _RedisHttp:
    """The fleet's HTTP cache (discovery documents) in one Redis key, so a new worker makes no request.

    Public data, sealed anyway like every value here. Concurrent writers may drop each other's newest
    entry: for a cache, that costs one request, so no lock.
    """

    _TTL = 25 * 3600  # MSAL keeps discovery documents 24 h

    def __init__(self, client: Any, key: str, crypto: _Crypto, health: _Health) -> None:
        self._client = client
        self._key = key
        self._crypto = crypto
        self._health = health
        self.where = f"{health.where} key {key!r}"

    def read(self) -> Optional[bytes]:
        with self._health.call():
            blob = self._client.get(self._key)
        return None if blob is None else self._crypto.open(blob, self._key.encode())

    def locked(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def write(self, data: bytes) -> None:
        with self._health.call():
            self._client.set(self._key, self._crypto.seal(data, self._key.encode()), ex=self._TTL)


class _Crypto:
    def __init__(self, key_text: str, prefix: str) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        key = HKDF(hashes.SHA256(), 32, salt=b"netkit-msal redis cache", info=prefix.encode()).derive(key_text.encode())
        self._aead = AESGCM(key)

    def seal(self, data: bytes, where: bytes, version: Optional[int] = None) -> bytes:
        """Encrypt ``data`` bound to ``where`` (its Redis key) and, for partitions, its ``version``."""
        nonce = os.urandom(12)
        return _FORMAT + nonce + self._aead.encrypt(nonce, data, _bound(where, version))

    def open(self, blob: bytes, where: bytes, version: Optional[int] = None) -> bytes:
        from cryptography.exceptions import InvalidTag

        if blob.startswith(_FORMAT):
            associated = _bound(where, version)
        elif blob.startswith(_LEGACY_FORMAT):
            associated = where
        else:
            raise CacheError(f"the entry {where.decode()} is not a netkit-msal cache entry")
        try:
            return self._aead.decrypt(blob[3:15], blob[15:], associated)
        except InvalidTag:
            raise CacheError(
                f"cannot decrypt {where.decode()}: cache.encryptionKey differs from the key it was written with"
            ) from None


def _bound(where: bytes, version: Optional[int]) -> bytes:
    return where if version is None else where + b"#v" + str(version).encode()


class _RedisTokenCache(msal.SerializableTokenCache):
    """MSAL's token cache over Redis partitions, reloaded per partition when its version moved."""

    def __init__(self, client: Any, prefix: str, crypto: _Crypto, health: _Health) -> None:
        super().__init__()
        self._client = client
        self._prefix = prefix
        self._crypto = crypto
        self._health = health
        self._where = health.where
        self._fence: tuple[Optional[int], Optional[int]] = (None, None)  # (thread holding the lock, its fence)
        self._parts: dict[str, tuple[int, dict[str, dict[str, dict]]]] = {}  # name -> (version, entries)
        self._pending: dict[str, list[tuple[str, dict, Optional[dict]]]] = {}
        self._batching = False
        self.is_encrypted = True

    # partitions ----------------------------------------------------------------------------------
    def _key(self, partition: str) -> str:
        return f"{self._prefix}:p:{partition}"

    def fence_for(self, thread: Optional[int], fence: Optional[int]) -> None:
        """The refresh lock's holder (a thread) and its fencing number: that thread's writes carry it."""
        self._fence = (thread, fence)

    def _my_fence(self) -> Optional[int]:
        thread, fence = self._fence
        return fence if thread == threading.get_ident() else None

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
        """Bring the named partitions (None: all) up to date: one round trip when nothing changed.

        A partition that cannot be read (another key, a restored older value) raises CacheError every time,
        never leaves a partial view behind.
        """
        with self._health.call():
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
            fresh: dict[str, tuple[int, dict[str, dict[str, dict]]]] = {}
            if stale:
                pipe = self._client.pipeline(transaction=False)
                pipe.hmget(f"{self._prefix}:hw", *stale)  # first: a write in between only makes the data newer
                for name in stale:
                    pipe.hmget(self._key(name), "v", "data")
                marks, *rows = pipe.execute()
                for name, (version, blob), mark in zip(stale, rows, marks):
                    if version is not None:
                        self._check_not_rolled_back(name, int(version), mark)
                        fresh[name] = (int(version), self._decode(name, blob, int(version)))
        if stale:
            self._parts.update(fresh)
            changed = True
        if changed:
            self._rebuild()

    def _check_not_rolled_back(self, name: str, version: Optional[int], mark: Optional[bytes]) -> int:
        """The highest version of the partition ever written; CacheError if ``version`` is older."""
        highest = self._parts.get(name, (0,))[0]
        if mark is not None:
            highest = max(highest, int(self._crypto.open(mark, f"{self._prefix}:hw:{name}".encode())))
        if version is not None and version < highest:
            raise CacheError(f"the token cache partition {name} in {self._where} holds version {version} but version "
                             f"{highest} was written: an older value was restored (it may bring back a signed-out "
                             "account). Delete the key or restore the newest one")
        return highest

    def _decode(self, name: str, blob: Optional[bytes], version: Optional[int]) -> dict[str, dict[str, dict]]:
        if not blob:
            return {}
        return json.loads(self._crypto.open(blob, self._key(name).encode(), version))

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
        """Replay the pending operations on each partition's current content, atomically per partition.

        A write under the refresh lock carries its fencing number: refused once a later holder has written.
        """
        import redis

        pending, self._pending = self._pending, {}
        fence = self._my_fence()
        marks = f"{self._prefix}:hw"
        with self._health.call():
            for name, operations in pending.items():
                key = self._key(name)
                for _ in range(50):
                    try:
                        with self._client.pipeline(transaction=True) as pipe:
                            pipe.watch(key)
                            mark = pipe.hget(marks, name)  # first: a write in between only makes the data newer
                            version, blob, written_fence = pipe.hmget(key, "v", "data", "f")
                            highest = self._check_not_rolled_back(name, None if version is None else int(version),
                                                                  mark)
                            if fence is not None and written_fence is not None and int(written_fence) > fence:
                                raise CacheError(
                                    f"a refresh that outlived its lock was not saved: another worker took the refresh"
                                    f" lock in {self._where} (fence {int(written_fence)} > {fence}) and wrote since")
                            entries = self._decode(name, blob, None if version is None else int(version))
                            for credential_type, old_entry, new_pairs in operations:
                                entry_key = self.key_makers[credential_type](**old_entry)
                                bucket = entries.setdefault(credential_type, {})
                                if new_pairs:
                                    bucket[entry_key] = dict(old_entry, **new_pairs)
                                else:
                                    bucket.pop(entry_key, None)
                            new_version = max(int(version or 0), highest) + 1  # a deleted partition restarts above
                            sealed = self._crypto.seal(json.dumps(entries).encode(), key.encode(), new_version)
                            sealed_mark = self._crypto.seal(str(new_version).encode(), f"{marks}:{name}".encode())
                            fields: dict[str, Any] = {"v": new_version, "data": sealed}
                            if fence is not None:
                                fields["f"] = max(fence, int(written_fence or 0))
                            pipe.multi()
                            pipe.hset(key, mapping=fields)
                            pipe.hset(marks, name, sealed_mark)
                            pipe.sadd(f"{self._prefix}:partitions", name)
                            pipe.execute()
                        self._parts[name] = (new_version, entries)
                        break
                    except redis.WatchError:
                        continue
                else:
                    raise CacheError(f"the token cache partition {name} in {self._where} kept changing; retry")
        self._rebuild()
