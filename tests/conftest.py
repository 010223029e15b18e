"""Suite-wide rules: loopback only, and one emulator shared by the tests that need it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_GUARD_DIR = Path(__file__).parent / "_guard"
sys.path.insert(0, str(_GUARD_DIR))
import loopback_guard  # noqa: E402

loopback_guard.install()
os.environ["NETKIT_LOOPBACK_ONLY"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_GUARD_DIR), os.environ.get("PYTHONPATH")]))
# No test may open a real browser, nor touch the user's own token cache.
os.environ["BROWSER"] = "false"
_CACHE_DIR = Path(os.environ.get("PYTEST_NETKIT_TMP", "/tmp")) / f"netkit-msal-test-cache-{os.getpid()}"
os.environ["NETKIT_MSAL_CACHE_DIR"] = str(_CACHE_DIR)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One emulator for the session, auto-approving sign-ins, with its state in a temporary folder."""
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("emulator-state")) as emu:
        yield emu
