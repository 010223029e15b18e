"""The command line as people run it: ``python -m netkit_msal.cli`` in a new process, against the session's emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Optional

import pytest


@pytest.fixture
def emu(emulator):
    """The session emulator, with its knobs and counters reset around the test."""
    emulator.set_token_lifetime(3600)
    emulator.clear_faults()
    emulator.reset_stats()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def cli(tmp_path):
    """``cli(*args, env=None)``: run the command line in a new process with its own per-user cache folder."""
    cache_dir = tmp_path / "user-cache"

    def run(*args: str, env: Optional[dict[str, str]] = None, timeout: float = 120) -> subprocess.CompletedProcess:
        environ = {**os.environ, "NETKIT_MSAL_CACHE_DIR": str(cache_dir), **(env or {})}
        environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no keyring: a server, an SSH session, a container
        return subprocess.run([sys.executable, "-m", "netkit_msal.cli", *args], capture_output=True, text=True,
                              timeout=timeout, env=environ, stdin=subprocess.DEVNULL, check=False)

    run.cache_dir = cache_dir  # type: ignore[attr-defined]
    return run


@pytest.fixture
def params_file(tmp_path):
    """``params_file(params) -> path``: a --params file."""
    def write(params: Any, name: str = "params.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(params))
        return str(path)
    return write
