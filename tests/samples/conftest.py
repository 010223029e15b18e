"""The sample tests run each sample with an environment that can only pick the emulator."""

from __future__ import annotations

import os

import pytest
from samples_support import TENANT_VARIABLES


@pytest.fixture
def emulator_env(monkeypatch) -> dict[str, str]:
    """os.environ without the tenant variables (also applied to this process, for notebook kernels)."""
    for name in TENANT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)
