"""One emulator and one Dovecot for the mail-door tests (tokens stamped with real time: no clock.advance)."""

from __future__ import annotations

import os

import pytest
from doors_support import ADELE, SHARED

from netkit_msal.emulator.dovecot import INSTALL_HINT, DovecotServer, dovecot_binary


def _need_dovecot() -> None:
    if dovecot_binary() is None:
        message = f"dovecot is not installed: {INSTALL_HINT} (or run ./dev test, which installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def doors_emulator(tmp_path_factory):
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("doors-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def doors(doors_emulator):
    _need_dovecot()
    with DovecotServer(doors_emulator, full_access={SHARED: ADELE}) as server:
        yield server


@pytest.fixture
def outlook_token(doors_emulator):
    """``outlook_token(user, *permissions)``: an Exchange token (all three mail permissions by default)."""
    def mint(user: str = ADELE, *permissions: str) -> str:
        names = permissions or ("IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send")
        return doors_emulator.mint_access_token(user, scopes=[f"https://outlook.office.com/{p}" for p in names])
    return mint
