"""A Dovecot for the whole mail test session, validating the tokens of a mail-only emulator.

The mail tests get their own emulator: tokens must be stamped with real time (Dovecot allows no
leeway), so no other test's ``clock.advance()`` may touch it.
"""

from __future__ import annotations

import os

import pytest
from mail_support import ADELE, MAIL_SCOPES, SHARED

from netkit_msal.emulator.dovecot import INSTALL_HINT, DovecotServer, dovecot_binary


@pytest.fixture(scope="session")
def mail_emulator(tmp_path_factory):
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("mail-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def dovecot(mail_emulator):
    if dovecot_binary() is None:
        message = f"dovecot is not installed: {INSTALL_HINT} (or run ./dev test, which installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with DovecotServer(mail_emulator, full_access={SHARED: ADELE}) as server:
        yield server


@pytest.fixture
def mint(mail_emulator):
    """``mint(user=ADELE, scopes=MAIL_SCOPES, **claims)``: an access token signed by the emulator."""
    def mint_token(user: str = ADELE, scopes=MAIL_SCOPES, **kwargs) -> str:
        return mail_emulator.mint_access_token(user, scopes=list(scopes), **kwargs)
    return mint_token


@pytest.fixture
def server_log(request, dovecot):
    """Dovecot's log lines written during the test: ``server_log()``."""
    start = dovecot.log_size()
    return lambda: dovecot.log_text(start)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing mail test shows what Dovecot logged: the server-side cause of a refusal."""
    outcome = yield
    report = outcome.get_result()
    server = item.funcargs.get("dovecot") if hasattr(item, "funcargs") else None
    if report.failed and call.when == "call" and server is not None and server.workdir is not None:
        report.sections.append(("dovecot log (tail)", server.log_text()[-6000:]))
