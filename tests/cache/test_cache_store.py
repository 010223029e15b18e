"""Token stores in one process: memory, plaintext file, the no-encryption fallback, the HTTP cache."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
import time
import warnings
from email.utils import formatdate

import msal
import pytest
from cache_worker import CLIENT_ID, TENANT, token_event

from netkit_msal.cache import CacheError, open_store, validate_cache_param
from netkit_msal.cache import _file as _cache

AUTHORITY = f"https://login.example.test/{TENANT}"


def file_store(path, **extra):
    return open_store(validate_cache_param({"path": str(path), "allowUnencrypted": True, **extra}), name="x")


def accounts(store) -> list[str]:
    return sorted(a["username"] for a in store.token_cache.search(msal.TokenCache.CredentialType.ACCOUNT))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def no_encryption(monkeypatch):
    """Whatever this machine has, behave as a machine without a usable keyring."""
    monkeypatch.setattr(_cache, "_encrypted_persistence", lambda path: (None, "no keyring in this test"))


def test_memory_store() -> None:
    store = open_store(validate_cache_param(False), name="x")
    store.token_cache.add(token_event("u1", "api://test/a"))
    assert accounts(store) == ["u1@example.test"]
    assert not store.persistent and store.location is None
    assert "memory" in store.description
    with store.refresh_lock():
        pass
    store.save_http_cache()  # nothing to do, nothing fails


def test_file_store_persists_across_stores(tmp_path, no_encryption) -> None:
    path = tmp_path / "tokens.bin"
    first = file_store(path)
    first.token_cache.add(token_event("u1", "api://test/a"))
    second = file_store(path)
    assert accounts(second) == ["u1@example.test"]
    assert second.persistent and not second.encrypted
    assert str(path) in second.description and "plaintext" in second.description
    json.loads(path.read_text())  # plain MSAL JSON, readable by MSAL tools


def test_files_and_folder_are_owner_only(tmp_path, no_encryption) -> None:
    folder = tmp_path / "new" / "folder"
    store = file_store(folder / "tokens.bin")
    store.token_cache.add(token_event("u1", "api://test/a"))
    with store.refresh_lock():
        pass
    assert mode(folder) == 0o700
    for name in ("tokens.bin", "tokens.bin.lock", "tokens.bin.refresh.lock"):
        assert mode(folder / name) == 0o600, name


def test_default_location_is_the_cache_dir(monkeypatch, tmp_path, no_encryption) -> None:
    monkeypatch.setenv("NETKIT_MSAL_CACHE_DIR", str(tmp_path / "d"))
    store = open_store(validate_cache_param({"allowUnencrypted": True}), name="my app")
    assert store.location == str(tmp_path / "d" / "my_app.bin")
    assert mode(tmp_path / "d") == 0o700
    store = open_store(validate_cache_param({"path": str(tmp_path), "allowUnencrypted": True}), name="n")
    assert store.location == str(tmp_path / "n.bin")


def test_no_encryption_and_not_allowed_means_memory_and_one_warning(tmp_path, no_encryption, caplog) -> None:
    settings = validate_cache_param({"path": str(tmp_path / "t.bin"), "allowUnencrypted": False})
    with caplog.at_level(logging.WARNING, logger="netkit_msal.cache"):
        with pytest.warns(RuntimeWarning, match="allowUnencrypted") as caught:
            store = open_store(settings, name="x")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            open_store(settings, name="x")  # a second store: no second warning
    assert len(caught) == 1
    message = str(caught[0].message)
    assert '"cache": false' in message and "no keyring in this test" in message
    assert len([r for r in caplog.records if "allowUnencrypted" in r.getMessage()]) == 1
    assert not store.persistent and "memory" in store.description
    store.token_cache.add(token_event("u1", "api://test/a"))
    assert not (tmp_path / "t.bin").exists()


def test_encryption_missing_on_this_linux_is_caught() -> None:
    """The real check: on a Linux without PyGObject, ImportError becomes a reason, not a crash."""
    persistence, reason = _cache._encrypted_persistence("/nonexistent/x.bin")
    assert persistence is not None or reason


def test_corrupt_cache_is_moved_aside_and_replaced(tmp_path, no_encryption) -> None:
    path = tmp_path / "tokens.bin"
    path.write_text('{"AccessToken": {"k": ')
    store = file_store(path)
    with pytest.warns(RuntimeWarning, match="could not be read"):
        assert accounts(store) == []
    aside = [p for p in os.listdir(tmp_path) if p.startswith("tokens.bin.corrupt-")]
    assert len(aside) == 1 and (tmp_path / aside[0]).read_text() == '{"AccessToken": {"k": '
    store.token_cache.add(token_event("u1", "api://test/a"))
    assert accounts(file_store(path)) == ["u1@example.test"]


def test_wrong_shape_counts_as_corrupt(tmp_path, no_encryption) -> None:
    path = tmp_path / "tokens.bin"
    path.write_text('{"AccessToken": []}')
    with pytest.warns(RuntimeWarning, match="could not be read"):
        assert accounts(file_store(path)) == []


def test_writes_in_quick_succession_are_all_kept(tmp_path, no_encryption) -> None:
    """Two stores on one file, alternating writes faster than the file clock ticks: nothing lost."""
    a, b = file_store(tmp_path / "t.bin"), file_store(tmp_path / "t.bin")
    for i in range(20):
        (a if i % 2 else b).token_cache.add(token_event(f"u{i}", "api://test/a"))
    assert len(accounts(a)) == len(accounts(b)) == len(accounts(file_store(tmp_path / "t.bin"))) == 20


def test_one_write_per_token_response(tmp_path, no_encryption, monkeypatch) -> None:
    store = file_store(tmp_path / "t.bin")
    writes = []
    real = _cache._atomic_write
    monkeypatch.setattr(_cache, "_atomic_write", lambda p, d: writes.append(p) or real(p, d))
    store.token_cache.add(token_event("u1", "api://test/a"))
    assert writes == [str(tmp_path / "t.bin")]


def test_stale_temp_files_are_swept(tmp_path, no_encryption) -> None:
    (tmp_path / "t.bin.tmp-999-dead").write_text("half")
    file_store(tmp_path / "t.bin").token_cache.add(token_event("u1", "api://test/a"))
    assert sorted(os.listdir(tmp_path)) == ["t.bin", "t.bin.lock"]


# ---- HTTP cache --------------------------------------------------------------------------------
class RecordingTransport:
    """Stands in for the identity platform's discovery endpoint, counting requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def get(self, url, **kwargs):
        self.requests.append(url)
        body = {
            "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
            "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/devicecode",
            "issuer": f"{AUTHORITY}/v2.0",
        }
        return type("R", (), {"status_code": 200, "text": json.dumps(body), "headers": {"Content-Type": "json"}})()

    def post(self, url, **kwargs):
        self.requests.append(url)
        raise AssertionError("no POST expected")

    def close(self) -> None:
        pass


def new_app(store, transport):
    return msal.PublicClientApplication(
        CLIENT_ID,
        authority=AUTHORITY,
        instance_discovery=False,
        http_client=transport,
        token_cache=store.token_cache,
        http_cache=store.http_cache,
    )


def test_http_cache_makes_the_next_run_request_free(tmp_path, no_encryption) -> None:
    path = tmp_path / "t.bin"
    first_transport = RecordingTransport()
    first = file_store(path)
    new_app(first, first_transport)
    assert len(first_transport.requests) == 1
    first.token_cache.add(token_event("u1", "https://graph.example.test/User.Read"))
    first.save_http_cache()
    assert mode(tmp_path / "t.bin.http.json") == 0o600

    transport = RecordingTransport()
    app = new_app(file_store(path), transport)
    account = app.get_accounts()[0]
    result = app.acquire_token_silent(["https://graph.example.test/User.Read"], account=account)
    assert result and result["access_token"] == "at-value"
    assert transport.requests == []


def test_http_cache_file_is_data_only(tmp_path, no_encryption) -> None:
    store = file_store(tmp_path / "t.bin")
    new_app(store, RecordingTransport())
    doc = json.loads((tmp_path / "t.bin.http.json").read_text())
    assert doc["format"] == 1
    (entry,) = doc["entries"].values()
    assert entry["status_code"] == 200 and "token_endpoint" in entry["text"]


def test_http_400_replays_are_not_persisted(tmp_path, no_encryption) -> None:
    store = file_store(tmp_path / "t.bin")
    new_app(store, RecordingTransport())

    class Refusing(RecordingTransport):
        def post(self, url, **kwargs):
            self.requests.append(url)
            return type("R", (), {"status_code": 400, "text": '{"error": "invalid_grant"}', "headers": {}})()

    app = new_app(store, Refusing())
    app.acquire_token_by_refresh_token("rt", ["api://test/a"])
    store.save_http_cache()
    keys = json.loads((tmp_path / "t.bin.http.json").read_text())["entries"]
    assert all(key.startswith("GET ") for key in keys)


class Throttled(RecordingTransport):
    """A token endpoint that answers every POST with one error status (and Retry-After when given)."""

    def __init__(self, status: int, headers: dict) -> None:
        super().__init__()
        self.status, self.headers = status, headers

    def post(self, url, **kwargs):
        self.requests.append(url)
        return type("R", (), {"status_code": self.status, "text": '{"error": "temporarily_unavailable"}',
                              "headers": dict(self.headers)})()


def refresh_through(store, transport) -> None:
    """One refresh token request through a real MSAL app on ``store``; the error it raises is not the point."""
    app = new_app(store, transport)
    with contextlib.suppress(msal.exceptions.MsalServiceError):
        app.acquire_token_by_refresh_token("rt", ["api://test/a"])
    store.save_http_cache()


def throttles(path) -> dict:
    entries = json.loads(path.read_text())["entries"]
    return {key: entry for key, entry in entries.items() if key.startswith("POST ")}


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_without_retry_after_stays_in_its_process(tmp_path, no_encryption, status) -> None:
    """MSAL's own 60 s guess after one transient outage must not make every new process fail unasked."""
    path = tmp_path / "t.bin"
    first = Throttled(status, {})
    refresh_through(file_store(path), first)
    assert len([url for url in first.requests if url.endswith("/token")]) == 1
    assert throttles(tmp_path / "t.bin.http.json") == {}

    later = Throttled(status, {})
    refresh_through(file_store(path), later)
    assert [url for url in later.requests if url.endswith("/token")], "the new process did not even ask"


@pytest.mark.parametrize("status, retry_after, seconds", [
    (503, "30", 30),
    (429, "30", 30),
    (429, "7200", 3600),  # MSAL caps its own wait at an hour; the persisted one is never longer
    (429, None, 60),  # "too many requests" with no delay: MSAL's bounded default
])
def test_a_servers_back_off_is_persisted_no_longer_than_it_asked(tmp_path, no_encryption, status, retry_after,
                                                                 seconds) -> None:
    path = tmp_path / "t.bin"
    refresh_through(file_store(path), Throttled(status, {} if retry_after is None else {"Retry-After": retry_after}))
    (entry,) = throttles(tmp_path / "t.bin.http.json").values()
    assert entry["status_code"] == status and entry["expires_at"] - entry["created_at"] == seconds

    later = Throttled(status, {})
    refresh_through(file_store(path), later)
    assert not [url for url in later.requests if url.endswith("/token")], "the back-off was not honoured"


def test_a_retry_after_date_bounds_the_persisted_entry(tmp_path, no_encryption) -> None:
    """An HTTP-date Retry-After: MSAL waits its 60 s default in memory; on disk, only until that date."""
    until = int(time.time()) + 20
    refresh_through(file_store(tmp_path / "t.bin"), Throttled(503, {"Retry-After": formatdate(until, usegmt=True)}))
    (entry,) = throttles(tmp_path / "t.bin.http.json").values()
    assert entry["expires_at"] == until


def test_a_stored_5xx_guess_from_an_older_version_is_ignored(tmp_path, no_encryption) -> None:
    now = int(time.time())
    key = f"POST {AUTHORITY}/oauth2/v2.0/token client_id={CLIENT_ID} scope=x hash=0 429/5xx/Retry-After"
    guess = {"expires_at": now + 60, "created_at": now, "status_code": 500, "text": "{}", "headers": {}}
    asked = {**guess, "status_code": 503, "headers": {"retry-after": "10"}}
    doc = {"format": 1, "entries": {key: guess, key.replace("scope=x", "scope=y"): asked}}
    (tmp_path / "t.bin.http.json").write_text(json.dumps(doc))
    store = file_store(tmp_path / "t.bin")
    assert key not in store.http_cache
    assert store.http_cache[key.replace("scope=x", "scope=y")].status_code == 503
    expires_at, _ = store.http_cache["_index_"][1][key.replace("scope=x", "scope=y")]
    assert expires_at == now + 10  # and bounded by its Retry-After, not the stored 60 s


def test_http_cache_merges_with_other_writers(tmp_path, no_encryption) -> None:
    path = tmp_path / "t.bin"
    a, b = file_store(path), file_store(path)
    msal.PublicClientApplication(CLIENT_ID, authority=AUTHORITY, instance_discovery=False,
                                 http_client=RecordingTransport(), http_cache=a.http_cache)
    msal.PublicClientApplication(CLIENT_ID, authority="https://login.example.test/other", instance_discovery=False,
                                 http_client=RecordingTransport(), http_cache=b.http_cache)
    assert len(json.loads((tmp_path / "t.bin.http.json").read_text())["entries"]) == 2


@pytest.mark.parametrize("content", [b"not json", b'{"format": 1, "entries": {"k": 5}}', b"\xff\xfe", b""])
def test_unreadable_http_cache_starts_empty(tmp_path, no_encryption, content) -> None:
    (tmp_path / "t.bin.http.json").write_bytes(content)
    transport = RecordingTransport()
    store = file_store(tmp_path / "t.bin")
    new_app(store, transport)
    assert len(transport.requests) == 1
    assert json.loads((tmp_path / "t.bin.http.json").read_text())["entries"]


def test_refresh_lock_times_out_with_clear_error(tmp_path, no_encryption) -> None:
    store, other = file_store(tmp_path / "t.bin"), file_store(tmp_path / "t.bin")
    with store.refresh_lock():
        with pytest.raises(CacheError, match="another thread"):
            with store.refresh_lock(timeout=0.05):  # not re-entrant: bounded, not a hang
                pass
        with pytest.raises(CacheError, match=rf"refresh a token.*held by process {os.getpid()}"):
            with other.refresh_lock(timeout=0.05):  # another store: the file lock, as another process sees it
                pass
    with other.refresh_lock(timeout=0.05):
        pass


def test_refresh_lock_excludes_threads(tmp_path, no_encryption) -> None:
    store = file_store(tmp_path / "t.bin")
    inside, overlaps = [0], []

    def work() -> None:
        for _ in range(200):
            with store.refresh_lock():
                inside[0] += 1
                overlaps.append(inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(overlaps) == 800 and set(overlaps) == {1}


def test_memory_refresh_lock_times_out(tmp_path) -> None:
    store = open_store(validate_cache_param(False), name="x")
    with store.refresh_lock():
        with pytest.raises(CacheError):
            with store.refresh_lock(timeout=0.05):
                pass


def test_unusable_folder_means_memory_and_a_warning(tmp_path, no_encryption) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="cannot create the folder"):
        store = file_store(tmp_path / "file" / "t.bin")
    assert not store.persistent
    store.token_cache.add(token_event("u1", "api://test/a"))
    assert accounts(store) == ["u1@example.test"]


def test_existing_user_folder_keeps_its_mode(tmp_path, no_encryption) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    file_store(tmp_path / "shared" / "t.bin").token_cache.add(token_event("u1", "api://test/a"))
    assert mode(tmp_path / "shared") == 0o755 and mode(tmp_path / "shared" / "t.bin") == 0o600


def test_threads_writing_through_two_stores_lose_nothing(tmp_path, no_encryption) -> None:
    stores = [file_store(tmp_path / "t.bin"), file_store(tmp_path / "t.bin")]

    def work(n: int) -> None:
        for i in range(15):
            stores[n % 2].token_cache.add(token_event(f"user{n}", f"api://test/s{i}"))
            list(stores[n % 2].token_cache.search("AccessToken"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(file_store(tmp_path / "t.bin").token_cache.search("AccessToken"))) == 60
