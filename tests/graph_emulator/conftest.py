"""Fixtures for the Graph emulator's tests (helpers in graph_emu_support)."""

from __future__ import annotations

import pytest
from graph_emu_support import Client, token, verify

from netkit_msal.emulator._directory import seed_directory
from netkit_msal.emulator._graph import GraphApi


@pytest.fixture()
def directory():
    return seed_directory()


@pytest.fixture()
def counts() -> dict[str, int]:
    return {}


@pytest.fixture()
def api(directory, counts) -> GraphApi:
    return GraphApi(directory, verify, lambda name: counts.__setitem__(name, counts.get(name, 0) + 1))


@pytest.fixture()
def adele(directory):
    return directory.user("adele@contoso.example")


@pytest.fixture()
def megan(directory):
    return directory.user("megan@contoso.example")


@pytest.fixture()
def client(api, adele) -> Client:
    """Adele, signed in, with every ordinary delegated Graph scope."""
    return Client(api, token(adele))


@pytest.fixture()
def app(api) -> Client:
    """An app-only caller with the usual application roles."""
    return Client(api, token(None))
