"""Drives against an emulator of their own: an app-only provider (any user's OneDrive, SharePoint
libraries) and a delegated one asking for ``Files.*`` by their short names."""

from __future__ import annotations

import pytest

from netkit_msal import OAuth2Provider
from netkit_msal.office365 import Office365, RetryPolicy

#: Retries fast enough for tests.
FAST = RetryPolicy(max_retries=3, max_wait=5.0, backoff=0.05)


def pytest_configure(config):
    config.addinivalue_line("markers", "big: moves 100 MB through the emulator (a few seconds, bounded memory)")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """Drive tests inject faults and tweak drive knobs: they get an emulator of their own."""
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("drive-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def service_provider(emulator):
    provider = OAuth2Provider(emulator.params("service", cache=False))
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def office(emulator, service_provider):
    with Office365(service_provider, {"userId": emulator.users[0].upn}, retry=FAST) as office:
        yield office


@pytest.fixture
def store(emulator):
    """The emulator's drives, with every knob put back after the test."""
    drives = emulator.graph.drives
    yield drives
    drives.drop_after = None
    drives.corrupt_next = False
    drives.cut_download_after = None
    drives.copy_polls = 1
    drives.strict_fragments = True
    drives.range_style = "start-"
    emulator.clear_faults()


@pytest.fixture
def folder(office, request):
    """A fresh folder for one test (``/t-<test name>``) in the service user's OneDrive."""
    name = "t-" + request.node.name.replace("[", "-").replace("]", "")[:80]
    status = office.drive.create_folder("/", name, {"conflictBehavior": "replace"})
    assert status.success, status.statusText
    return "/" + name
