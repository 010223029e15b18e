"""The ``cache`` parameter: accepted shapes, and a ConfigError naming the key for everything else."""

from __future__ import annotations

import os

import pytest

from netkit_msal._cache import CacheSettings, default_cache_dir, validate_cache_param
from netkit_msal._exceptions import ConfigError


def test_default_is_persistent_and_encrypted_only() -> None:
    assert validate_cache_param(None) == CacheSettings(kind="file", path=None, allow_unencrypted=False)
    assert validate_cache_param(True) == validate_cache_param(None)


def test_false_is_memory_only() -> None:
    assert validate_cache_param(False).kind == "memory"


def test_object_with_path_and_allow_unencrypted(tmp_path) -> None:
    settings = validate_cache_param({"path": str(tmp_path / "c.bin"), "allowUnencrypted": True})
    assert settings == CacheSettings(kind="file", path=str(tmp_path / "c.bin"), allow_unencrypted=True)
    assert validate_cache_param({"allowUnencrypted": True}).path is None


def test_path_is_expanded_and_absolute(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert validate_cache_param({"path": "~/x.bin"}).path == str(tmp_path / "x.bin")
    assert os.path.isabs(validate_cache_param({"path": "rel.bin"}).path)


@pytest.mark.parametrize(
    ("value", "key", "suggestion"),
    [
        ({"allowUnencripted": True}, "cache.allowUnencripted", "allowUnencrypted"),
        ({"allowunencrypted": True}, "cache.allowunencrypted", "allowUnencrypted"),
        ({"pth": "x"}, "cache.pth", "path"),
        ({"colour": "x"}, "cache.colour", None),
    ],
)
def test_unknown_key_named_with_close_spelling(value, key, suggestion) -> None:
    with pytest.raises(ConfigError) as info:
        validate_cache_param(value)
    assert info.value.key == key
    assert info.value.suggestion == suggestion
    if suggestion:
        assert suggestion in str(info.value)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("/tmp/x.bin", "cache"),
        (3, "cache"),
        ({"path": 5}, "cache.path"),
        ({"path": "  "}, "cache.path"),
        ({"allowUnencrypted": "yes"}, "cache.allowUnencrypted"),
    ],
)
def test_wrong_types_named(value, key) -> None:
    with pytest.raises(ConfigError) as info:
        validate_cache_param(value)
    assert info.value.key == key


@pytest.mark.parametrize("key", ["redis", "prefix", "encryptionKey"])
def test_redis_is_not_available_yet(key) -> None:
    with pytest.raises(ConfigError, match="not available yet") as info:
        validate_cache_param({key: "x"})
    assert info.value.key == f"cache.{key}"


def test_default_dir_honours_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NETKIT_MSAL_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == str(tmp_path / "here")
    monkeypatch.delenv("NETKIT_MSAL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert default_cache_dir() == str(tmp_path / "xdg" / "netkit-msal")
