"""Helpers for the emulator's own tests: MSAL apps that trust the emulator, fresh emulators."""

from __future__ import annotations

from typing import Any

import msal
import pytest
import requests

from netkit_msal.emulator import Emulator


def session_for(emu: Emulator) -> requests.Session:
    """REQUESTS_CA_BUNDLE is set on these machines: only trust_env=False makes requests use our CA."""
    session = requests.Session()
    session.trust_env = False
    session.verify = emu.ca_file
    return session


def public_app(emu: Emulator, **kw: Any) -> msal.PublicClientApplication:
    from netkit_msal.emulator import PUBLIC_CLIENT_ID

    return msal.PublicClientApplication(PUBLIC_CLIENT_ID, authority=kw.pop("authority", emu.authority),
                                        http_client=session_for(emu), instance_discovery=False, **kw)


def confidential_app(emu: Emulator, client_id: str, credential: Any, **kw: Any) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id, client_credential=credential, authority=emu.authority,
                                              http_client=session_for(emu), instance_discovery=False, **kw)


@pytest.fixture
def fresh_emulator(tmp_path_factory):
    """An emulator of its own, for tests that turn knobs (shares nothing with the session emulator)."""
    with Emulator(state_dir=tmp_path_factory.mktemp("emu")) as emu:
        yield emu


@pytest.fixture
def http(emulator) -> requests.Session:
    return session_for(emulator)
