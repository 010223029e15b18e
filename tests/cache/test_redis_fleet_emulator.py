"""Issue 9 end to end: a fleet of processes shares one signed-in user's tokens through Redis.

When the shared access token expires for everyone at once, exactly one worker refreshes it at the
emulator; the others read its result from Redis.
"""

from __future__ import annotations

import json
import subprocess
import sys

from netkit_msal import OAuth2Provider
from netkit_msal.emulator import Emulator

WORKERS = 8
_WORKER = """
import json, os, sys, time
from netkit_msal import OAuth2Provider
params, go = json.loads(sys.argv[1]), sys.argv[2]
provider = OAuth2Provider(params)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.002)
token = provider.get_token(interactive=False)
print(json.dumps({"ok": token.valid, "user": token.username}), flush=True)
"""


def test_eight_workers_whose_shared_token_expires_cause_one_refresh(redis_server, tmp_path):
    with Emulator(tmp_path / "emulator") as emu:
        cache = {"redis": redis_server.url, "prefix": "fleet-e2e", "encryptionKey": "k" * 32}
        params = emu.params("signedIn", cache=cache, flow="deviceCode")
        # A token with 240 s to live is expired for MSAL at once (it refreshes 300 s early): no wait for the clock.
        emu.set_token_lifetime(240)
        first = OAuth2Provider(params, on_device_code=lambda flow: None).get_token()
        emu.set_token_lifetime(3600)

        go = tmp_path / "go"
        workers = [subprocess.Popen([sys.executable, "-c", _WORKER, json.dumps(params), str(go)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(WORKERS)]
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        emu.reset_stats()
        go.touch()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            results.append(json.loads(out))

        assert results == [{"ok": True, "user": first.username}] * WORKERS
        assert emu.stats().get("token:refresh_token", 0) == 1
        assert emu.stats().get("token", 0) == 1


def test_the_command_line_shares_the_redis_cache(redis_server, emulator, tmp_path):
    """`netkit-msal login --redis` in one process, `netkit-msal token --redis` in another: no new request."""
    import os

    params_file = tmp_path / "service.json"
    params_file.write_text(json.dumps(emulator.params("service")), encoding="utf-8")
    flags = ["--params", str(params_file), "--redis", redis_server.url, "--redis-prefix", "cli-e2e"]
    env = {**os.environ, "NETKIT_MSAL_CACHE_KEY": "c" * 32}
    login = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "login", *flags],
                           capture_output=True, text=True, timeout=60, env=env)
    assert login.returncode == 0, login.stderr
    before = emulator.stats().get("token", 0)
    token = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "token", *flags],
                           capture_output=True, text=True, timeout=60, env=env)
    assert token.returncode == 0, token.stderr
    assert token.stdout.startswith("eyJ") and emulator.stats().get("token", 0) == before
