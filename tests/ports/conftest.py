"""The port suite: 4D NetKit's documented examples, transcribed into Python as a 4D developer would,
run against the emulator.

Each port keeps the 4D example's lines in order, one Python line for each 4D line where it can (the 4D
line is quoted above it when the translation is not obvious). Only two things differ from the page:
the parameter object also gets ``where`` (the emulator's authority, CA file and Graph endpoint, in
place of login.microsoftonline.com and graph.microsoft.com) and the emulator's app ids replace
"your-client-id". ``ALERT`` becomes an assertion, since a test can't click OK.
"""

from __future__ import annotations

import os
import socket

import pytest

from netkit_msal.emulator import PUBLIC_CLIENT_ID, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET

__all__ = ["PUBLIC_CLIENT_ID", "SECRET_CLIENT_ID", "SECRET_CLIENT_SECRET"]


@pytest.fixture(scope="session")
def where(emulator):
    """The keys that point a 4D parameter object at the emulator instead of Microsoft (and ``cache``:
    4D keeps tokens in memory only, so the ported object says the same)."""
    return {"tenant": emulator.tenant_id, "authority": emulator.authority, "caFile": emulator.ca_file,
            "graphEndpoint": emulator.url, "cache": False}


@pytest.fixture(scope="session")
def browser(emulator):
    """The user's browser: signs in at the emulator (as its first user, Adele) and consents."""
    return emulator.install_browser()


@pytest.fixture(scope="session")
def adele(emulator):
    return emulator.users[0].upn


@pytest.fixture(scope="session")
def megan(emulator):
    return next(user.upn for user in emulator.users if user.upn.startswith("megan@"))


@pytest.fixture
def redirect_uri():
    """4D's examples listen on 127.0.0.1:50993; a free port keeps parallel runs apart."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/authorize/"


@pytest.fixture(scope="session")
def mail_emulator(tmp_path_factory):
    """An emulator of its own for the mail-server port: Dovecot checks token expiry against real
    time, so no other test's clock shift may reach it."""
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("ports-mail-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def dovecot(mail_emulator):
    """outlook.office365.com's IMAP, played by a private Dovecot that checks the emulator's tokens."""
    from netkit_msal.emulator.dovecot import INSTALL_HINT, DovecotServer, dovecot_binary

    if dovecot_binary() is None:
        if os.environ.get("CI"):
            pytest.fail(f"dovecot is not installed: {INSTALL_HINT}")
        pytest.skip(f"dovecot is not installed: {INSTALL_HINT}")
    with DovecotServer(mail_emulator) as server:
        yield server
