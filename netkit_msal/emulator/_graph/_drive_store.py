"""Drives and their items for the emulator: metadata in memory, file content on disk.

Every drive (a user's OneDrive, a site's document library) is a tree of item records keyed by id.
A file's bytes live in one file under the drives folder (inside the emulator's state directory), so
gigabyte files cost disk, not memory; hashes (``quickXorHash``, ``sha256Hash``) are computed as the
bytes arrive. Upload sessions write to their own part file until the last byte, then the part file
becomes the item's content with one rename. The store is not locked itself: GraphApi holds one lock.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from ...office365._quickxor import QuickXorHash
from .._directory import User
from ._store import new_id, now_iso

#: Graph's simple upload limit as the issue states it (larger files go through an upload session).
SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024
#: Upload-session fragments: multiples of 320 KiB (except the last), under 60 MiB each.
FRAGMENT_UNIT = 320 * 1024
FRAGMENT_MAX = 60 * 1024 * 1024
DEFAULT_QUOTA = 1024 ** 4  # 1 TiB, as a business OneDrive
SITES = {"root": "Contoso", "contoso.example,7b1c2d3e-0000-4000-8000-000000000001,"
                            "7b1c2d3e-0000-4000-8000-000000000002": "Contoso Reports"}
_MIME = {".txt": "text/plain", ".csv": "text/csv", ".json": "application/json", ".pdf": "application/pdf",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".bin": "application/octet-stream"}


class Conflict(Exception):
    """A name already taken in the folder (Graph: 409 nameAlreadyExists)."""


class Hasher:
    """The two hashes the emulator reports, fed as content arrives."""

    def __init__(self) -> None:
        self.quick = QuickXorHash()
        self.sha256 = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self.quick.update(data)
        self.sha256.update(data)

    def hashes(self) -> dict[str, str]:
        return {"quickXorHash": self.quick.b64digest(), "sha256Hash": self.sha256.hexdigest().upper()}


class Drive:
    """One drive: its item records (``_parent``, ``_children``, ``_blob`` are internal keys)."""

    def __init__(self, store: DriveStore, drive_id: str, drive_type: str, name: str, owner: dict,
                 owner_id: Optional[str]) -> None:
        self.store = store
        self.id = drive_id
        self.drive_type = drive_type
        self.name = name
        self.owner = owner
        self.owner_id = owner_id
        self.quota_total = DEFAULT_QUOTA
        self.items: dict[str, dict] = {}
        stamp = now_iso()
        self.root = self._record("root", None, stamp, folder=True, item_id=new_id("01ROOT", drive_id))
        self.root["root"] = {}

    # -- records ------------------------------------------------------------------------------
    def _record(self, name: str, parent: Optional[dict], stamp: str, *, folder: bool,
                item_id: Optional[str] = None) -> dict:
        item_id = item_id or "01" + uuid.uuid4().hex.upper()[:30]
        record: dict[str, Any] = {
            "id": item_id, "name": name, "createdDateTime": stamp, "lastModifiedDateTime": stamp,
            "size": 0, "createdBy": self.owner, "lastModifiedBy": self.owner, "_version": 1,
            "_parent": parent["id"] if parent else None, "_children": {} if folder else None,
        }
        self.items[item_id] = record
        if parent is not None:
            parent["_children"][name.lower()] = item_id
            self.touch(parent)
        return record

    def touch(self, record: dict) -> None:
        record["_version"] += 1
        record["lastModifiedDateTime"] = now_iso()

    def item(self, item_id: str) -> Optional[dict]:
        return self.items.get(item_id)

    def child(self, folder: dict, name: str) -> Optional[dict]:
        item_id = (folder.get("_children") or {}).get(name.lower())
        return self.items.get(item_id) if item_id else None

    def children(self, folder: dict) -> list[dict]:
        return [self.items[i] for i in (folder.get("_children") or {}).values()]

    def parent(self, record: dict) -> Optional[dict]:
        return self.items.get(record["_parent"]) if record["_parent"] else None

    def path_of(self, record: dict) -> str:
        """``/a/b`` from the root (the root itself is ``""``)."""
        names = []
        while record["_parent"]:
            names.append(record["name"])
            record = self.items[record["_parent"]]
        return "".join("/" + name for name in reversed(names))

    def resolve(self, base: dict, path: str) -> tuple[Optional[dict], Optional[dict], str]:
        """(item, its parent, last name) for a path under ``base``; item None when it does not exist."""
        names = [part for part in path.split("/") if part]
        current: Optional[dict] = base
        parent = base
        for name in names:
            if current is None or current["_children"] is None:
                return None, None, name
            parent = current
            current = self.child(current, name)
        return current, parent if names else self.parent(base), names[-1] if names else base["name"]

    def is_under(self, record: dict, folder: dict) -> bool:
        while record is not None:
            if record["id"] == folder["id"]:
                return True
            record = self.parent(record)  # type: ignore[assignment]
        return False

    def used(self) -> int:
        return sum(r["size"] for r in self.items.values() if r["_children"] is None)

    def free_name(self, folder: dict, name: str) -> str:
        """OneDrive's rename on conflict: ``report.csv`` -> ``report 1.csv``, ``report 2.csv``..."""
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        number = 1
        while True:
            candidate = f"{stem} {number}" + (f".{ext}" if ext else "")
            if self.child(folder, candidate) is None:
                return candidate
            number += 1

    def place(self, folder: dict, name: str, behavior: str, *, replacing_ok: bool) -> tuple[str, Optional[dict]]:
        """The name to use in ``folder`` and the item to replace, per ``conflictBehavior``."""
        existing = self.child(folder, name)
        if existing is None:
            return name, None
        if behavior == "rename":
            return self.free_name(folder, name), None
        if behavior == "replace" and replacing_ok:
            return name, existing
        raise Conflict(name)

    # -- changes ------------------------------------------------------------------------------
    def add_folder(self, parent: dict, name: str) -> dict:
        record = self._record(name, parent, now_iso(), folder=True)
        record["folder"] = {"childCount": 0}
        return record

    def ensure_folders(self, base: dict, names: list[str]) -> dict:
        """Folders along ``names`` under ``base``, created where missing (uploads to a path do this)."""
        current = base
        for name in names:
            found = self.child(current, name)
            if found is None:
                found = self.add_folder(current, name)
            elif found["_children"] is None:
                raise Conflict(name)
            current = found
        return current

    def write_file(self, parent: dict, name: str, part: Path, size: int, hashes: dict[str, str],
                   existing: Optional[dict]) -> tuple[dict, bool]:
        """Make ``part`` the content of a new item or of ``existing``; (record, created)."""
        record = existing or self._record(name, parent, now_iso(), folder=False)
        blob = self.store.blob_path(record["id"])
        os.replace(part, blob)
        ext = os.path.splitext(name)[1].lower()
        record.update(size=size, file={"mimeType": _MIME.get(ext, "application/octet-stream"), "hashes": hashes})
        if existing is not None:
            self.touch(existing)
            self.touch(parent)
        return record, existing is None

    def delete(self, record: dict) -> None:
        for child in self.children(record) if record["_children"] is not None else []:
            self.delete(child)
        parent = self.parent(record)
        if parent is not None:
            parent["_children"].pop(record["name"].lower(), None)
            self.touch(parent)
        self.items.pop(record["id"], None)
        blob = self.store.blob_path(record["id"])
        if blob.exists():
            blob.unlink()

    def move(self, record: dict, parent: dict, name: str) -> None:
        old = self.parent(record)
        if old is not None:
            old["_children"].pop(record["name"].lower(), None)
            self.touch(old)
        record["name"] = name
        record["_parent"] = parent["id"]
        parent["_children"][name.lower()] = record["id"]
        self.touch(parent)
        self.touch(record)

    def copy(self, record: dict, target: Drive, parent: dict, name: str) -> dict:
        """A deep copy (new ids) under ``parent`` of ``target``; content files are copied on disk."""
        if record["_children"] is not None:
            new = target.add_folder(parent, name)
            for child in self.children(record):
                self.copy(child, target, new, child["name"])
            return new
        new = target._record(name, parent, now_iso(), folder=False)
        shutil.copyfile(self.store.blob_path(record["id"]), self.store.blob_path(new["id"]))
        new.update(size=record["size"], file=dict(record["file"]))
        return new


class DriveStore:
    """Every drive of the tenant, created on first use; content under ``folder``."""

    def __init__(self, folder: Optional[Path] = None, now: Optional[Callable[[], float]] = None) -> None:
        import time

        self.folder = Path(tempfile.mkdtemp(prefix="drives-")) if folder is None else folder
        self.content = self.folder / "content"
        self.uploads = self.folder / "uploads"
        self.now = now or time.time
        self.drives: dict[str, Drive] = {}
        self.by_owner: dict[str, str] = {}
        #: Upload sessions, download URLs and copy monitors, by their URL token.
        self.sessions: dict[str, dict] = {}
        self.downloads: dict[str, dict] = {}
        self.monitors: dict[str, dict] = {}
        #: Finished upload sessions: their last fragment may be sent again (and is answered again).
        self.completed: dict[str, dict] = {}
        # Knobs (tests and the benchmark set them).
        self.session_lifetime = 3600.0
        self.download_lifetime = 3600.0
        #: Polls of a copy monitor that answer "inProgress" before "completed".
        self.copy_polls = 1
        #: Enforce 320 KiB multiples; msgraph-core's LargeFileUploadTask sends 1 byte more than asked.
        self.strict_fragments = True
        #: "start-" as the drive docs show; "start-end" is the uploadSession resource's wording.
        self.range_style = "start-"
        #: Drop the connection after storing this many more fragments (None: never): the fragment is
        #: kept but its answer is lost, so the client has to ask where to resume.
        self.drop_after: Optional[int] = None
        #: Flip a bit of the next stored upload (fragment or simple PUT), as corruption in transit would.
        self.corrupt_next = False
        #: Every upload-session fragment stored: (session token, first byte, length), for tests.
        self.fragments: list[tuple[str, int, int]] = []
        #: How many simple (one PUT) uploads were stored.
        self.simple_uploads = 0
        #: Send only this many bytes of the next download, then close the connection (None: never).
        self.cut_download_after: Optional[int] = None
        #: Downloads answered with 206 (a ``Range`` request, e.g. a client resuming).
        self.ranged_downloads = 0

    def close(self) -> None:
        """Forget every drive and remove its content (item metadata is not persisted, so the bytes
        would be orphans); a restarted emulator starts with empty drives."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.drives.clear()
        self.by_owner.clear()
        self.sessions.clear()
        self.downloads.clear()
        self.monitors.clear()
        self.completed.clear()

    def _ensure(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def blob_path(self, item_id: str) -> Path:
        return self._ensure(self.content) / item_id

    def take_corruption(self, data: bytes) -> bytes:
        """``data`` as stored: with its first bit flipped when ``corrupt_next`` was set."""
        if not self.corrupt_next or not data:
            return data
        self.corrupt_next = False
        return bytes([data[0] ^ 1]) + data[1:]

    def token(self) -> str:
        return secrets.token_urlsafe(24)

    # -- drives -------------------------------------------------------------------------------
    def user_drive(self, user: User) -> Drive:
        drive_id = self.by_owner.get(user.id)
        if drive_id is None:
            drive_id = "b!" + new_id("", "drive", user.id)
            owner = {"user": {"id": user.id, "displayName": user.display_name, "email": user.upn}}
            self.drives[drive_id] = Drive(self, drive_id, "business", "OneDrive", owner, user.id)
            self.by_owner[user.id] = drive_id
        return self.drives[drive_id]

    def site_drive(self, site_id: str) -> Optional[Drive]:
        name = SITES.get(site_id)
        if name is None:
            return None
        key = "site:" + site_id
        drive_id = self.by_owner.get(key)
        if drive_id is None:
            drive_id = "b!" + new_id("", "site", site_id)
            owner = {"group": {"id": new_id("", "group", site_id)[:36], "displayName": name}}
            self.drives[drive_id] = Drive(self, drive_id, "documentLibrary", "Documents", owner, None)
            self.by_owner[key] = drive_id
        return self.drives[drive_id]

    def find(self, drive_id: str, users: list[User]) -> Optional[Drive]:
        """A drive by id; users' drives and site libraries exist before their first use, as in Graph."""
        if drive_id not in self.drives:
            for user in users:
                if "b!" + new_id("", "drive", user.id) == drive_id:
                    return self.user_drive(user)
            for site_id in SITES:
                if "b!" + new_id("", "site", site_id) == drive_id:
                    return self.site_drive(site_id)
        return self.drives.get(drive_id)

    def part_file(self, token: str) -> Path:
        return self._ensure(self.uploads) / token
