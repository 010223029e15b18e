"""The persistent cache across processes: a new process makes no request; processes share one refresh."""

from __future__ import annotations

import json
import subprocess
import sys

from netkit_msal import OAuth2Provider

CHILD = """
import hashlib, json, os, sys, time
from netkit_msal import OAuth2Provider
with open(sys.argv[1]) as handle:
    provider = OAuth2Provider(json.load(handle))
if len(sys.argv) > 2:  # say ready, then wait for the signal, so that every child asks at the same moment
    print("ready", flush=True)
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.002)
token = provider.get_token(interactive=False)
digest = hashlib.sha256(token.access_token.encode()).hexdigest()
print(json.dumps({"username": token.username, "valid": token.valid, "digest": digest}))
"""


def write_params(tmp_path, params) -> str:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    return str(path)


def run_child(params_file: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, params_file], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_new_process_is_served_from_the_cache_with_zero_requests(emu, file_cache, tmp_path):
    emu.install_browser()
    params = emu.params(cache=file_cache)
    token = OAuth2Provider(params).get_token()
    params_file = write_params(tmp_path, params)
    emu.reset_stats()
    result = run_child(params_file)
    assert result["username"] == token.username and result["valid"]
    assert sum(emu.stats().values()) == 0, emu.stats()


def test_new_process_service_token_with_zero_requests(emu, file_cache, tmp_path):
    params = emu.params("service", cache=file_cache)
    OAuth2Provider(params).get_token()
    params_file = write_params(tmp_path, params)
    emu.reset_stats()
    run_child(params_file)
    assert sum(emu.stats().values()) == 0, emu.stats()


def test_processes_sharing_an_expired_token_refresh_it_once(emu, file_cache, tmp_path):
    emu.set_token_lifetime(30)  # the cached token is expired for MSAL at once
    emu.install_browser()
    params = emu.params(cache=file_cache)
    OAuth2Provider(params).get_token()
    emu.set_token_lifetime(3600)
    params_file = write_params(tmp_path, params)
    go = tmp_path / "go"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, params_file, str(go)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for child in children:  # each has imported and waits at the signal (a crash ends the line at once)
        assert child.stdout.readline() == "ready\n"
    emu.reset_stats()
    go.write_text("go")
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    assert all(r["valid"] for r in results)
    assert len({r["digest"] for r in results}) == 1  # one refresh, the others read its result
    assert emu.stats()["token"] == 1, emu.stats()
    assert emu.stats()["authorize"] == 0
