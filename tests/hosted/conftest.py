"""An emulator of our own for managed identity and conditional access: these tests challenge users' sessions and
require authentication contexts, which must not change what the rest of the suite sees."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def hosted_emulator(tmp_path_factory):
    import secrets_guard  # tests/_guard, on the path from the suite's conftest

    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("hosted-emulator")) as emu:
        emu.install_browser()
        # the managed identity endpoint's secret header must not show in any log or output either
        secrets_guard.add_secret("IDENTITY_HEADER", emu.managed_identity_environment()["IDENTITY_HEADER"])
        yield emu


@pytest.fixture
def emu(hosted_emulator):
    """The emulator, with conditional access and faults forgotten after each test."""
    yield hosted_emulator
    hosted_emulator.clear_conditional_access()
    hosted_emulator.clear_faults()
