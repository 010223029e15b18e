"""Fixtures of the cache tests."""

from __future__ import annotations

import shutil

import pytest
from cache_redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    pytest.importorskip("redis")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()
