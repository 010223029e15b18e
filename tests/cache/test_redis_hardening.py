"""The Redis store under attack and failure (issue 18): restored older values, apps sharing a Redis, a stalled
server, a partition that cannot be decrypted, stale lock holders, and bad settings."""

from __future__ import annotations

import shutil
import socket
import threading

import pytest
from cache_worker import CLIENT_ID, token_event

from netkit_msal import OAuth2Provider
from netkit_msal._exceptions import ConfigError
from netkit_msal.cache import CacheError, CacheSettings, open_store, validate_cache_param

redis = pytest.importorskip("redis")
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
KEY = "test-encryption-key-0123456789abcdef"
OTHER_KEY = "another-encryption-key-0123456789abcdef"


@pytest.fixture
def param(redis_server, request) -> dict:
    return {"redis": redis_server.url, "prefix": f"h-{request.node.name}"[:80], "encryptionKey": KEY}


def store_for(param, client_id: str = ""):
    return open_store(validate_cache_param(param), name="ignored", client_id=client_id)


def accounts(store) -> list[str]:
    return sorted(a["username"] for a in store.token_cache.search("Account"))


def remove_account(store, user: str) -> None:
    cache = store.token_cache
    home = f"{user}.tenant-id"
    for kind in (cache.CredentialType.ACCESS_TOKEN, cache.CredentialType.REFRESH_TOKEN,
                 cache.CredentialType.ID_TOKEN, cache.CredentialType.ACCOUNT):
        for entry in list(cache.search(kind, query={"home_account_id": home})):
            cache.modify(kind, entry)  # MSAL's remove


def test_a_restored_older_value_does_not_resurrect_a_signed_out_account(param, redis_server):
    client = redis.Redis(port=redis_server.port)
    store = store_for(param)
    store.token_cache.add(token_event("alice", "api://test/a"))
    saved = {k: client.dump(k) for k in client.keys(f"{param['prefix']}:p:*")}
    remove_account(store, "alice")
    assert accounts(store_for(param)) == []
    for key, value in saved.items():  # an attacker (or a backup) puts the old values back
        client.restore(key, 0, value, replace=True)
    with pytest.raises(CacheError, match="older value was restored"):
        accounts(store_for(param))
    with pytest.raises(CacheError, match="older value was restored"):
        store_for(param).token_cache.add(token_event("bob", "api://test/a"))  # a write does not launder it


def test_a_value_cannot_be_moved_to_another_version(param, redis_server):
    client = redis.Redis(port=redis_server.port)
    store_for(param).token_cache.add(token_event("alice", "api://test/a"))
    key = f"{param['prefix']}:p:directory"
    client.hset(key, "v", int(client.hget(key, "v")) + 5)  # the old data under a newer version number
    with pytest.raises(CacheError, match="cannot decrypt"):
        accounts(store_for(param))


def test_a_partition_that_cannot_be_decrypted_is_an_error_every_time(param):
    store_for(param).token_cache.add(token_event("alice", "api://test/a"))
    reader = store_for(dict(param, encryptionKey=OTHER_KEY))
    for _ in range(3):  # never an empty view after the first failure
        with pytest.raises(CacheError, match="cannot decrypt"):
            accounts(reader)


def test_default_prefix_is_per_app(redis_server):
    base = {"redis": redis_server.url}
    first = store_for(dict(base, encryptionKey=KEY), client_id="app-one")
    second = store_for(dict(base, encryptionKey=OTHER_KEY), client_id="app-two")
    first.token_cache.add(token_event("alice", "api://test/a"))
    assert accounts(second) == []  # another app, another key: no clash, no decryption error
    assert accounts(store_for(dict(base, encryptionKey=KEY), client_id="app-one")) == ["alice@example.test"]
    client = redis.Redis(port=redis_server.port)
    assert client.exists("netkit-msal:app-one:p:directory")


def test_a_write_with_a_stale_fence_is_refused(param):
    holder, successor = store_for(param), store_for(param)
    holder.lock_ttl = successor.lock_ttl = 30.0
    holder.token_cache.add(token_event("alice", "api://test/a", access_token="first"))
    with holder.refresh_lock():
        stale = holder.fence
        holder._client.delete(holder._lock_key)  # the lock expired while its holder was stuck
        with successor.refresh_lock():
            assert successor.fence > stale
            successor.token_cache.add(token_event("alice", "api://test/a", access_token="successor"))
        with pytest.raises(CacheError, match="outlived its lock"):
            holder.token_cache.add(token_event("alice", "api://test/a", access_token="stale"))
    tokens = [t["secret"] for t in store_for(param).token_cache.search("AccessToken")]
    assert tokens == ["successor"]


def test_the_lock_is_renewed_while_its_holder_runs(param):
    store = store_for(param)
    store.lock_ttl = 0.3
    with store.refresh_lock():
        renewals = threading.Event()
        lock_key = store._lock_key
        ttl_seen = []

        def watch():
            for _ in range(400):
                ttl = store._client.pttl(lock_key)
                ttl_seen.append(ttl)
                if ttl > 0 and len(ttl_seen) > 1 and ttl > ttl_seen[-2]:
                    renewals.set()
                    return
                renewals.wait(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        watcher.join(60)
        assert renewals.is_set(), "the lock's lifetime never went up again"
        assert store._client.exists(lock_key)


class StalledRedis:
    """Accepts connections and reads commands but never answers; counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._open:
            conn.close()


def test_a_stalled_redis_costs_one_time_out_per_call(emulator):
    stalled = StalledRedis()
    try:
        params = emulator.params("service", cache={"redis": f"redis://127.0.0.1:{stalled.port}/0",
                                                   "encryptionKey": KEY})
        with pytest.raises(CacheError, match="unavailable"):
            OAuth2Provider(params).get_token()
        assert stalled.connections == 1, "Redis was asked again after it had timed out"
    finally:
        stalled.close()


@pytest.mark.parametrize("url", ["redis://127.0.0.1:99999/0", "redis://:pw@[::1/0", "redis://h:6379/notanumber",
                                 "redis://", "redis://h:port/0", "unix://", "redis://h:6379/0?socket_timeout=soon"])
def test_bad_redis_urls_are_config_errors(url):
    with pytest.raises(ConfigError) as caught:
        validate_cache_param({"redis": url, "encryptionKey": KEY})
    assert caught.value.key == "cache.redis"
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize("key", ["encryptionKey", "prefix"])
def test_surrogates_are_config_errors(key):
    value = {"encryptionKey": KEY, "prefix": "p", key: "\ud800" + "x" * 40}
    with pytest.raises(ConfigError) as caught:
        validate_cache_param({"redis": "redis://127.0.0.1:6379/0", **value})
    assert caught.value.key == f"cache.{key}"


def test_redis_password_not_in_config_repr(emulator):
    params = emulator.params("service", cache={"redis": "redis://user:s3cret-redis-pw@127.0.0.1:6379/0",
                                               "encryptionKey": KEY})
    provider = OAuth2Provider(params)
    for text in (repr(provider.config), repr(provider.config.cache), str(provider.config)):
        assert "s3cret-redis-pw" not in text
    assert "***" in repr(provider.config.cache)
    assert isinstance(provider.config.cache, CacheSettings) and CLIENT_ID


def test_a_cache_hit_does_not_wait_for_another_workers_refresh_lock(emulator, param):
    params = emulator.params("service", cache=param)
    assert OAuth2Provider(params).get_token().valid
    other_worker = store_for(param)
    before = emulator.stats()["token"]
    with other_worker.refresh_lock(timeout=5):  # another worker is refreshing (or crashed holding the lock)
        assert OAuth2Provider(params).get_token(interactive=False).valid  # a new worker: from Redis, no wait
        assert other_worker._client.get(other_worker._lock_key) is not None
    assert emulator.stats()["token"] == before
