"""Stores with real MSAL over TLS at the emulator: a new process gets its token with zero requests."""

from __future__ import annotations

import json

import pytest
from cache_worker import Worker


@pytest.fixture(params=["file", "redis"])
def spec(request, tmp_path) -> str:
    if request.param == "file":
        return str(tmp_path / "t.bin")
    server = request.getfixturevalue("redis_server")
    return json.dumps({"redis": server.url, "prefix": f"emu-{tmp_path.name}", "encryptionKey": "k" * 40})


def test_new_process_served_from_the_cache_with_zero_requests(emulator, spec) -> None:
    params = emulator.params("service")
    args = (spec, emulator.authority, emulator.ca_file, params["clientId"], params["clientSecret"], params["scope"][0])
    first = Worker("app-token", *args)
    assert first.message() == "identity_provider"
    assert first.wait() == 0

    emulator.reset_stats()
    second = Worker("app-token", *args)
    assert second.message() == "cache"
    assert second.wait() == 0
    assert sum(emulator.stats().values()) == 0  # not even the discovery document
