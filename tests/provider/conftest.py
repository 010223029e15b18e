"""Provider tests run the real MSAL against the session's emulator; each test leaves its knobs as it found them."""

from __future__ import annotations

import pytest


@pytest.fixture
def emu(emulator):
    """The session emulator, its token lifetime, faults and stats reset around the test."""
    emulator.set_token_lifetime(3600)
    emulator.clear_faults()
    emulator.reset_stats()
    yield emulator
    emulator.set_token_lifetime(3600)
    emulator.clear_faults()


@pytest.fixture
def file_cache(tmp_path):
    """A persistent (plaintext, owner-only) token cache in the test's folder."""
    return {"path": str(tmp_path / "cache" / "tokens.bin"), "allowUnencrypted": True}

