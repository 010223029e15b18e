"""Notifier tests: an emulator of their own (they subscribe, change mailboxes and drop notifications),
an app-only Office365 on Adele's mailbox (helpers in notifier_support)."""

from __future__ import annotations

import pytest
from notifier_support import Recorder

from netkit_msal import OAuth2Provider
from netkit_msal.office365 import Office365, RetryPolicy


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("notifier-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def office(emulator):
    provider = OAuth2Provider(emulator.params("service", cache=False))
    adele = next(u for u in emulator.users if u.upn.startswith("adele@"))
    office = Office365(provider, {"userId": adele.upn}, retry=RetryPolicy(max_retries=3, max_wait=5.0, backoff=0.05))
    yield office
    office.close()
    provider.close()


@pytest.fixture()
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(autouse=True)
def _clean(emulator):
    yield
    emulator.clear_faults()
    emulator.drop_notifications(False)

