"""The ``cache`` parameter: accepted shapes, and a ConfigError naming the key for everything else."""

from __future__ import annotations

import os

import pytest

from netkit_msal._exceptions import ConfigError
from netkit_msal.cache import CacheSettings, default_cache_dir, validate_cache_param


def test_default_is_persistent_and_plaintext_with_a_warning_where_no_encryption() -> None:
    assert validate_cache_param(None) == CacheSettings(kind="file", path=None, allow_unencrypted=None)
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


KEY = "k" * 40


def test_redis_settings() -> None:
    settings = validate_cache_param({"redis": "redis://127.0.0.1:6379/0", "prefix": "fleet", "encryptionKey": KEY})
    assert (settings.kind, settings.redis_url, settings.prefix, settings.encryption_key) == (
        "redis", "redis://127.0.0.1:6379/0", "fleet", KEY)
    assert KEY not in repr(settings)


@pytest.mark.parametrize(
    ("value", "key", "match"),
    [
        ({"redis": "redis://h/0"}, "cache.encryptionKey", "required"),
        ({"redis": "redis://h/0", "encryptionKey": "short"}, "cache.encryptionKey", "too short"),
        ({"redis": "redis://h/0", "encryptionKey": 5}, "cache.encryptionKey", "text"),
        ({"redis": "http://h/0", "encryptionKey": KEY}, "cache.redis", "redis://"),
        ({"prefix": "p", "encryptionKey": KEY}, "cache.redis", "required"),
        ({"redis": "redis://h/0", "encryptionKey": KEY, "path": "/x"}, "cache.path", "cannot be combined"),
        ({"redis": "redis://h/0", "encryptionKey": KEY, "prefix": ""}, "cache.prefix", "empty"),
        ({"redis": "redis://h/0", "encriptionKey": KEY}, "cache.encriptionKey", "encryptionKey"),
    ],
)
def test_redis_setting_errors(value, key, match) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        validate_cache_param(value)
    assert info.value.key == key


def test_redis_password_never_in_messages() -> None:
    with pytest.raises(ConfigError) as info:
        validate_cache_param({"redis": "http://user:hunter2-secret@h/0", "encryptionKey": KEY})
    assert "hunter2-secret" not in str(info.value)


def test_default_dir_honours_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NETKIT_MSAL_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == str(tmp_path / "here")
    monkeypatch.delenv("NETKIT_MSAL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert default_cache_dir() == str(tmp_path / "xdg" / "netkit-msal")


def test_redis_without_the_client_package(monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "redis", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=r"netkit-msal\[redis\]") as info:
        validate_cache_param({"redis": "redis://127.0.0.1/0", "encryptionKey": KEY})
    assert info.value.key == "cache.redis"
