"""Several real processes on one cache file: no lost or corrupt writes, kills mid-write, the refresh lock."""

from __future__ import annotations

import json
import os
import random
import time

import msal
import pytest
from cache_worker import Worker, token_event

from netkit_msal.cache import CacheError, open_store, validate_cache_param

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses SIGKILL and flock semantics")


def start(*args: str) -> Worker:
    return Worker(*args)


def plaintext_store(path):
    return open_store(validate_cache_param({"path": str(path), "allowUnencrypted": True}), name="x")


def test_concurrent_writers_lose_nothing(tmp_path) -> None:
    path = tmp_path / "t.bin"
    workers = [start("write", str(path), f"user{n}", "15") for n in range(6)]
    assert [w.wait(timeout=60) for w in workers] == [0] * 6
    cache = plaintext_store(path).token_cache
    access_tokens = list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN))
    assert len(access_tokens) == 6 * 15
    assert len(list(cache.search(msal.TokenCache.CredentialType.ACCOUNT))) == 6
    json.loads(path.read_text())


def test_writer_killed_mid_write_leaves_a_loadable_cache(tmp_path) -> None:
    path = tmp_path / "t.bin"
    plaintext_store(path).token_cache.add(  # something that must survive every kill
        token_event("keeper", "api://test/keep")
    )
    rng = random.Random(7)
    for round_ in range(6):
        hammers = [start("hammer", str(path), f"h{round_}-{n}") for n in range(2)]
        for hammer in hammers:
            assert hammer.message() == "ready"
        time.sleep(rng.uniform(0.02, 0.15))  # let them write for a moment, then kill mid-stream
        for hammer in hammers:
            hammer.kill()
        data = json.loads(path.read_text())  # always whole JSON, never a torn file
        assert any(a.get("local_account_id") == "keeper" for a in data.get("Account", {}).values())
    store = plaintext_store(path)
    assert "keeper@example.test" in [a["username"] for a in store.token_cache.search("Account")]
    store.token_cache.add(token_event("after", "api://test/a"))  # lock not stuck
    leftovers = [p for p in os.listdir(tmp_path) if ".tmp-" in p]
    assert leftovers == []  # the next writer swept what killed writers left


def test_refresh_lock_excludes_other_processes(tmp_path) -> None:
    path, log = tmp_path / "t.bin", tmp_path / "log"
    workers = [start("section", str(path), str(log), "8") for _ in range(4)]
    assert [w.wait(timeout=60) for w in workers] == [0] * 4
    lines = log.read_text().split()
    events = list(zip(lines[0::2], lines[1::2]))
    assert len(events) == 4 * 8 * 2
    for enter, leave in zip(events[0::2], events[1::2]):  # strictly enter/leave by the same process
        assert enter[0] == "enter" and leave[0] == "leave" and enter[1] == leave[1]


def test_refresh_lock_bounded_wait_and_released_by_a_killed_holder(tmp_path) -> None:
    path = tmp_path / "t.bin"
    holder = start("hold", str(path))
    try:
        assert holder.message() == "locked"
        store = plaintext_store(path)
        with pytest.raises(CacheError, match=rf"held by process {holder.pid}") as info:
            with store.refresh_lock(timeout=0.2):
                pass
        assert "refresh a token" in str(info.value)
    finally:
        holder.kill()
    with store.refresh_lock(timeout=5):  # the kernel released the dead holder's lock
        pass
