"""Providers signed in at the session emulator, and their msgraph-sdk clients driven by ``run_sync``."""

from __future__ import annotations

import pytest

from netkit_msal import OAuth2Provider

#: Delegated scopes for the tests: reading other users needs User.ReadBasic.All.
DELEGATED_SCOPES = ["User.Read", "User.ReadBasic.All", "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite"]


@pytest.fixture(scope="session")
def delegated(emulator):
    """A signed-in (delegated) provider: the emulator's headless browser signs in its first user."""
    emulator.install_browser()
    provider = OAuth2Provider(emulator.params("signedIn", cache=False, scope=DELEGATED_SCOPES))
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def service(emulator):
    """An app-only (client credentials) provider."""
    provider = OAuth2Provider(emulator.params("service", cache=False))
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def user_client(delegated):
    return delegated.graph_client()


@pytest.fixture(scope="session")
def app_client(service):
    return service.graph_client()


@pytest.fixture(scope="session")
def upn(emulator):
    """``upn("megan")`` -> megan@<emulator domain>."""
    return lambda name: f"{name}@{emulator.domain}"
