"""The Redis store against a real redis-server on loopback: sharing, partitions, encryption, the lock."""

from __future__ import annotations

import json
import shutil

import msal
import pytest
from cache_redis_server import RedisServer
from cache_worker import CLIENT_ID, Worker, token_event

from netkit_msal.cache import CacheError, open_store, validate_cache_param

redis = pytest.importorskip("redis")
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
KEY = "test-encryption-key-0123456789abcdef"


@pytest.fixture
def param(redis_server, request) -> dict:
    """A fresh prefix per test: tests share the server, not their data."""
    return {"redis": redis_server.url, "prefix": f"t-{request.node.name}"[:80], "encryptionKey": KEY}


def store_for(param):
    return open_store(validate_cache_param(param), name="ignored")


def run(*args: str, env=None) -> Worker:
    return Worker(*args, env=env)


def test_two_processes_share_tokens(param) -> None:
    assert run("write", json.dumps(param), "alice", "3").wait(timeout=60) == 0
    store = store_for(param)
    assert [a["username"] for a in store.token_cache.search("Account")] == ["alice@example.test"]
    assert len(list(store.token_cache.search("AccessToken"))) == 3
    assert store.persistent and store.encrypted and "redis://127.0.0.1" in store.description


def test_partitions_per_account_and_app(param, redis_server) -> None:
    writer = store_for(param)
    writer.token_cache.add(token_event("alice", "api://test/a"))
    writer.token_cache.add(token_event("bob", "api://test/a"))
    app_event = {"client_id": CLIENT_ID, "scope": ["api://test/.default"],
                 "token_endpoint": "https://login.example.test/tenant-id/oauth2/v2.0/token",
                 "response": {"access_token": "app-at", "expires_in": 3600, "token_type": "Bearer"}}
    writer.token_cache.add(app_event)
    client = redis.Redis(port=redis_server.port)
    names = sorted(k.decode().split(":p:", 1)[1] for k in client.keys(f"{param['prefix']}:p:*"))
    assert names == [f"app:{CLIENT_ID}", "directory", "user:alice.tenant-id", "user:bob.tenant-id"]

    reader = store_for(param)  # a worker serving alice loads alice's partition only
    query = {"home_account_id": "alice.tenant-id", "client_id": CLIENT_ID}
    assert len(list(reader.token_cache.search("AccessToken", target=["api://test/a"], query=query))) == 1
    assert set(reader.token_cache._parts) == {"user:alice.tenant-id"}
    assert len(list(reader.token_cache.search("Account"))) == 2  # the account list loads no other token
    assert set(reader.token_cache._parts) == {"user:alice.tenant-id", "directory"}
    app_query = {"home_account_id": None, "client_id": CLIENT_ID}
    assert [t["secret"] for t in reader.token_cache.search("AccessToken", query=app_query)] == ["app-at"]


def test_entries_unreadable_without_the_key(param, redis_server) -> None:
    store_for(param).token_cache.add(token_event("alice", "api://test/a", access_token="AT-SECRET-VALUE",
                                                 refresh_token="RT-SECRET-VALUE"))
    client = redis.Redis(port=redis_server.port)
    for key in client.keys(f"{param['prefix']}:p:*"):
        raw = client.hget(key, "data")
        assert b"SECRET-VALUE" not in raw and b"alice" not in raw
    wrong = store_for({**param, "encryptionKey": "another-key-0123456789abcdef-0123"})
    with pytest.raises(CacheError, match="encryptionKey differs"):
        list(wrong.token_cache.search("AccessToken"))


def test_entry_cannot_be_moved_to_another_key(param, redis_server) -> None:
    store_for(param).token_cache.add(token_event("alice", "api://test/a"))
    client = redis.Redis(port=redis_server.port)
    prefix = param["prefix"]
    blob = client.hget(f"{prefix}:p:user:alice.tenant-id", "data")
    client.hset(f"{prefix}:p:user:mallory.tenant-id", mapping={"v": 1, "data": blob})
    client.sadd(f"{prefix}:partitions", "user:mallory.tenant-id")
    with pytest.raises(CacheError, match="cannot decrypt"):
        list(store_for(param).token_cache.search("AccessToken", query={"home_account_id": "mallory.tenant-id"}))


def test_concurrent_writers_on_one_partition_lose_nothing(param) -> None:
    workers = [run("write", json.dumps(param), "same-user", "10", f"w{n}") for n in range(4)]
    assert [w.wait(timeout=60) for w in workers] == [0] * 4
    # four workers, ten scopes each, one account: one partition rewritten 40 times concurrently
    assert len(list(store_for(param).token_cache.search("AccessToken"))) == 40


def test_concurrent_writers_on_many_partitions(param) -> None:
    workers = [run("write", json.dumps(param), f"user{n}", "8") for n in range(4)]
    assert [w.wait(timeout=60) for w in workers] == [0] * 4
    store = store_for(param)
    assert len(list(store.token_cache.search("AccessToken"))) == 32
    assert len(list(store.token_cache.search("Account"))) == 4


def test_eight_workers_one_refresh(param, tmp_path) -> None:
    counter = tmp_path / "refreshes"
    workers = [run("refresh-once", json.dumps(param), str(counter)) for _ in range(8)]
    assert [w.wait(timeout=60) for w in workers] == [0] * 8
    assert counter.read_text().split() == ["refresh"]


def test_refresh_lock_across_processes(param, tmp_path) -> None:
    log = tmp_path / "log"
    workers = [run("section", json.dumps(param), str(log), "5") for _ in range(3)]
    assert [w.wait(timeout=60) for w in workers] == [0] * 3
    lines = log.read_text().split()
    events = list(zip(lines[0::2], lines[1::2]))
    for enter, leave in zip(events[0::2], events[1::2]):
        assert enter[0] == "enter" and leave[0] == "leave" and enter[1] == leave[1]


def test_killed_lock_holder_expires(param) -> None:
    holder = run("hold", json.dumps(param), env={"LOCK_TTL": "1"})
    store = store_for(param)
    try:
        assert holder.message() == "locked"
        with pytest.raises(CacheError, match=rf"another worker \(process {holder.pid}\)"):
            with store.refresh_lock(timeout=0.1):
                pass
    finally:
        holder.kill()
    with store.refresh_lock(timeout=10):  # the dead holder's lock expires after its TTL
        assert store.fence is not None
    assert store.fence is None


def test_redis_down_is_a_clear_error(tmp_path) -> None:
    own = RedisServer(tmp_path)
    param = {"redis": own.url, "prefix": "down", "encryptionKey": KEY}
    store = store_for(param)
    store.token_cache.add(token_event("alice", "api://test/a"))
    own.stop()
    with pytest.raises(CacheError, match="unavailable") as info:
        list(store.token_cache.search("Account"))
    assert own.url.split("//")[1] in str(info.value)
    with pytest.raises(CacheError, match="unavailable"):
        with store.refresh_lock(timeout=1):
            pass
    with pytest.raises(CacheError):
        store.token_cache.add(token_event("bob", "api://test/a"))


def _discovery_response():
    """The OpenID configuration MSAL fetches first, as a minimal response object."""
    body = json.dumps({"authorization_endpoint": "https://login.example.test/tenant-id/oauth2/v2.0/authorize",
                       "token_endpoint": "https://login.example.test/tenant-id/oauth2/v2.0/token",
                       "issuer": "https://login.example.test/tenant-id/v2.0"})
    return type("R", (), {"status_code": 200, "text": body, "headers": {}})()


def test_msal_app_over_redis(param) -> None:
    """MSAL's own silent lookup works over the partitioned cache."""
    store_for(param).token_cache.add(token_event("alice", "https://graph.example.test/User.Read"))

    class NoNetwork:
        def get(self, url, **kw):
            return _discovery_response()

        def post(self, url, **kw):
            raise AssertionError("no token request expected")

        def close(self):
            pass

    store = store_for(param)
    app = msal.PublicClientApplication(CLIENT_ID, authority="https://login.example.test/tenant-id",
                                       instance_discovery=False, http_client=NoNetwork(),
                                       token_cache=store.token_cache, http_cache=store.http_cache)
    (account,) = app.get_accounts()
    result = app.acquire_token_silent(["https://graph.example.test/User.Read"], account=account)
    assert result["access_token"] == "at-value"
    app.remove_account(account)
    assert list(store_for(param).token_cache.search("Account")) == []


@pytest.mark.parametrize("retry_after, shared", [(None, False), ("30", True)])
def test_only_a_servers_back_off_reaches_the_fleet(param, retry_after, shared) -> None:
    """A 503 without Retry-After stays with the worker that saw it; one with Retry-After is honoured by all."""

    class Unavailable:
        def get(self, url, **kw):
            return _discovery_response()

        def post(self, url, **kw):
            headers = {} if retry_after is None else {"Retry-After": retry_after}
            return type("R", (), {"status_code": 503, "text": "{}", "headers": headers})()

        def close(self):
            pass

    store = store_for(param)
    app = msal.PublicClientApplication(CLIENT_ID, authority="https://login.example.test/tenant-id",
                                       instance_discovery=False, http_client=Unavailable(),
                                       token_cache=store.token_cache, http_cache=store.http_cache)
    with pytest.raises(msal.exceptions.MsalServiceError):
        app.acquire_token_by_refresh_token("rt", ["api://test/a"])
    store.save_http_cache()
    keys = list(store_for(param).http_cache)
    assert any(key.startswith("GET ") for key in keys)
    assert any(key.startswith("POST ") for key in keys) is shared


def test_redis_hanging_is_a_bounded_error(tmp_path) -> None:
    """A Redis that accepts but never answers (stopped with SIGSTOP): a CacheError after the socket time-out."""
    import signal

    own = RedisServer(tmp_path)
    try:
        store = store_for({"redis": own.url, "prefix": "hang", "encryptionKey": KEY})
        store.token_cache.add(token_event("alice", "api://test/a"))
        own.process.send_signal(signal.SIGSTOP)
        with pytest.raises(CacheError, match="Timeout"):
            list(store.token_cache.search("Account"))
    finally:
        own.process.send_signal(signal.SIGCONT)
        own.stop()
