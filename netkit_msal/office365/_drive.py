"""``Office365.drive``: a OneDrive or SharePoint document library through Graph, 4D NetKit style.

An item is its id, or a path from the drive's root starting with ``/`` (``"/Reports/q4.csv"``; ``"/"``
is the root). Reads return Graph's driveItem JSON (or raise ``GraphError``); changes return a
``Status`` whose ``id`` is the item's and ``item`` its driveItem. Content moves through
``_drive_transfer`` (resumable, hash-verified); see there for how.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from typing import IO, Any, Optional, Union
from urllib.parse import quote

from .._exceptions import ConfigError, GraphError
from ._api import Api
from ._drive_transfer import (
    DEFAULT_CHUNK,
    Progress,
    Source,
    check_chunk_size,
    download,
    upload,
)
from ._options import ODATA_CHECKS, nonempty_text, one_of, validate
from ._status import GraphList, Status
from ._transport import GraphTimeoutError, Transport

_BEHAVIOR = one_of("fail", "replace", "rename")
_LIST_OPTIONS = {key: ODATA_CHECKS[key] for key in ("select", "top", "orderBy", "filter")}
#: Seconds between polls of a copy monitor: from ``first``, doubling up to ``most``.
_POLL_FIRST, _POLL_MOST = 0.05, 2.0


def item_segment(key: str, item: Any) -> str:
    """``/root``, ``/root:/a%20b/c.txt:`` or ``/items/{id}`` for an item given as a path or an id."""
    value = nonempty_text(key, item)
    if value.startswith("/"):
        path = value.rstrip("/")
        if not path:
            return "/root"
        if "//" in path or any(part in (".", "..") for part in path.split("/")[1:]):
            raise ConfigError(f"{key}: {value!r} is not a clean path (no empty, '.' or '..' parts)", key=key)
        return f"/root:{quote(path, safe='/')}:"
    if "/" in value:
        raise ConfigError(f"{key}: {value!r} is neither an id nor a path from the root (start it with '/')",
                          key=key)
    return "/items/" + quote(value, safe="")


def _name(key: str, value: Any) -> str:
    name = nonempty_text(key, value)
    if "/" in name or "\\" in name:
        raise ConfigError(f"{key}: a name has no '/' or '\\' (to move an item, use move)", key=key)
    return name


def _action(item_path: str, action: str) -> str:
    """``.../root:/a.txt:`` + ``/content`` -> ``.../root:/a.txt:/content`` (the colon closes the path)."""
    return item_path + "/" + action


class Drive(Api):
    """4D's ``Office365.drive`` (upstream ``Office365Drive``): list, get, upload, download, folders."""

    def __init__(self, transport: Transport, drive_path: str, mail_type: str = "Microsoft", *,
                 chunk_size: int = DEFAULT_CHUNK) -> None:
        self._drive_path = drive_path
        #: Bytes per upload-session request (a multiple of 320 KiB); what an upload holds in memory.
        self.chunk_size = check_chunk_size(chunk_size)
        super().__init__(transport, None, mail_type)

    @property
    def _base(self) -> str:
        """The drive's path (``/me/drive``, ``/drives/{id}``...), fixed when the Drive is made."""
        return self._drive_path

    def __repr__(self) -> str:
        return f"<Drive {self._base}>"

    def _path(self, key: str, item: Any) -> str:
        return self._base + item_segment(key, item)

    # --- reading ---------------------------------------------------------------------------

    def get_drive(self) -> dict[str, Any]:
        """The drive itself (``id``, ``driveType``, ``owner``, ``quota``)."""
        return self._transport.json("GET", self._base)

    def get_item(self, item: str) -> dict[str, Any]:
        """An item's driveItem JSON (``file`` or ``folder``, ``size``, ``parentReference``...)."""
        return self._transport.json("GET", self._path("item", item))

    def list(self, folder: str = "/", options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """A list object (``items``) of a folder's children, page by page; iterating walks every page.

        Options: ``select``, ``top`` (page size), ``orderBy``, ``filter``.
        """
        values = validate(options, _LIST_OPTIONS, "list options")
        return self._list(_action(self._path("folder", folder), "children"), values, "items")

    def get_file(self, item: str, destination: Union[None, str, os.PathLike[str], IO[bytes]] = None,
                 progress: Progress = None) -> Union[bytes, dict[str, Any]]:
        """A file's content: bytes without ``destination``; else streamed to a path (written to a
        temporary file beside it, renamed when complete and verified) or a binary file object, and
        the driveItem is returned. ``progress(done, total)`` is called as bytes arrive. A content
        hash that does not match the drive's raises ``GraphError`` (``error_code`` "hashMismatch")."""
        path = self._path("item", item)
        meta = self._transport.json("GET", path)
        if "folder" in meta:
            raise GraphError(f"get_file: {item!r} is a folder, not a file", status=400, error_code="notAFile")
        content = _action(path, "content")
        if destination is None:
            buffer = _Buffer()
            download(self._transport, meta, content, buffer, progress)
            return buffer.getvalue()
        if isinstance(destination, (str, os.PathLike)):
            target = os.fspath(destination)
            folder = os.path.dirname(os.path.abspath(target))
            fd, partial = tempfile.mkstemp(dir=folder, prefix=".netkit-download-")
            try:
                with os.fdopen(fd, "wb") as sink:
                    download(self._transport, meta, content, sink, progress)
                os.replace(partial, target)
            except BaseException:
                os.unlink(partial)
                raise
            return meta
        if not hasattr(destination, "write"):
            raise ConfigError("destination must be a file path or a binary file object, not "
                              f"{type(destination).__name__}", key="destination", code=10)
        download(self._transport, meta, content, destination, progress)
        return meta

    # --- writing ---------------------------------------------------------------------------

    def upload_file(self, source: Source, target: str, options: Optional[Mapping[str, Any]] = None,
                    progress: Progress = None) -> Status:
        """Upload ``source`` (bytes, a file path, or a binary file object) to ``target`` (a path from
        the root, or an existing file's id). Up to 4 MB in one request, larger in resumable chunks.

        Options: ``conflictBehavior`` "replace" (Graph's default), "rename" or "fail". The status's
        ``id`` and ``item`` are the uploaded file's; ``verified`` says whether its hash was checked.
        """
        values = validate(options, {"conflictBehavior": _BEHAVIOR}, "upload_file options")
        path = self._path("target", target)

        def run() -> Status:
            item, verified = upload(self._transport, _action(path, "content"), _action(path, "createUploadSession"),
                                    source, values.get("conflictBehavior"), progress, self.chunk_size)
            return Status.ok(201, "File uploaded", id=item.get("id"), item=item, verified=verified)

        return self._status(run)

    def create_folder(self, parent: str, name: str, options: Optional[Mapping[str, Any]] = None) -> Status:
        """Create a folder in ``parent``; options ``conflictBehavior`` ("fail" by default, as Graph)."""
        values = validate(options, {"conflictBehavior": _BEHAVIOR}, "create_folder options")
        body = {"name": _name("name", name), "folder": {},
                "@microsoft.graph.conflictBehavior": values.get("conflictBehavior", "fail")}
        path = _action(self._path("parent", parent), "children")

        def run() -> Status:
            created = self._transport.json("POST", path, json_body=body) or {}
            return Status.ok(201, "Folder created", id=created.get("id"), item=created)

        return self._status(run)

    def _patch(self, item: str, body: dict[str, Any], text: str, behavior: Optional[str]) -> Status:
        path = self._path("item", item)
        params = {"@microsoft.graph.conflictBehavior": behavior} if behavior else None

        def run() -> Status:
            changed = self._transport.json("PATCH", path, json_body=body, params=params) or {}
            return Status.ok(200, text, id=changed.get("id"), item=changed)

        return self._status(run)

    def rename(self, item: str, name: str, options: Optional[Mapping[str, Any]] = None) -> Status:
        """Give an item a new name in the same folder (options: ``conflictBehavior``, "fail" by default)."""
        values = validate(options, {"conflictBehavior": _BEHAVIOR}, "rename options")
        return self._patch(item, {"name": _name("name", name)}, "Item renamed", values.get("conflictBehavior"))

    def move(self, item: str, new_parent: str, options: Optional[Mapping[str, Any]] = None) -> Status:
        """Move an item into another folder of the same drive (options: ``conflictBehavior``, ``name``)."""
        values = validate(options, {"conflictBehavior": _BEHAVIOR, "name": _name}, "move options")
        path = self._path("item", item)
        parent_path = self._path("new_parent", new_parent)

        def run() -> Status:
            parent = self._transport.json("GET", parent_path, params={"$select": "id"}) or {}
            body: dict[str, Any] = {"parentReference": {"id": parent.get("id")}}
            if "name" in values:
                body["name"] = values["name"]
            params = {"@microsoft.graph.conflictBehavior": values["conflictBehavior"]} \
                if "conflictBehavior" in values else None
            moved = self._transport.json("PATCH", path, json_body=body, params=params) or {}
            return Status.ok(200, "Item moved", id=moved.get("id"), item=moved)

        return self._status(run)

    def copy(self, item: str, new_parent: str, name: Optional[str] = None,
             options: Optional[Mapping[str, Any]] = None, *, timeout: float = 60.0) -> Status:
        """Copy an item (a folder with its content) into ``new_parent``, optionally under a new name,
        and wait up to ``timeout`` seconds for Graph's asynchronous copy to finish. The status's ``id``
        is the copy's. Options: ``conflictBehavior`` ("fail" by default)."""
        values = validate(options, {"conflictBehavior": _BEHAVIOR}, "copy options")
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = _name("name", name)
        path = _action(self._path("item", item), "copy")
        parent_path = self._path("new_parent", new_parent)
        if timeout <= 0:
            raise ConfigError("timeout must be more than 0 seconds", key="timeout")

        def run() -> Status:
            parent = self._transport.json("GET", parent_path, params={"$select": "id,parentReference"}) or {}
            body["parentReference"] = {"id": parent.get("id"),
                                       "driveId": (parent.get("parentReference") or {}).get("driveId")}
            params = {"@microsoft.graph.conflictBehavior": values["conflictBehavior"]} \
                if "conflictBehavior" in values else None
            response = self._transport.request("POST", path, json_body=body, params=params)
            monitor = response.headers.get("Location")
            if response.status_code != 202 or not monitor:
                raise GraphError(f"Graph POST {path}: no copy monitor (HTTP {response.status_code})",
                                 status=response.status_code, error_code="noMonitor")
            new_id = self._wait_copy(monitor, timeout)
            return Status.ok(202, "Item copied", id=new_id)

        return self._status(run)

    def _wait_copy(self, monitor: str, timeout: float) -> Optional[str]:
        """Poll the monitor (no bearer: it is pre-authenticated) until completed, failed or timeout."""
        deadline = time.monotonic() + timeout
        delay = _POLL_FIRST
        while True:
            response = self._transport.request("GET", monitor, authorize=False)
            job = response.json() if response.content else {}
            state = str(job.get("status") or "").lower()
            if state == "completed" or response.status_code == 303:
                return job.get("resourceId")
            if state == "failed":
                error = job.get("error") or {}
                raise GraphError(f"copy failed: {error.get('message') or job.get('statusDescription') or 'no reason'}",
                                 status=response.status_code, error_code=error.get("code") or "copyFailed")
            if time.monotonic() + delay > deadline:
                raise GraphTimeoutError(f"copy: not finished after {timeout:g} s (the copy may still complete)",
                                        error_code="timeout")
            time.sleep(delay)
            delay = min(delay * 2, _POLL_MOST)

    def delete(self, item: str) -> Status:
        """Delete an item (a folder with its content); it goes to the recycle bin in Microsoft 365."""
        path = self._path("item", item)
        if path == self._base + "/root":
            raise ConfigError("item: the root of a drive cannot be deleted", key="item")
        return self._status(lambda: Status.ok(self._transport.request("DELETE", path).status_code, "Item deleted"))


class _Buffer:
    """A growing bytes sink for ``get_file`` without a destination."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(data)
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def drive_path(base: str, drive: Union[None, str, Mapping[str, Any]]) -> str:
    """``/me/drive``, ``/drives/{id}`` or ``/sites/{id}/drive`` for ``drive_of``'s argument."""
    if drive is None:
        return base + "/drive"
    if isinstance(drive, str):
        return "/drives/" + quote(nonempty_text("driveId", drive), safe="")
    values = validate(drive, {"driveId": nonempty_text, "siteId": nonempty_text}, "drive options")
    if len(values) != 1:
        raise ConfigError("drive options: give exactly one of driveId or siteId", key="driveId")
    if "driveId" in values:
        return "/drives/" + quote(values["driveId"], safe="")
    return "/sites/" + quote(values["siteId"], safe=",") + "/drive"
