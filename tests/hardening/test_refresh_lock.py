"""A valid cache hit never waits behind another process's refresh (issue 18).

Process B refreshes while the emulator holds its token request (a latency fault); while B provably holds the
refresh lock (its request reached the emulator, and the lock cannot be taken), a new provider on the same cache
gets its still-valid token with no request. Before the fix every silent call took the lock first and waited.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from netkit_msal import OAuth2Provider
from netkit_msal.cache import CacheError, open_store, validate_cache_param

REFRESHER = """
import json, sys
from netkit_msal import OAuth2Provider
claims = '{"access_token": {"nbf": {"essential": true, "value": "1"}}}'  # a CAE challenge: skips the cache
OAuth2Provider(json.loads(sys.argv[1])).get_token(claims=claims, interactive=False)
"""
#: Seconds the emulator holds B's token request: far beyond what the rest of the test needs.
HOLD = 90.0


def wait_for(condition, what: str, bound: float = 60.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, f"waited {bound:g} s for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("permission", ["service", "signedIn"])
def test_cache_hit_does_not_wait_for_another_process_refresh(emu, tmp_path, permission):
    cache = {"path": str(tmp_path / "cache.bin"), "allowUnencrypted": True}
    params = emu.params(permission, cache=cache)
    OAuth2Provider(params).get_token()  # a token valid for an hour, in the file
    before = emu.stats()["token"]
    emu.inject_fault("token", latency=HOLD)
    refresher = subprocess.Popen([sys.executable, "-c", REFRESHER, json.dumps(params)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: emu.stats()["token"] > before, "the other process's refresh to reach the emulator")
        token = OAuth2Provider(params).get_token(interactive=False)
        assert token.valid
        assert emu.stats()["token"] == before + 1, "the cache hit made a request"
        assert refresher.poll() is None, "the refresher finished first: the test proves nothing"
        store = open_store(validate_cache_param(cache), name="x")
        with pytest.raises(CacheError):  # the other process still holds the refresh lock
            with store.refresh_lock(timeout=0):
                pass
    finally:
        refresher.kill()
        refresher.wait(timeout=30)
        emu.clear_faults()
