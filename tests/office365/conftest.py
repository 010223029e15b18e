"""Office365 against the emulator's Graph: an app-only provider (any mailbox through userId) and a
delegated one (signed in through the emulator's headless browser)."""

from __future__ import annotations

import pytest

from netkit_msal import OAuth2Provider
from netkit_msal.office365 import Office365, RetryPolicy

#: Retries fast enough for tests (Retry-After values used in tests are small).
FAST = RetryPolicy(max_retries=3, max_wait=5.0, backoff=0.05)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """An emulator of our own: these tests fill mailboxes, send mail and inject faults, which must not
    change what the rest of the suite sees in the shared one."""
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("office365-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def service_provider(emulator):
    provider = OAuth2Provider(emulator.params("service", cache=False))
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def delegated_provider(emulator):
    emulator.install_browser()
    provider = OAuth2Provider(emulator.params(
        "signedIn", cache=False,
        scope=["Mail.ReadWrite", "Mail.Send", "User.Read", "User.ReadBasic.All", "Calendars.ReadWrite"]))
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def users(emulator):
    by_login = {user.upn.split("@")[0]: user for user in emulator.users}
    return by_login


def _office(provider, mail_type="Microsoft", user=None) -> Office365:
    options = {"mailType": mail_type}
    if user is not None:
        options["userId"] = user.upn
    return Office365(provider, options, retry=FAST)


@pytest.fixture(scope="session")
def office():
    """``office(provider, mail_type="Microsoft", user=None)``: an Office365 with fast retries."""
    return _office


@pytest.fixture(scope="session")
def fast_retry():
    return FAST


@pytest.fixture(scope="session")
def adele(service_provider, users):
    """Adele's mailbox through an app-only token, Graph JSON mail type."""
    return _office(service_provider, "Microsoft", users["adele"])


@pytest.fixture(autouse=True)
def _no_faults_left(emulator):
    yield
    emulator.clear_faults()
