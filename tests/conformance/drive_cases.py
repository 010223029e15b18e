"""The drive's requests (``_drive.ROUTES``) as conformance cases, and the resources each case needs.

Every route of every drive form is a case: the item forms address a fresh file (or, for ``/children``,
a fresh folder) made for that case, ``/root`` addresses the root (whose PATCH, DELETE, content and copy
Graph refuses). The pre-authenticated URLs (upload, download, monitor) are cases too: their template
names the URL's path, which must be the path of the URL Graph handed out.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit

import requests

from netkit_msal.emulator._graph._drive import ACTIONS, PUBLIC_PREFIX
from netkit_msal.emulator._graph._drive_store import FRAGMENT_UNIT, SIMPLE_UPLOAD_LIMIT

SIZE = 2 * FRAGMENT_UNIT + 5
#: The drive forms as cases write them (placeholders filled by DriveWorld).
DRIVES = {"/me/drive": "/me/drive", "/users/{user}/drive": "/users/{upn}/drive",
          "/drives/{drive}": "/drives/{driveid}", "/sites/{site}/drive": "/sites/root/drive"}
#: Each item form addressing a file, and a folder.
ITEMS = {"/root": ("/root", "/root"), "/items/{item}": ("/items/{file}", "/items/{dir}"),
         "/root:/{path}:": ("/root:/{T}/a.txt:", "/root:/{T}/d:"),
         "/items/{item}:/{path}:": ("/items/{Tid}:/a.txt:", "/items/{Tid}:/d:")}
NEW_FOLDER = {"name": "made", "folder": {}, "@microsoft.graph.conflictBehavior": "rename"}
#: What each action answers on a file or folder: (expect, status, body).
ON_ITEM: dict[tuple[str, str], tuple[str, int, Any]] = {
    ("GET", ""): ("driveItem", 200, None),
    ("PATCH", ""): ("driveItem", 200, {"name": "renamed.txt", "description": "Renamed"}),
    ("DELETE", ""): ("empty", 204, None),
    ("GET", "/children"): ("Collection(driveItem)", 200, None),
    ("POST", "/children"): ("driveItem", 201, NEW_FOLDER),
    ("GET", "/content"): ("redirect", 302, None),
    ("PUT", "/content"): ("driveItem", 200, b"new content"),
    ("POST", "/createUploadSession"): ("uploadSession", 200, {"item": {
        "@microsoft.graph.conflictBehavior": "replace"}}),
    ("POST", "/copy"): ("copy", 202, {"name": "copy.txt"}),
}
#: What the root answers where it differs.
ON_ROOT = {("PATCH", ""): ("error", 400), ("DELETE", ""): ("error", 403), ("GET", "/content"): ("error", 404),
           ("PUT", "/content"): ("error", 400), ("POST", "/createUploadSession"): ("error", 400),
           ("POST", "/copy"): ("error", 400)}


@dataclass
class DriveCase:
    method: str
    path: str
    #: As Case.expect, or "redirect", "copy" (202 + monitor), "uploadStatus", "asyncJobStatus", "page".
    expect: str
    status: int = 200
    #: JSON (placeholders filled) or bytes (sent as they are).
    body: Any = None
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def _generated() -> list[DriveCase]:
    cases = [DriveCase("GET", drive, "drive") for drive in DRIVES.values()]
    for drive in DRIVES.values():
        for item_form, (on_file, on_folder) in ITEMS.items():
            for method, action in ACTIONS:
                expect, status, body = ON_ITEM[(method, action)]
                if item_form == "/root" and (method, action) in ON_ROOT:
                    expect, status = ON_ROOT[(method, action)]
                item = on_folder if action == "/children" else on_file
                cases.append(DriveCase(method, f"{drive}{item}{action}", expect, status, body))
    return cases


PUBLIC = PUBLIC_PREFIX.removeprefix("/v1.0")
FIRST = {"Content-Range": f"bytes 0-{FRAGMENT_UNIT - 1}/{SIZE}"}
LAST = {"Content-Range": f"bytes {FRAGMENT_UNIT}-{SIZE - 1}/{SIZE}"}
DRIVE_CASES: list[DriveCase] = [
    *_generated(),
    DriveCase("GET", "/me/drive/items/{Tid}/children", "page", query={"$top": "1"}),
    DriveCase("GET", "/me/drive/root:/{T}:/children", "Collection(driveItem)", query={"$select": "id,name,file"}),
    DriveCase("PATCH", "/me/drive/items/{file}", "driveItem", body={"parentReference": {"id": "{dir}"}}),
    DriveCase("PATCH", "/me/drive/items/{dir}", "driveItem", body={"name": "moved", "parentReference": {
        "path": "/drive/root:"}}, query={"@microsoft.graph.conflictBehavior": "rename"}),
    DriveCase("DELETE", "/me/drive/items/{dir}", "empty", 204),
    DriveCase("PUT", "/me/drive/items/{Tid}:/new.txt:/content", "driveItem", 201, b"fresh"),
    DriveCase("PUT", "/me/drive/root:/{T}/x/y/new.csv:/content", "driveItem", 201, b"a,b\n"),
    DriveCase("POST", "/me/drive/items/{Tid}:/big.bin:/createUploadSession", "uploadSession", 200, {}),
    # Graph's refusals.
    DriveCase("GET", "/me/drive/items/nonexistent", "error", 404),
    DriveCase("GET", "/me/drive/root:/{T}/missing/x.txt:", "error", 404),
    DriveCase("POST", "/me/drive/items/{Tid}/children", "error", 409, {"name": "d", "folder": {}}),
    DriveCase("POST", "/me/drive/items/{Tid}/children", "error", 400, {"name": "bad:name", "folder": {}}),
    DriveCase("POST", "/me/drive/items/{Tid}/children", "error", 400, {"name": "nofacet"}),
    DriveCase("POST", "/me/drive/items/{file}/children", "error", 400, NEW_FOLDER),
    DriveCase("PUT", "/me/drive/items/{file}/content", "error", 400, b"x",
              query={"@microsoft.graph.conflictBehavior": "bogus"}),
    DriveCase("PUT", "/me/drive/items/{Tid}:/huge.bin:/content", "error", 413, b"z" * (SIMPLE_UPLOAD_LIMIT + 1)),
    DriveCase("PATCH", "/me/drive/items/{file}", "error", 409, {"name": "d"}),
    DriveCase("POST", "/me/drive/items/{Tid}/copy", "error", 400, {"parentReference": {"id": "{dir}"}}),
    DriveCase("PUT", "/me/drive", "error", 405, {}),
    DriveCase("GET", "/drives", "error", 400),
    DriveCase("GET", "/sites/nosuch/drive", "error", 404),
    DriveCase("GET", "/me/drive/bogus", "error", 400),
    # The URLs Graph hands out.
    DriveCase("PUT", f"{PUBLIC}upload?{{upload}}", "uploadStatus", 202, b"u" * FRAGMENT_UNIT, headers=FIRST),
    DriveCase("PUT", f"{PUBLIC}upload?{{upload_last}}", "driveItem", 201, b"v" * (SIZE - FRAGMENT_UNIT),
              headers=LAST),
    DriveCase("GET", f"{PUBLIC}upload?{{upload_last}}", "uploadStatus"),
    DriveCase("DELETE", f"{PUBLIC}upload?{{upload}}", "empty", 204),
    DriveCase("PUT", f"{PUBLIC}upload?{{upload}}", "error", 416, b"q", headers={"Content-Range": f"bytes 5-5/{SIZE}"}),
    DriveCase("PUT", f"{PUBLIC}upload?{{upload}}", "error", 401, b"q", headers={"Authorization": "Bearer x",
                                                                         "Content-Range": f"bytes 0-0/{SIZE}"}),
    DriveCase("PUT", f"{PUBLIC}upload?{{upload}}", "error", 400, b"q"),
    DriveCase("GET", f"{PUBLIC}download?{{download}}", "bytes"),
    DriveCase("GET", f"{PUBLIC}download?{{download}}", "bytes", 206, headers={"Range": "bytes=1-3"}),
    DriveCase("HEAD", f"{PUBLIC}download?{{download}}", "empty"),
    DriveCase("GET", f"{PUBLIC}download?tempauth=unknown", "error", 401),
    DriveCase("GET", f"{PUBLIC}monitor?{{monitor}}", "asyncJobStatus", 202),
    DriveCase("GET", f"{PUBLIC}monitor?{{monitor_done}}", "asyncJobStatus", 200),
    DriveCase("GET", f"{PUBLIC}monitor?tempauth=unknown", "error", 404),
]


def route_pattern(route: str) -> tuple[str, re.Pattern]:
    """(method, regex) of one ``_drive.ROUTES`` entry; a case's path matches with its placeholders."""
    method, path = route.split(" ", 1)
    path = path.removeprefix("/v1.0")
    text = re.escape(path).replace(r"\{path\}", "[^:]+")
    text = re.sub(r"\\\{\w+\\\}", "[^/:]+", text)
    return method, re.compile(text + (r"\?.*" if path.startswith(PUBLIC) else ""))


class DriveWorld:
    """Makes what a drive case needs, in the drive the case addresses, through the emulator's Graph."""

    def __init__(self, base: str, http: requests.Session, headers: dict, upn: str) -> None:
        self.base, self.http, self.headers, self.upn = base, http, headers, upn
        self.drive_id: Optional[str] = None

    def call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if not url.startswith("https://"):
            url = self.base + url
            kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        return self.http.request(method, url, timeout=60, allow_redirects=False, **kwargs)

    def made(self, method: str, url: str, **kwargs: Any) -> dict:
        answer = self.call(method, url, **kwargs)
        assert answer.status_code in (200, 201, 202), (url, answer.text[:300])
        return answer.json()

    def fill(self, case: DriveCase) -> tuple[str, Any]:
        """The case's URL and body with every placeholder made."""
        drive = re.match(r"^/(me/drive|users/\{upn\}/drive|drives/\{driveid\}|sites/\w+/drive)", case.path)
        prefix = drive.group(0) if drive else "/me/drive"
        if self.drive_id is None:
            self.drive_id = str(self.made("GET", "/me/drive")["id"])
        values: dict[str, str] = {"upn": self.upn, "driveid": self.drive_id}
        prefix = prefix.format(**values)
        names = re.findall(r"\{(\w+)\}", case.path + (json.dumps(case.body) if isinstance(case.body, dict) else ""))
        if {"T", "Tid", "file", "dir"} & set(names) or any(n.startswith(("upload", "download", "monitor"))
                                                             for n in names):
            values["T"] = f"T-{uuid.uuid4().hex[:8]}"
            top = self.made("POST", f"{prefix}/root/children", json={"name": values["T"], "folder": {}})
            values["Tid"] = top["id"]
            values["dir"] = self.made("POST", f"{prefix}/items/{top['id']}/children", json={
                "name": "d", "folder": {}})["id"]
            values["file"] = self.made("PUT", f"{prefix}/items/{top['id']}:/a.txt:/content", data=b"hello")["id"]
        public = {n: self._public(n, values) for n in names if n.startswith(("upload", "download", "monitor"))}
        path = case.path
        for url in public.values():
            head = path.split("?")[0]
            assert urlsplit(url).path == "/v1.0" + head, (url, head)  # the URL Graph gave is the route's
            path = url
        url = path if public else path.format(**values)
        if url.startswith(PUBLIC):
            url = self.base + url  # absolute: sent without the bearer token, as to any URL Graph hands out
        body = case.body
        if isinstance(body, dict):
            body = json.loads(json.dumps(body).replace("{dir}", values.get("dir", "{dir}")))
        return url, body

    def _public(self, name: str, values: dict) -> str:
        file = f"/me/drive/items/{values['file']}"
        if name.startswith("upload"):
            url = self.made("POST", f"/me/drive/items/{values['Tid']}:/big.bin:/createUploadSession",
                            json={})["uploadUrl"]
            if name == "upload_last":
                first = self.http.put(url, data=b"u" * FRAGMENT_UNIT, headers=FIRST, timeout=60)
                assert first.status_code == 202, first.text
            return url
        if name == "download":
            return self.made("GET", file)["@microsoft.graph.downloadUrl"]
        copy = self.call("POST", f"{file}/copy", json={"name": "copied.txt"})
        assert copy.status_code == 202, copy.text
        if name == "monitor_done":
            assert self.http.get(copy.headers["Location"], timeout=60).status_code == 202
        return copy.headers["Location"]


def run(world: DriveWorld, case: DriveCase) -> tuple[requests.Response, str]:
    url, body = world.fill(case)
    kwargs: dict[str, Any] = {"params": case.query, "headers": case.headers}
    if isinstance(body, bytes):
        kwargs["data"] = body
    elif body is not None or case.method in ("POST", "PATCH"):
        kwargs["json"] = body or {}
    return world.call(case.method, url, **kwargs), f"{case.method} {url.split('?')[0]} {case.query}"


def other_checks(world: DriveWorld, answer: requests.Response, expect: str, where: str,
                 problems: Any) -> Optional[str]:
    """Checks the drive's own answer kinds; returns the Graph type left to check, if any."""
    if expect == "redirect":
        assert answer.content == b"" and PUBLIC_PREFIX + "download?" in answer.headers["Location"], where
        return None
    if expect == "copy":
        assert answer.content == b"" and PUBLIC_PREFIX + "monitor?" in answer.headers["Location"], where
        return None
    data = answer.json()
    if expect == "uploadStatus":
        assert set(data) == {"expirationDateTime", "nextExpectedRanges"}, (where, data)
        assert problems(data, "uploadSession") == [] and data["nextExpectedRanges"] == [f"{FRAGMENT_UNIT}-"], where
        return None
    if expect == "asyncJobStatus":
        # Not a Graph type (the monitor is OneDrive's own): the properties its documentation lists.
        allowed = {"operation": str, "percentageComplete": float, "resourceId": str, "status": str,
                   "statusDescription": str, "errorCode": str}
        assert set(data) <= set(allowed) and all(isinstance(v, allowed[k]) for k, v in data.items()), (where, data)
        done = data["status"] == "completed"
        assert data["status"] in ("inProgress", "completed") and ("resourceId" in data) == done, (where, data)
        return None
    if expect == "page":
        assert len(data["value"]) == 1 and "@odata.nextLink" in data, (where, data)
        rest = world.call("GET", data["@odata.nextLink"].removeprefix(world.base))
        assert rest.status_code == 200 and len(rest.json()["value"]) == 1, (where, rest.text[:300])
        assert rest.json()["value"][0]["name"] != data["value"][0]["name"], where
        assert problems(rest.json()["value"], "Collection(driveItem)") == [], where
        return "Collection(driveItem)"
    raise AssertionError(f"unknown expectation {expect}")
