"""A pytest plugin for your own test suites: ``m365_emulator``, a running Microsoft 365 emulator.

netkit-msal registers it (entry point ``pytest11``), so pytest loads it by itself. Loading it costs
next to nothing: the emulator is imported only when a test first asks for the fixture.

    def test_me(m365_emulator):
        provider = OAuth2Provider(m365_emulator.params("signedIn", cache=False))
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .emulator import Emulator


@pytest.fixture(scope="session")
def m365_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the test session, its state (CA, keys) in a temporary folder; stopped at the end."""
    from .emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("m365-emulator")) as emulator:
        yield emulator
