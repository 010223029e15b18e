"""The file store with real MSAL over TLS at the emulator: a new process gets its token with zero requests."""

from __future__ import annotations

from cache_worker import Worker


def test_new_process_served_from_the_cache_with_zero_requests(emulator, tmp_path) -> None:
    params = emulator.params("service")
    scope = params["scope"][0]
    args = (str(tmp_path / "t.bin"), emulator.authority, emulator.ca_file, params["clientId"],
            params["clientSecret"], scope)
    first = Worker("app-token", *args)
    assert first.message() == "identity_provider"
    assert first.wait() == 0

    emulator.reset_stats()
    second = Worker("app-token", *args)
    assert second.message() == "cache"
    assert second.wait() == 0
    assert sum(emulator.stats().values()) == 0  # not even the discovery document
