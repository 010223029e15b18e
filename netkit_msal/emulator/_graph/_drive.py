"""OneDrive and SharePoint drives as Graph serves them: items by id and by path, children, content,
upload sessions, copy with a monitor, PATCH (rename, move), DELETE, hashes, conflicts and quota.

``ROUTES`` lists every request served (GET ``/content`` answers 302 to a pre-authenticated URL, PUT
takes up to 4 MB). ``@microsoft.graph.conflictBehavior`` (``fail``, ``replace``, ``rename``) is read
from the body (folders, upload sessions) or the query (content PUT, copy, PATCH).

The URLs Graph hands out that carry their own credential (upload, download, copy monitor) live
under ``/v1.0/_emulator/drive/``, their credential in a ``tempauth`` query parameter as SharePoint's
(so request logs, which show paths, do not show it), and refuse a bearer token, as Microsoft asks
clients not to send one.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from .._http import Request, Response
from .._server import DROP
from ._auth import is_app_only, require
from ._core import (
    Ctx,
    GraphFail,
    bad_request,
    collection,
    entity,
    error_response,
    selector,
)
from ._drive_store import (
    FRAGMENT_MAX,
    FRAGMENT_UNIT,
    SIMPLE_UPLOAD_LIMIT,
    Conflict,
    Drive,
    DriveStore,
    Hasher,
)

PUBLIC_PREFIX = "/v1.0/_emulator/drive/"
#: Every request served as "METHOD path" (after /v1.0; ``{path}`` may hold ``/``), for the conformance test:
#: a drive, an item in any of ITEM_FORMS with an action (_item_request), the URLs of ``public``.
DRIVE_FORMS = ("/me/drive", "/users/{user}/drive", "/drives/{drive}", "/sites/{site}/drive")
ITEM_FORMS = ("/root", "/items/{item}", "/root:/{path}:", "/items/{item}:/{path}:")
ACTIONS = (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/children"), ("POST", "/children"),
           ("GET", "/content"), ("PUT", "/content"), ("POST", "/createUploadSession"), ("POST", "/copy"))
ROUTES = (*(f"GET {d}" for d in DRIVE_FORMS), *(f"{m} {d}{i}{a}" for d in DRIVE_FORMS for i in ITEM_FORMS
                                                 for m, a in ACTIONS),
          *(f"{m} {PUBLIC_PREFIX}{k}" for m, k in (("PUT", "upload"), ("GET", "upload"), ("DELETE", "upload"),
                                                   ("GET", "download"), ("HEAD", "download"), ("GET", "monitor"))))
_BEHAVIORS = ("fail", "replace", "rename")
_CONFLICT_KEY = "@microsoft.graph.conflictBehavior"
_BAD_NAME = re.compile(r'["*:<>?/\\|]')
ITEM_PROPERTIES = ("id", "name", "size", "createdDateTime", "lastModifiedDateTime", "eTag", "cTag", "webUrl",
                   "createdBy", "lastModifiedBy", "parentReference", "fileSystemInfo", "file", "folder", "root",
                   "description", "@microsoft.graph.downloadUrl")


def public_base(req: Request) -> str:
    """Where pre-authenticated URLs point: the emulator under its other loopback name (127.0.0.1 <->
    localhost), so that, as with Graph's upload and download hosts, they are not the Graph host and a
    client that scopes its bearer token to Graph's host does not send it there."""
    scheme, _, rest = req.base_url.partition("://")
    host, colon, port = rest.rpartition(":")
    other = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(host, host)
    return f"{scheme}://{other}{colon}{port}"


def _not_found(what: str = "The resource could not be found.") -> GraphFail:
    return GraphFail(404, "itemNotFound", what)


def _invalid(message: str) -> GraphFail:
    return GraphFail(400, "invalidRequest", message)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _behavior(value: Any, default: str) -> str:
    if value is None:
        return default
    if value not in _BEHAVIORS:
        raise _invalid(f"Invalid value '{value}' for {_CONFLICT_KEY}: use fail, replace or rename.")
    return str(value)


def _query_behavior(ctx: Ctx, default: str) -> str:
    return _behavior(ctx.req.query.get(_CONFLICT_KEY) or ctx.req.query.get("conflictBehavior"), default)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or _BAD_NAME.search(name) or name.endswith((" ", ".")):
        raise _invalid(f"The name '{name}' is not valid for an item.")
    return name


# -- entry points (called from GraphApi) ------------------------------------------------------------

def principal_drive(api: Any, ctx: Ctx, rest: str, own: bool) -> Response:
    """``/me/drive...`` and ``/users/{id}/drive...``: ``rest`` is what follows ``/drive``."""
    assert ctx.principal is not None
    return _drive_request(api, ctx, api.drives.user_drive(ctx.principal), rest, own)


def top_level(api: Any, req: Request, claims: dict, parts: list[str]) -> Response:
    """``/drives/{id}...`` and ``/sites/{id}/drive...``."""
    store: DriveStore = api.drives
    if parts[0].lower() == "drives":
        if len(parts) < 2:
            raise bad_request("Listing every drive is not supported by the emulator; use /me/drive.")
        drive = store.find(parts[1], api.directory.users)
        rest = parts[2:]
    else:
        if len(parts) < 3 or parts[2].lower() != "drive":
            raise bad_request("Only /sites/{site-id}/drive is served for sites.")
        drive = store.site_drive(parts[1])
        rest = parts[3:]
    if drive is None:
        raise _not_found("The drive or site was not found.")
    own = not is_app_only(claims) and drive.owner_id is not None and drive.owner_id == claims.get("oid")
    ctx = Ctx(req, claims, api, principal=None, prefix="drives/" + drive.id)
    return _drive_request(api, ctx, drive, "/" + "/".join(rest) if rest else "", own)


def _drive_request(api: Any, ctx: Ctx, drive: Drive, rest: str, own: bool) -> Response:
    method = ctx.req.method
    require(ctx.claims, "files.read" if method == "GET" else "files.write", own=own)
    with api.lock:
        if rest in ("", "/"):
            if method != "GET":
                raise GraphFail(405, "invalidRequest", "Only GET is supported on a drive.")
            return entity(ctx, "drives/$entity", _drive_json(drive))
        return _item_request(ctx, api.drives, drive, rest)


def _address(drive: Drive, rest: str, method: str) -> tuple[Optional[dict], Optional[dict], str, str]:
    """(item or None, parent folder, name, action) for ``/root...`` or ``/items/{id}...``; an upload
    to a path creates the folders missing along it, as OneDrive does."""
    found = re.match(r"^/(?:(root)|items/([^/:]+))", rest, re.IGNORECASE)
    if not found:
        raise bad_request(f"Resource not found for the segment '{rest.strip('/').split('/')[0]}'.")
    # ``items/root`` is the root too (msgraph-sdk addresses paths as ``items/root:/a/b.txt:``)
    base = drive.root if found.group(1) or found.group(2).lower() == "root" else drive.item(found.group(2))
    if base is None:
        raise _not_found("The resource could not be found.")
    tail = rest[found.end():]
    if not tail.startswith(":"):
        return base, drive.parent(base), base["name"], tail
    path, _, action = tail[1:].partition(":")
    item, parent, name = drive.resolve(base, path)
    uploading = (action.lower().rstrip("/"), method) in (("/content", "PUT"), ("/createuploadsession", "POST"))
    if item is None and parent is None and uploading:
        names = [part for part in path.split("/") if part]
        try:
            parent, name = drive.ensure_folders(base, names[:-1]), names[-1]
        except Conflict:
            raise GraphFail(409, "nameAlreadyExists", "A file is in the way of a folder on this path.") from None
    if item is None and parent is None:
        raise _not_found(f"The folder for '{path}' does not exist.")
    return item, parent, name, action.rstrip("/")


def _item_request(ctx: Ctx, store: DriveStore, drive: Drive, rest: str) -> Response:
    item, parent, name, action = _address(drive, rest, ctx.req.method)
    method, action = ctx.req.method, action.lower()
    if action == "/content":
        if method == "GET":
            if item is None or item["_children"] is not None:
                raise _not_found()
            return Response.redirect(_download_url(ctx, store, drive, item))
        if method == "PUT":
            return _simple_upload(ctx, store, drive, item, parent, name)
    elif action == "/createuploadsession" and method == "POST":
        return _create_session(ctx, store, drive, item, parent, name)
    elif item is None:
        raise _not_found()
    elif action == "/children":
        if item["_children"] is None:
            raise _invalid("The item is not a folder.")
        if method == "GET":
            pick = selector(ctx, ITEM_PROPERTIES, "microsoft.graph.driveItem")
            return collection(ctx, drive.children(item), lambda r: pick(_item_json(ctx, store, drive, r)),
                              context="Collection(driveItem)", default_top=200, max_top=999, style="skiptoken",
                              default_order=[("name", False)])
        if method == "POST":
            return _create_folder(ctx, store, drive, item)
    elif action == "/copy" and method == "POST":
        return _copy(ctx, store, drive, item)
    elif action == "":
        if method == "GET":
            pick = selector(ctx, ITEM_PROPERTIES, "microsoft.graph.driveItem")
            return entity(ctx, "driveItem/$entity", pick(_item_json(ctx, store, drive, item)))
        if method == "PATCH":
            return _update(ctx, store, drive, item)
        if method == "DELETE":
            if item is drive.root:
                raise GraphFail(403, "accessDenied", "The root of a drive cannot be deleted.")
            drive.delete(item)
            return Response.empty()
    else:
        raise bad_request(f"Resource not found for the segment '{action.strip('/')}'.")
    raise GraphFail(405, "invalidRequest", f"The HTTP method '{method}' is not allowed for this resource.")


# -- rendering ------------------------------------------------------------------------------------

def _drive_json(drive: Drive) -> dict:
    used = drive.used()
    return {"id": drive.id, "driveType": drive.drive_type, "name": drive.name, "owner": drive.owner,
            "createdDateTime": drive.root["createdDateTime"],
            "lastModifiedDateTime": drive.root["lastModifiedDateTime"],
            "webUrl": f"https://contoso.example/drives/{drive.id}",
            "quota": {"total": drive.quota_total, "used": used, "remaining": max(0, drive.quota_total - used),
                      "deleted": 0, "state": "normal" if used < drive.quota_total * 0.9 else "nearing"}}


def _item_json(ctx: Ctx, store: DriveStore, drive: Drive, record: dict) -> dict:
    out = {k: v for k, v in record.items() if not k.startswith("_")}
    tag = record["id"][2:10] + "-0000-0000-0000-" + record["id"][-12:]
    out["eTag"] = f'"{{{tag}}},{record["_version"]}"'
    out["cTag"] = f'"c:{{{tag}}},{record["_version"]}"'
    out["webUrl"] = f"https://contoso.example/drives/{drive.id}/root" + drive.path_of(record)
    out["fileSystemInfo"] = {"createdDateTime": record["createdDateTime"],
                             "lastModifiedDateTime": record["lastModifiedDateTime"]}
    reference: dict[str, Any] = {"driveType": drive.drive_type, "driveId": drive.id}
    parent = drive.parent(record)
    if parent is not None:
        reference.update(id=parent["id"], name=parent["name"], path="/drive/root:" + drive.path_of(parent))
    out["parentReference"] = reference
    if record["_children"] is not None:
        out["folder"] = {"childCount": len(record["_children"])}
        out["size"] = sum(r["size"] for r in _walk(drive, record) if r["_children"] is None)
    else:
        out["@microsoft.graph.downloadUrl"] = _download_url(ctx, store, drive, record)
    return out


def _walk(drive: Drive, folder: dict) -> list[dict]:
    children = drive.children(folder)
    return children + [r for c in children if c["_children"] is not None for r in _walk(drive, c)]


def _download_url(ctx: Ctx, store: DriveStore, drive: Drive, record: dict) -> str:
    token = store.token()
    store.downloads[token] = {"drive": drive.id, "item": record["id"],
                              "expires": store.now() + store.download_lifetime}
    return f"{public_base(ctx.req)}{PUBLIC_PREFIX}download?tempauth={token}"


def _item_response(ctx: Ctx, store: DriveStore, drive: Drive, record: dict, status: int) -> Response:
    return entity(ctx, "driveItem/$entity", _item_json(ctx, store, drive, record), status)


# -- changes --------------------------------------------------------------------------------------

def _create_folder(ctx: Ctx, store: DriveStore, drive: Drive, parent: dict) -> Response:
    body = ctx.body_json()
    name = _check_name(body.get("name"))
    if "folder" not in body and "file" not in body:
        raise _invalid("Give a folder facet ({\"folder\": {}}) to create a folder.")
    if "file" in body:
        raise _invalid("Files are created by uploading content (PUT .../content or createUploadSession).")
    behavior = _behavior(body.get(_CONFLICT_KEY), "fail")
    try:
        name, existing = drive.place(parent, name, behavior, replacing_ok=True)
    except Conflict:
        raise GraphFail(409, "nameAlreadyExists", "The specified item name already exists.") from None
    if existing is not None:
        drive.delete(existing)
    return _item_response(ctx, store, drive, drive.add_folder(parent, name), 201)


def _update(ctx: Ctx, store: DriveStore, drive: Drive, item: dict) -> Response:
    body = ctx.body_json()
    if item is drive.root:
        raise _invalid("The root of a drive cannot be renamed or moved.")
    name = _check_name(body["name"]) if body.get("name") is not None else item["name"]
    parent = drive.parent(item)
    reference = body.get("parentReference")
    if isinstance(reference, dict) and (reference.get("id") or reference.get("path")):
        if reference.get("driveId") not in (None, drive.id):
            raise _invalid("Moving an item to another drive is not supported; copy it, then delete it.")
        if reference.get("id"):
            parent = drive.item(str(reference["id"]))
        else:
            parent, _, _ = drive.resolve(drive.root, str(reference["path"]).split("root:", 1)[-1])
        if parent is None:
            raise _not_found("The destination folder was not found.")
        if parent["_children"] is None:
            raise _invalid("The destination is not a folder.")
        if item["_children"] is not None and drive.is_under(parent, item):
            raise _invalid("A folder cannot be moved into itself or one of its subfolders.")
    if "description" in body:
        item["description"] = body["description"]
    assert parent is not None
    if parent is not drive.parent(item) or name != item["name"]:
        behavior = _query_behavior(ctx, "fail")
        same = drive.child(parent, name)
        if same is not None and same is not item:
            if behavior == "fail":
                raise GraphFail(409, "nameAlreadyExists", "The specified item name already exists.")
            if behavior == "replace":
                drive.delete(same)
            else:
                name = drive.free_name(parent, name)
        drive.move(item, parent, name)
    else:
        drive.touch(item)
    return _item_response(ctx, store, drive, item, 200)


def _copy(ctx: Ctx, store: DriveStore, drive: Drive, item: dict) -> Response:
    body = ctx.body_json() if ctx.req.body else {}
    reference = body.get("parentReference") or {}
    target = drive
    if reference.get("driveId") not in (None, drive.id):
        target = store.find(str(reference["driveId"]), ctx.api.directory.users)  # type: ignore[assignment]
        if target is None:
            raise _not_found("The destination drive was not found.")
    parent = target.item(str(reference["id"])) if reference.get("id") else drive.parent(item)
    if item is drive.root or (parent is not None and target is drive and drive.is_under(parent, item)):
        raise _invalid("A folder cannot be copied into itself.")
    if parent is None or parent["_children"] is None:
        raise _not_found("The destination folder was not found.")
    name = _check_name(body["name"]) if body.get("name") else item["name"]
    behavior = _query_behavior(ctx, "fail")
    try:
        name, existing = target.place(parent, name, behavior, replacing_ok=True)
    except Conflict:
        raise GraphFail(409, "nameAlreadyExists", "The specified item name already exists.") from None
    if existing is not None:
        target.delete(existing)
    copied = drive.copy(item, target, parent, name)
    token = store.token()
    store.monitors[token] = {"resourceId": copied["id"], "polls": store.copy_polls}
    return Response(202, b"", {"Location": f"{public_base(ctx.req)}{PUBLIC_PREFIX}monitor?tempauth={token}"})


def _commit(ctx: Ctx, store: DriveStore, drive: Drive, parent_id: str, name: str, item_id: Optional[str],
            behavior: str, part: Path, size: int, hashes: dict[str, str]) -> Response:
    """Make the uploaded bytes an item: a new one, a replaced one, or a renamed one."""
    parent = drive.item(parent_id)
    if parent is None:
        raise _not_found("The destination folder no longer exists.")
    existing = drive.item(item_id) if item_id else None
    if existing is None:
        try:
            name, existing = drive.place(parent, name, behavior, replacing_ok=True)
        except Conflict:
            raise GraphFail(409, "nameAlreadyExists", "The specified item name already exists.") from None
        if existing is not None and existing["_children"] is not None:
            raise GraphFail(409, "nameAlreadyExists", "A folder with this name already exists.")
    record, created = drive.write_file(parent, name, part, size, hashes, existing)
    return _item_response(ctx, store, drive, record, 201 if created else 200)


def _upload_target(drive: Drive, item: Optional[dict], parent: Optional[dict], name: str,
                   by_path: bool) -> tuple[str, str, Optional[str]]:
    """(parent id, name, item id to replace) for an upload; a path's missing folders are created."""
    if item is not None:
        if item["_children"] is not None:
            raise _invalid("Content can only be uploaded to a file, not a folder.")
        return item["_parent"], item["name"], item["id"] if not by_path else None
    assert parent is not None
    return parent["id"], _check_name(name), None


def _quota(drive: Drive, size: int, replacing: Optional[dict]) -> None:
    freed = replacing["size"] if replacing else 0
    if drive.used() - freed + size > drive.quota_total:
        raise GraphFail(507, "quotaLimitReached", "Insufficient space in the drive for this upload.")


def _simple_upload(ctx: Ctx, store: DriveStore, drive: Drive, item: Optional[dict], parent: Optional[dict],
                   name: str) -> Response:
    data = ctx.req.body
    if len(data) > SIMPLE_UPLOAD_LIMIT:
        raise GraphFail(413, "requestTooLarge", "Simple upload takes up to 4 MB; use an upload session.")
    parent_id, name, item_id = _upload_target(drive, item, parent, name, item is not None and ":" in ctx.req.path)
    _quota(drive, len(data), item)
    data = store.take_corruption(data)
    store.simple_uploads += 1
    hasher = Hasher()
    hasher.update(data)
    part = store.part_file(store.token())
    part.write_bytes(data)
    try:
        return _commit(ctx, store, drive, parent_id, name, item_id, _query_behavior(ctx, "replace"), part,
                       len(data), hasher.hashes())
    finally:
        part.unlink(missing_ok=True)


def _create_session(ctx: Ctx, store: DriveStore, drive: Drive, item: Optional[dict], parent: Optional[dict],
                    name: str) -> Response:
    body = ctx.body_json() if ctx.req.body else {}
    spec = body.get("item") or {}
    if not isinstance(spec, dict):
        raise _invalid("'item' must be an object.")
    behavior = _behavior(spec.get(_CONFLICT_KEY), "replace")
    parent_id, name, item_id = _upload_target(drive, item, parent, spec.get("name") or name,
                                              item is not None and ":" in ctx.req.path)
    if behavior == "fail" and item is not None:
        raise GraphFail(409, "nameAlreadyExists", "The specified item name already exists.")
    size = spec.get("fileSize")
    if isinstance(size, int):
        _quota(drive, size, item)
    token = store.token()
    expires = store.now() + store.session_lifetime
    store.sessions[token] = {"drive": drive.id, "parent": parent_id, "name": name, "item": item_id,
                             "behavior": behavior, "size": None, "received": 0, "hasher": Hasher(),
                             "expires": expires, "part": store.part_file(token)}
    store.part_file(token).touch()
    return Response.json({"@odata.context": f"{ctx.base}/$metadata#microsoft.graph.uploadSession",
                          "uploadUrl": f"{public_base(ctx.req)}{PUBLIC_PREFIX}upload?tempauth={token}",
                          "expirationDateTime": _iso(expires), "nextExpectedRanges": ["0-"]})


# -- pre-authenticated URLs -------------------------------------------------------------------------

def public(api: Any, req: Request) -> Response:
    """Upload, download and monitor URLs: no bearer (one sent is refused), the token is in the URL."""
    try:
        if req.headers.get("authorization"):
            raise GraphFail(401, "unauthenticated", "This URL is pre-authenticated: send no Authorization "
                            "header (a bearer token must not leave for a URL Graph handed out).")
        kind, token = req.path[len(PUBLIC_PREFIX):], req.query.get("tempauth", "")
        store: DriveStore = api.drives
        if kind == "download" and req.method in ("GET", "HEAD"):
            with api.lock:
                opened = _open_download(store, token)
            return _download(req, store, *opened)
        with api.lock:
            if kind == "upload":
                return _upload_fragment(api, req, store, token)
            if kind == "monitor" and req.method == "GET":
                return _monitor(store, token)
        raise _not_found()
    except GraphFail as fail:
        return error_response(req, fail.status, fail.code, fail.message, fail.headers)


def _open_download(store: DriveStore, token: str) -> tuple[Any, int]:
    link = store.downloads.get(token)
    if link is None or link["expires"] < store.now():
        store.downloads.pop(token, None)
        raise GraphFail(401, "unauthenticated", "The download URL has expired; ask for the item again.")
    drive = store.drives.get(link["drive"])
    record = drive.item(link["item"]) if drive else None
    if record is None:
        raise _not_found()
    return open(store.blob_path(record["id"]), "rb"), record["size"]


class _Cut:
    """A file that ends early: the server then closes the connection mid-body (``cut_download_after``)."""

    def __init__(self, stream: Any, left: int) -> None:
        self._stream, self._left = stream, left

    def read(self, count: int) -> bytes:
        data = self._stream.read(min(count, self._left))
        self._left -= len(data)
        return data

    def seek(self, offset: int) -> int:
        return self._stream.seek(offset)

    def __enter__(self) -> _Cut:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stream.close()


def _download(req: Request, store: DriveStore, stream: Any, size: int) -> Response:
    """The content, or one ``Range: bytes=a-b`` of it (206), streamed from disk."""
    wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", req.headers.get("range", "").strip())
    start, end = 0, size - 1
    status = 200
    if wanted and (wanted.group(1) or wanted.group(2)):
        if wanted.group(1):
            start = int(wanted.group(1))
            end = min(int(wanted.group(2)), size - 1) if wanted.group(2) else size - 1
        else:
            start = max(0, size - int(wanted.group(2)))
        if start >= size or start > end:
            stream.close()
            return Response(416, b"", {"Content-Range": f"bytes */{size}"})
        status = 206
        store.ranged_downloads += 1
    stream.seek(start)
    if store.cut_download_after is not None:
        stream, store.cut_download_after = _Cut(stream, store.cut_download_after), None
    headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(status, b"", headers, stream=stream, length=max(0, end - start + 1))


def _monitor(store: DriveStore, token: str) -> Response:
    job = store.monitors.get(token)
    if job is None:
        raise _not_found("The copy job was not found.")
    if job["polls"] > 0:
        job["polls"] -= 1
        return Response.json({"operation": "ItemCopy", "status": "inProgress", "percentageComplete": 50.0}, 202)
    return Response.json({"operation": "ItemCopy", "status": "completed", "percentageComplete": 100.0,
                          "resourceId": job["resourceId"]})


def _acknowledge_again(api: Any, req: Request, store: DriveStore, done: dict) -> Response:
    """The last fragment sent again after the upload completed (its answer was lost, or msgraph-core's
    ``LargeFileUploadTask`` sending its final chunk once more): the item, as the first time."""
    drive = store.drives.get(done["drive"])
    record = drive.item(done["item"]) if drive else None
    if drive is None or record is None:
        raise _not_found("The upload session was not found or has expired.")
    return _item_response(Ctx(req, {}, api, prefix="drives/" + drive.id), store, drive, record, 200)


def _session_status(store: DriveStore, session: dict) -> dict:
    received, size = session["received"], session["size"]
    ranges = [f"{received}-{size - 1}" if store.range_style == "start-end" and size else f"{received}-"]
    return {"expirationDateTime": _iso(session["expires"]), "nextExpectedRanges": ranges}


def _upload_fragment(api: Any, req: Request, store: DriveStore, token: str) -> Any:
    session = store.sessions.get(token)
    if session is not None and session["expires"] < store.now():
        store.sessions.pop(token, None)
        Path(session["part"]).unlink(missing_ok=True)
        session = None
    if session is None:
        done = store.completed.get(token)
        if done is not None and req.method == "PUT" and req.headers.get("content-range", "").strip() == done["range"]:
            return _acknowledge_again(api, req, store, done)
        raise _not_found("The upload session was not found or has expired.")
    if req.method == "DELETE":
        store.sessions.pop(token, None)
        Path(session["part"]).unlink(missing_ok=True)
        return Response.empty()
    if req.method == "GET":
        return Response.json(_session_status(store, session))
    if req.method != "PUT":
        raise GraphFail(405, "invalidRequest", "Upload URLs take PUT (a fragment), GET (status) or DELETE.")
    found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", req.headers.get("content-range", "").strip())
    if not found:
        raise _invalid("A Content-Range header 'bytes start-end/total' is required.")
    first, last, total = (int(g) for g in found.groups())
    body = req.body
    if last < first or last >= total or len(body) != last - first + 1:
        raise _invalid("The Content-Range does not match the body's length or the file size.")
    if session["size"] not in (None, total):
        raise _invalid(f"The file size changed: {total} after {session['size']}.")
    if first != session["received"]:
        raise GraphFail(416, "invalidRange", f"Fragments must come in order: expected bytes {session['received']}-.")
    if len(body) > FRAGMENT_MAX:
        raise GraphFail(413, "requestTooLarge", "A fragment must be under 60 MiB.")
    if store.strict_fragments and last != total - 1 and len(body) % FRAGMENT_UNIT:
        raise _invalid("Fragments must be a multiple of 320 KiB (327,680 bytes), except the last.")
    drive = store.drives[session["drive"]]
    if session["size"] is None:
        _quota(drive, total, drive.item(session["item"]) if session["item"] else None)
        session["size"] = total
    body = store.take_corruption(body)
    store.fragments.append((token, first, len(body)))
    with open(session["part"], "ab") as handle:
        handle.write(body)
    session["hasher"].update(body)
    session["received"] = last + 1
    session["expires"] = store.now() + store.session_lifetime
    if session["received"] < total:
        answer: Any = Response.json(_session_status(store, session), 202)
    else:
        store.sessions.pop(token, None)
        ctx = Ctx(req, {}, api, prefix="drives/" + drive.id)
        try:
            answer = _commit(ctx, store, drive, session["parent"], session["name"], session["item"],
                             session["behavior"], Path(session["part"]), total, session["hasher"].hashes())
        finally:
            Path(session["part"]).unlink(missing_ok=True)
        if answer.status in (200, 201):
            store.completed[token] = {"drive": drive.id, "item": json.loads(answer.body)["id"],
                                      "range": req.headers.get("content-range", "").strip()}
    if store.drop_after is not None:
        store.drop_after -= 1
        if store.drop_after <= 0:
            store.drop_after = None
            return DROP  # stored, but the answer is lost: the client must ask where to resume
    return answer
