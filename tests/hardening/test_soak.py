"""Soak: 8 processes share one persistent token cache for a minute, with SIGKILLs mid-write.

Every call in every worker goes through ``OAuth2Provider`` against one emulator whose tokens live
120 s: MSAL treats a token with under 300 s left as expired, so each silent call refreshes and writes
the shared cache, all the time, under the cross-process refresh lock. A killer thread SIGKILLs a worker
every second or so, two times in three one caught writing (a ``<cache>.tmp-<pid>-...`` file exists only
between the start of a write and its atomic replace), else one at a random moment (in a request, waiting
for or holding the refresh lock), and starts a new one in its place. After every kill and at
the end the cache file must parse as a whole MSAL cache that still holds the account's refresh token,
no cache was ever moved aside as corrupt, no worker saw a failed call, and a fresh process signs in
silently from the cache.

``NETKIT_SOAK_SECONDS`` sets the duration (default 60, as the issue asks).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from netkit_msal import OAuth2Provider
from netkit_msal.cache._fast import parse_cache

pytestmark = [pytest.mark.skipif(os.name != "posix", reason="SIGKILL and flock semantics"), pytest.mark.slow]

WORKERS = 8
DURATION = float(os.environ.get("NETKIT_SOAK_SECONDS", "60"))
WORKER = Path(__file__).with_name("hardening_soak_worker.py")
CHECK = """
import json, sys
from netkit_msal import OAuth2Provider
params = json.load(open(sys.argv[1]))
token = OAuth2Provider(params["signedIn"]).get_token(interactive=False)
print(json.dumps({"username": token.username, "valid": token.valid}))
"""


def load_cache(path: Path) -> dict:
    """The cache file as MSAL's dict; fails the test if it is torn or lost the account."""
    data = parse_cache(path.read_text("utf-8"))
    assert data is not None, "the token cache file does not parse as an MSAL cache"
    assert data.get("RefreshToken") and data.get("Account"), sorted(data)
    return data


class Fleet:
    """The workers, their logs, and the killer."""

    def __init__(self, folder: Path, params_file: Path, cache_file: Path) -> None:
        self.folder = folder
        self.params_file = params_file
        self.cache_file = cache_file
        self.stop_file = folder / "stop"
        self.rng = random.Random(20261128)
        self.procs: dict[int, subprocess.Popen] = {}
        self.logs: list[Path] = []
        self.killed: set[int] = set()
        self.kills = 0
        self.mid_write_kills = 0
        self.check_errors: list[str] = []
        self._seq = 0

    def spawn(self, slot: int) -> None:
        self._seq += 1
        log = self.folder / f"worker-{slot}-{self._seq}.log"
        log.touch()  # a worker killed before its first line still has a (empty) log to read
        self.logs.append(log)
        self.procs[slot] = subprocess.Popen(
            [sys.executable, str(WORKER), str(self.params_file), str(log), str(self._seq), str(self.stop_file)],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / f"worker-{slot}-{self._seq}.err", "w"))

    def _writer_pid(self, timeout: float) -> int | None:
        """The pid of a worker caught in the middle of a cache write, if one is seen within ``timeout``."""
        prefix = self.cache_file.name + ".tmp-"
        live = {p.pid for p in self.procs.values()}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in os.listdir(self.folder / "cache"):
                if name.startswith(prefix):
                    pid = int(name[len(prefix):].split("-")[0])
                    if pid in live:
                        return pid
            time.sleep(0.0005)
        return None

    def kill_one(self) -> None:
        """SIGKILL a worker: two times in three one caught writing, else one at a random moment."""
        pid = self._writer_pid(timeout=1.0) if self.kills % 3 != 2 else None
        if pid is not None:
            slot = next(s for s, p in self.procs.items() if p.pid == pid)
        else:
            slot = self.rng.choice(sorted(self.procs))
        proc = self.procs[slot]
        if proc.poll() is not None:  # it ended by itself: only the stop file may end a worker
            self.check_errors.append(f"worker {proc.pid} exited by itself with status {proc.returncode}")
            self.spawn(slot)
            return
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        self.killed.add(proc.pid)
        self.kills += 1
        self.mid_write_kills += pid is not None
        try:
            load_cache(self.cache_file)  # right after the kill: whole, with the account
        except AssertionError as exc:
            self.check_errors.append(f"after kill {self.kills}: {exc}")
        self.spawn(slot)

    def killer(self, until: float) -> None:
        try:
            deadline = time.monotonic() + 120  # the first workers have started (generous: a busy machine)
            while time.monotonic() < deadline and not all(log.exists() and log.stat().st_size
                                                          for log in self.logs[:WORKERS]):
                time.sleep(0.05)
            while time.monotonic() < until - 2:
                self.kill_one()
                time.sleep(self.rng.uniform(0.3, 1.5))
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in a thread
            self.check_errors.append(f"killer: {type(exc).__name__}: {exc}")


@pytest.fixture(scope="module")
def soak_emulator(tmp_path_factory):
    """An emulator of our own: the soak shortens token lifetimes and floods it with requests."""
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("soak-emulator"), token_lifetime=120) as emu:
        yield emu


def test_eight_processes_one_cache_sigkill_mid_write(soak_emulator, tmp_path):
    emu = soak_emulator
    cache_file = tmp_path / "cache" / "tokens.bin"
    cache = {"path": str(cache_file), "allowUnencrypted": True}
    params = {"signedIn": emu.params(cache=cache, timeout=30), "service": emu.params("service", cache=cache)}
    emu.install_browser()
    first = OAuth2Provider(params["signedIn"]).get_token()  # the one sign-in; workers never sign in
    assert first.username == emu.users[0].upn
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(params))

    fleet = Fleet(tmp_path, params_file, cache_file)
    emu.reset_stats()
    started = time.monotonic()
    until = started + DURATION
    for slot in range(WORKERS):
        fleet.spawn(slot)
    killer = threading.Thread(target=fleet.killer, args=(until,), daemon=True)
    killer.start()
    killer.join(timeout=DURATION + 60)
    assert not killer.is_alive(), "the killer thread hung"
    fleet.stop_file.write_text("stop")
    codes = {}
    for proc in fleet.procs.values():
        try:
            codes[proc.pid] = proc.wait(timeout=60)  # bounded: a worker stuck in a lock fails here
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"worker {proc.pid} did not stop within 60 s of the stop signal")

    # a worker killed while it was still starting never opened its log
    lines = [line for log in fleet.logs if log.exists() for line in log.read_text().splitlines()]
    failures = [line for line in lines if line.startswith("fail")]
    successes = [line for line in lines if line.startswith("ok")]
    ops = {op: sum(1 for line in successes if line.split()[1] == op)
           for op in ("new-provider", "force-refresh", "mail-scope", "service", "accounts")}
    print(f"soak {DURATION:g} s: {len(successes)} calls {ops}, {fleet.kills} kills "
          f"({fleet.mid_write_kills} caught mid-write), token requests {emu.stats().get('token')}")

    assert not fleet.check_errors, fleet.check_errors
    assert not failures, failures[:10]
    assert all(code == 0 for code in codes.values()), codes
    assert fleet.kills >= max(1, int(DURATION / 6)), fleet.kills
    assert fleet.mid_write_kills >= 1, "no worker was caught in the middle of a cache write"
    assert all(count > 0 for count in ops.values()), ops
    assert emu.stats().get("token", 0) >= len(successes) // 2  # refreshes all along, not served from memory
    assert emu.stats().get("authorize", 0) == 0 and emu.stats().get("devicecode", 0) == 0
    moved_aside = [p.name for p in cache_file.parent.iterdir() if ".corrupt-" in p.name]
    assert not moved_aside, moved_aside
    load_cache(cache_file)
    json.loads((cache_file.parent / (cache_file.name + ".http.json")).read_text())

    # a fresh process gets a token silently from what the soak left
    done = subprocess.run([sys.executable, "-c", CHECK, str(params_file)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"username": first.username, "valid": True}
