"""What a file cache trusts beside its file (issue 18): a folder others can write to, planted links and files,
paths that are no regular file, and the default where no keyring exists."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest
from cache_worker import token_event

from netkit_msal import OAuth2Provider
from netkit_msal._exceptions import ConfigError
from netkit_msal.cache import CacheError, open_store, validate_cache_param

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, owners, links and FIFOs")
NOBODY = 65534


def file_store(path, **extra):
    return open_store(validate_cache_param({"path": str(path), "allowUnencrypted": True, **extra}), name="x")


def private_folder(tmp_path, name="private"):
    folder = tmp_path / name
    folder.mkdir(mode=0o700)
    return folder


# --- the folder ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770])
def test_folder_writable_by_others_is_refused(tmp_path, mode):
    folder = private_folder(tmp_path)
    folder.chmod(mode)
    with pytest.raises(CacheError, match="writable by others"):
        file_store(folder / "t.bin")
    assert os.listdir(folder) == []


def test_folder_owned_by_someone_else_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a folder to another user")
    folder = private_folder(tmp_path)
    os.chown(folder, NOBODY, NOBODY)
    with pytest.raises(CacheError, match=f"belongs to user id {NOBODY}"):
        file_store(folder / "t.bin")


def test_a_private_folder_is_accepted(tmp_path):
    folder = private_folder(tmp_path)
    folder.chmod(0o755)  # others may read (and find nothing but owner-only files), not write
    store = file_store(folder / "t.bin")
    store.token_cache.add(token_event("u1", "api://test/a"))
    assert stat.S_IMODE(os.stat(folder / "t.bin").st_mode) == 0o600


# --- planted links -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("companion", [".lock", ".refresh.lock", ".http.json", ""])
def test_a_planted_link_at_open_is_refused(tmp_path, companion):
    folder = private_folder(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, folder / f"t.bin{companion}")
    with pytest.raises((CacheError, ConfigError), match="symbolic link|not a regular file"):
        file_store(folder / "t.bin")
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("lock", [".lock", ".refresh.lock"])
def test_a_lock_file_replaced_by_a_link_is_not_written_through(tmp_path, lock):
    folder = private_folder(tmp_path)
    store = file_store(folder / "t.bin")  # nothing opened yet: the lock files are opened on first use
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, folder / f"t.bin{lock}")
    with pytest.raises(CacheError, match="symbolic link"):
        if lock == ".lock":
            store.token_cache.add(token_event("u1", "api://test/a"))
        else:
            with store.refresh_lock():
                pass
    assert victim.read_text() == "precious"


def test_a_token_file_replaced_by_a_link_is_not_read(tmp_path):
    folder = private_folder(tmp_path)
    store = file_store(folder / "t.bin")
    elsewhere = tmp_path / "elsewhere.bin"
    file_store(elsewhere).token_cache.add(token_event("planted", "api://test/a"))
    os.symlink(elsewhere, folder / "t.bin")
    with pytest.raises(CacheError, match="symbolic link"):
        list(store.token_cache.search("Account"))
    assert os.path.islink(folder / "t.bin")  # refused, not "repaired" by moving it aside


# --- paths that are no regular file --------------------------------------------------------------------------

def test_device_as_path_is_a_config_error_and_left_alone():
    with pytest.raises(ConfigError, match="cache.path") as caught:
        validate_cache_param({"path": "/dev/null", "allowUnencrypted": True})
    assert caught.value.key == "cache.path"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_nul_in_path_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        validate_cache_param({"path": "tokens\0.bin"})
    assert caught.value.key == "cache.path" and "NUL" in str(caught.value)


def never_hangs(call, bound=60.0):
    """Run ``call`` in a thread; return what it raised. A hang fails the test instead of blocking the suite."""
    outcome: list[BaseException] = []

    def run():
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound)
    assert not thread.is_alive(), "the call blocked on the FIFO"
    return outcome[0] if outcome else None


def test_fifo_as_path_is_refused_at_construction(tmp_path):
    fifo = private_folder(tmp_path) / "t.bin"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="cache.path"):
        validate_cache_param({"path": str(fifo)})


def test_fifo_planted_after_construction_never_blocks(tmp_path):
    folder = private_folder(tmp_path)
    settings = validate_cache_param({"path": str(folder / "t.bin"), "allowUnencrypted": True})
    store = open_store(settings, name="x")
    os.mkfifo(folder / "t.bin")
    raised = never_hangs(lambda: list(store.token_cache.search("Account")))
    assert isinstance(raised, CacheError) and "FIFO" in str(raised)
    raised = never_hangs(lambda: open_store(settings, name="x"))
    assert isinstance(raised, CacheError) and "FIFO" in str(raised)


# --- the HTTP cache: its endpoints stay on the authority's origin ---------------------------------------------

def test_a_tampered_http_cache_cannot_redirect_the_token_endpoint(emulator, tmp_path):
    path = private_folder(tmp_path) / "t.bin"
    params = emulator.params("service", cache={"path": str(path), "allowUnencrypted": True})
    OAuth2Provider(params).get_token()
    http = path.with_name("t.bin.http.json")
    doc = json.loads(http.read_text())
    tampered = 0
    for entry in doc["entries"].values():
        body = json.loads(entry["text"])
        if "token_endpoint" in body:
            body["token_endpoint"] = "https://127.0.0.2:9/steal-the-secret"
            entry["text"] = json.dumps(body)
            tampered += 1
    assert tampered == 1
    http.write_text(json.dumps(doc))
    before = emulator.stats()
    provider = OAuth2Provider(params)
    assert provider.get_token(force_refresh=True).valid  # from the real token endpoint
    after = emulator.stats()
    assert after["discovery"] == before["discovery"] + 1, "the tampered discovery document was used"
    assert after["token"] == before["token"] + 1


# --- no keyring: the default is an owner-only file, said once ----------------------------------------------------

LATER_PROCESS = """
import json, sys, warnings
from netkit_msal import OAuth2Provider
warnings.simplefilter("error")  # allowUnencrypted: true says no warning
print("valid" if OAuth2Provider(json.loads(sys.argv[1])).get_token(interactive=False).valid else "invalid")
"""


def test_default_without_keyring_is_an_owner_only_file_shared_by_processes(emulator, tmp_path, monkeypatch):
    from netkit_msal.cache import _file

    monkeypatch.setattr(_file, "_encrypted_persistence", lambda path: (None, "no keyring in this test"))
    monkeypatch.setattr(_file, "default_cache_dir", lambda: str(tmp_path / "per-user"))
    params = emulator.params("service")  # no cache key: the default
    with pytest.warns(RuntimeWarning) as caught:
        assert OAuth2Provider(params).get_token().valid
    messages = [str(w.message) for w in caught if "token cache" in str(w.message)]
    assert len(messages) == 1
    assert '"allowUnencrypted": true' in messages[0] and '"cache": false' in messages[0]
    (cache_file,) = [p for p in (tmp_path / "per-user").iterdir() if p.suffix == ".bin"]
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    before = emulator.stats()["token"]
    env = dict(os.environ, NETKIT_MSAL_CACHE_DIR=str(tmp_path / "per-user"))
    later = dict(params, cache={"allowUnencrypted": True})  # same file; true: no warning
    done = subprocess.run([sys.executable, "-c", LATER_PROCESS, json.dumps(later)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "valid"
    assert emulator.stats()["token"] == before, "the second process made a token request"
