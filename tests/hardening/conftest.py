"""Hardening tests share one emulator of their own: they inject faults, shorten token lifetimes and
send mail, which must not change what the rest of the suite sees in the session emulator."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def hardening_emulator(tmp_path_factory):
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("hardening-emulator")) as emu:
        yield emu


@pytest.fixture
def emu(hardening_emulator):
    """The hardening emulator with its knobs reset around each test."""
    emulator = hardening_emulator
    for reset in (lambda: emulator.set_token_lifetime(3600), emulator.clear_faults, emulator.reset_stats):
        reset()
    emulator.install_browser()
    yield emulator
    emulator.set_token_lifetime(3600)
    emulator.clear_faults()
