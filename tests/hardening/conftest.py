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


@pytest.fixture(autouse=True, scope="module")
def _webbrowser_as_found():
    """Tests here register browsers of their own; the modules that run next find ``webbrowser`` as it was."""
    import webbrowser

    order = list(webbrowser._tryorder) if webbrowser._tryorder is not None else None
    browsers = dict(webbrowser._browsers)
    yield
    webbrowser._tryorder = order
    webbrowser._browsers.clear()
    webbrowser._browsers.update(browsers)
