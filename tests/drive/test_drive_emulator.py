"""The emulator's drives over HTTPS with plain ``requests``: Graph's rules for upload sessions,
pre-authenticated URLs, simple uploads, permissions, and driveItem JSON checked against Microsoft's
published v1.0 metadata."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path

import pytest
import requests

from netkit_msal.emulator._directory import GRAPH, PUBLIC_CLIENT_ID, SECRET_CLIENT_ID
from netkit_msal.emulator._graph import _drive
from netkit_msal.office365._quickxor import quickxorhash

UNIT = 320 * 1024


@pytest.fixture(scope="module")
def http(emulator):
    session = requests.Session()
    session.verify = emulator.ca_file
    session.trust_env = False
    yield session
    session.close()


def _bearer(emulator, roles=("Files.ReadWrite.All",), user=None, scopes=()):
    if user is None:
        token = emulator.mint_access_token(None, (f"{GRAPH}/.default",), client_id=SECRET_CLIENT_ID,
                                           roles=list(roles))
    else:
        token = emulator.mint_access_token(user, tuple(f"{GRAPH}/{s}" for s in scopes), client_id=PUBLIC_CLIENT_ID)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def auth(emulator):
    return _bearer(emulator)


@pytest.fixture(scope="module")
def drive_url(emulator):
    return f"{emulator.graph_url}/users/{emulator.users[1].upn}/drive"


def _session(http, auth, drive_url, name, **item):
    answer = http.post(f"{drive_url}/root:/emu/{name}:/createUploadSession", headers=auth, json={"item": item})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["nextExpectedRanges"] == ["0-"] and body["uploadUrl"].startswith("https://")
    return body["uploadUrl"]


def _put(http, url, data, first, total, headers=None):
    return http.put(url, data=data, headers={"Content-Range": f"bytes {first}-{first + len(data) - 1}/{total}",
                                             **(headers or {})})


def test_upload_session_rules(http, auth, drive_url, emulator):
    data = os.urandom(2 * UNIT + 100)
    url = _session(http, auth, drive_url, "rules.bin")
    assert _put(http, url, data[:UNIT], 0, len(data), auth).status_code == 401  # a bearer is refused
    assert _put(http, url, data[:1000], 0, len(data)).status_code == 400  # not a multiple of 320 KiB
    first = _put(http, url, data[:UNIT], 0, len(data))
    assert first.status_code == 202 and first.json()["nextExpectedRanges"] == [f"{UNIT}-"]
    gap = _put(http, url, data[2 * UNIT:], 2 * UNIT, len(data))
    assert gap.status_code == 416 and gap.json()["error"]["code"] == "invalidRange"
    again = _put(http, url, data[:UNIT], 0, len(data))
    assert again.status_code == 416
    assert http.get(url).json()["nextExpectedRanges"] == [f"{UNIT}-"]
    emulator.graph.drives.range_style = "start-end"
    try:
        assert http.get(url).json()["nextExpectedRanges"] == [f"{UNIT}-{len(data) - 1}"]
    finally:
        emulator.graph.drives.range_style = "start-"
    assert _put(http, url, data[UNIT:], UNIT, len(data)).status_code == 201  # the last one may be short
    assert http.get(url).status_code == 404  # the session is over


def test_fragment_limit_expiry_and_cancel(http, auth, drive_url, emulator, monkeypatch):
    monkeypatch.setattr(_drive, "FRAGMENT_MAX", UNIT)
    url = _session(http, auth, drive_url, "limits.bin")
    too_big = _put(http, url, b"x" * 2 * UNIT, 0, 3 * UNIT)
    assert too_big.status_code == 413
    cancel = _session(http, auth, drive_url, "cancelled.bin")
    assert http.delete(cancel).status_code == 204 and http.get(cancel).status_code == 404
    expiring = _session(http, auth, drive_url, "expired.bin")
    emulator.advance_clock(emulator.graph.drives.session_lifetime + 1)
    try:
        late = _put(http, expiring, b"x" * UNIT, 0, 2 * UNIT)
        assert late.status_code == 404 and late.json()["error"]["code"] == "itemNotFound"
    finally:
        emulator.advance_clock(-(emulator.graph.drives.session_lifetime + 1))


def test_content_redirects_to_a_pre_authenticated_url(http, auth, drive_url):
    data = b"quarterly figures\n" * 100
    put = http.put(f"{drive_url}/root:/emu/figures.txt:/content", data=data, headers=auth)
    assert put.status_code == 201
    item = put.json()
    assert item["file"]["hashes"] == {"quickXorHash": quickxorhash(data),
                                      "sha256Hash": hashlib.sha256(data).hexdigest().upper()}
    replaced = http.put(f"{drive_url}/items/{item['id']}/content", data=data, headers=auth)
    assert replaced.status_code == 200 and replaced.json()["id"] == item["id"]
    redirect = http.get(f"{drive_url}/items/{item['id']}/content", headers=auth, allow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert http.get(location, headers=auth).status_code == 401  # the token must not go there
    assert http.get(location).content == data
    partial = http.get(location, headers={"Range": "bytes=5-14"})
    assert partial.status_code == 206 and partial.content == data[5:15]
    assert http.get(item["@microsoft.graph.downloadUrl"]).content == data


def test_simple_upload_is_limited_to_4_mb(http, auth, drive_url):
    over = http.put(f"{drive_url}/root:/emu/big.bin:/content", data=b"x" * (4 * 1024 * 1024 + 1), headers=auth)
    assert over.status_code == 413
    exact = http.put(f"{drive_url}/root:/emu/exact.bin:/content", data=b"x" * (4 * 1024 * 1024), headers=auth)
    assert exact.status_code == 201


def test_copy_monitor_needs_no_token(http, auth, drive_url):
    http.put(f"{drive_url}/root:/emu/to-copy.txt:/content", data=b"copy me", headers=auth)
    started = http.post(f"{drive_url}/root:/emu/to-copy.txt:/copy", headers=auth, json={"name": "copied.txt"})
    assert started.status_code == 202
    monitor = started.headers["Location"]
    states = [http.get(monitor).json() for _ in range(2)]
    assert states[0]["status"] == "inProgress" and states[1]["status"] == "completed"
    assert http.get(f"{drive_url}/items/{states[1]['resourceId']}", headers=auth).json()["name"] == "copied.txt"


def test_addresses_and_permissions(http, emulator, drive_url):
    user = emulator.users[1]
    app = _bearer(emulator)
    drive_id = http.get(drive_url, headers=app).json()["id"]
    assert http.get(f"{emulator.graph_url}/drives/{drive_id}/root", headers=app).json()["root"] == {}
    assert http.get(f"{emulator.graph_url}/sites/root/drive", headers=app).json()["driveType"] == "documentLibrary"
    no_files = _bearer(emulator, roles=("Mail.Read",))
    assert http.get(drive_url, headers=no_files).status_code == 403
    reader = _bearer(emulator, roles=("Files.Read.All",))
    assert http.get(drive_url, headers=reader).status_code == 200
    assert http.put(f"{drive_url}/root:/emu/r.txt:/content", data=b"r", headers=reader).status_code == 403
    own = _bearer(emulator, user=user, scopes=("Files.Read",))
    assert http.get(f"{emulator.graph_url}/me/drive", headers=own).json()["id"] == drive_id
    other = f"{emulator.graph_url}/users/{emulator.users[0].upn}/drive"
    assert http.get(other, headers=own).status_code == 403  # someone else's drive needs Files.Read.All
    assert http.get(other, headers=_bearer(emulator, user=user, scopes=("Files.Read.All",))).status_code == 200
    assert http.get(drive_url + "/root:/nowhere/x.txt", headers=app).status_code == 404


def _metadata() -> str:
    candidates = [os.environ.get("NETKIT_REFERENCE_DIR", ""), "/work/shared/reference",
                  str(Path(__file__).resolve().parents[3] / "shared" / "reference")]
    for folder in filter(None, candidates):
        path = Path(folder) / "graph-v1.0-metadata.xml.gz"
        if path.exists():
            return gzip.open(path, "rt", encoding="utf-8").read()
    pytest.skip("Microsoft's Graph v1.0 metadata (shared/reference) is not on this machine")


def _properties(metadata: str, kind: str, name: str) -> set[str]:
    found = re.search(rf'<{kind} Name="{name}"[^>]*>(.*?)</{kind}>', metadata, re.DOTALL)
    assert found, name
    return set(re.findall(r'<Property Name="(\w+)"', found.group(1)))


def test_json_uses_only_properties_of_the_published_metadata(http, auth, drive_url):
    metadata = _metadata()
    item_names = (_properties(metadata, "EntityType", "driveItem") | _properties(metadata, "EntityType", "baseItem")
                  | {"id"})
    http.put(f"{drive_url}/root:/emu/meta/file.csv:/content", data=b"a,b\n", headers=auth)
    items = http.get(f"{drive_url}/root:/emu/meta:/children", headers=auth).json()["value"]
    items += [http.get(f"{drive_url}/root:/emu/meta", headers=auth).json(), http.get(f"{drive_url}/root",
                                                                                      headers=auth).json()]
    for item in items:
        assert {k for k in item if not k.startswith("@")} <= item_names
        assert set(item["parentReference"]) <= _properties(metadata, "ComplexType", "itemReference")
        assert set(item["fileSystemInfo"]) <= _properties(metadata, "ComplexType", "fileSystemInfo")
        if "file" in item:
            assert set(item["file"]) <= _properties(metadata, "ComplexType", "file")
            assert set(item["file"]["hashes"]) <= _properties(metadata, "ComplexType", "hashes")
        if "folder" in item:
            assert set(item["folder"]) <= _properties(metadata, "ComplexType", "folder")
    drive = http.get(drive_url, headers=auth).json()
    drive_names = (_properties(metadata, "EntityType", "drive") | _properties(metadata, "EntityType", "baseItem")
                   | {"id"})
    assert {k for k in drive if not k.startswith("@")} <= drive_names
    assert set(drive["quota"]) <= _properties(metadata, "ComplexType", "quota")
    session = http.post(f"{drive_url}/root:/emu/meta/s.bin:/createUploadSession", headers=auth, json={}).json()
    assert {k for k in session if not k.startswith("@")} == _properties(metadata, "ComplexType", "uploadSession")
