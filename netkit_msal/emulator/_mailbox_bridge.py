"""One mailbox behind every door: the Graph store and Dovecot's maildir kept as one.

Dovecot stays the IMAP, POP3 and SMTP server, and its maildir holds what those doors see; the Graph
store holds what Graph sees. The bridge keeps the two equal through Dovecot's own IMAP door, logged
in as each mailbox's user with an emulator token:

- Graph to Dovecot, as it happens (a store listener): a message created in Graph (a delivery by
  ``sendMail``, Sent Items, a draft, either half of a move, which is a copy and a delete) is APPENDed
  to the matching IMAP folder; ``isRead`` and ``flag`` changes become ``\\Seen`` and ``\\Flagged``; a
  deletion is an expunge.
- Dovecot to Graph, before each Graph request: folders whose STATUS changed are listed; new UIDs
  (SMTP, LMTP, an IMAP APPEND or MOVE) become Graph messages, changed flags update ``isRead`` and
  ``flag``, vanished UIDs (POP3 DELE, IMAP EXPUNGE or MOVE) are deleted. A move made through IMAP is
  thus a delete and a create in Graph, with a new id, as Exchange gives a moved item.

What a user sends over SMTP is also kept in their Sent Items, as Exchange does. Only Graph's
well-known folders are bridged; changes to a message's content after creation (a draft edited
through Graph) are not carried to IMAP.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any, Optional

from ._graph._mime import message_to_mime, mime_to_message
from ._graph._store import change_key, message_record, now_iso

log = logging.getLogger("netkit_msal.emulator")

#: Graph well-known folder -> IMAP mailbox name (Exchange's names, "/" as separator).
FOLDERS = {"inbox": "INBOX", "sentitems": "Sent Items", "drafts": "Drafts", "deleteditems": "Deleted Items",
           "junkemail": "Junk Email", "archive": "Archive"}
_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")
_FETCH_FLAGS = re.compile(rb"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)")
_STATUS = re.compile(rb"\(([^)]*)\)\s*$")


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MailboxBridge:
    """Keeps ``api`` (the emulator's GraphApi) and a Dovecot's mailboxes as one; see the module docstring."""

    def __init__(self, api: Any, *, token_for: Callable[[str], str], host: str, port: int, ca_file: str,
                 delegates: Optional[Mapping[str, str]] = None) -> None:
        self._api = api
        self._token_for = token_for
        self._host = host
        self._port = port
        self._tls = ssl.create_default_context(cafile=ca_file)
        #: shared mailbox -> the delegate whose token opens it (Exchange's FullAccess)
        self._delegates = {k.lower(): v for k, v in (delegates or {}).items()}
        self._links: dict[str, tuple[str, str, int]] = {}  # graph id -> (upn, imap folder, uid)
        self._ids: dict[tuple[str, str, int], str] = {}
        self._status: dict[tuple[str, str], bytes] = {}
        self._conns: dict[str, imaplib.IMAP4_SSL] = {}
        self._quiet = False
        self._lock = threading.RLock()

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Copy every Graph message into Dovecot, then follow both sides."""
        with self._api.lock, self._lock:
            for box in list(self._api.store.mailboxes.values()):
                for message in list(box.messages.values()):
                    self._created(box, message)
            self._api.store.listeners.append(self._graph_changed)
            self._api.before_request.append(self.pull)

    def stop(self) -> None:
        with self._api.lock, self._lock:
            if self._graph_changed in self._api.store.listeners:
                self._api.store.listeners.remove(self._graph_changed)
            if self.pull in self._api.before_request:
                self._api.before_request.remove(self.pull)
            for conn in self._conns.values():
                try:
                    conn.logout()
                except (imaplib.IMAP4.error, OSError):
                    pass
            self._conns.clear()

    # -- IMAP ------------------------------------------------------------------------------------
    def _conn(self, upn: str) -> imaplib.IMAP4_SSL:
        conn = self._conns.get(upn)
        if conn is not None:
            try:
                conn.noop()
                return conn
            except (imaplib.IMAP4.error, OSError):
                self._conns.pop(upn, None)
        conn = imaplib.IMAP4_SSL(self._host, self._port, ssl_context=self._tls, timeout=30)
        token = self._token_for(self._delegates.get(upn.lower(), upn))
        conn.authenticate("XOAUTH2", lambda _: f"user={upn}\x01auth=Bearer {token}\x01\x01".encode())
        for name in FOLDERS.values():
            if name != "INBOX":
                conn.create(_quoted(name))  # NO when it exists: fine
        self._conns[upn] = conn
        return conn

    def _select(self, upn: str, folder: str) -> imaplib.IMAP4_SSL:
        conn = self._conn(upn)
        typ, data = conn.select(_quoted(folder))
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot select {folder}: {data!r}")
        return conn

    # -- Graph -> Dovecot --------------------------------------------------------------------------
    def _graph_changed(self, box: Any, kind: str, change: str, record: dict) -> None:
        if kind != "message" or self._quiet:
            return
        with self._lock:
            try:
                if change == "created":
                    self._created(box, record)
                elif change == "deleted":
                    self._deleted(record)
                else:
                    self._updated(record)
            except (imaplib.IMAP4.error, OSError) as exc:
                log.warning("mailbox bridge: Graph change not carried to Dovecot (%s)", exc)

    def _folder_of(self, box: Any, record: dict) -> Optional[str]:
        for name, imap_name in FOLDERS.items():
            if box.well_known.get(name) == record.get("parentFolderId"):
                return imap_name
        return None

    def _created(self, box: Any, record: dict) -> None:
        folder = self._folder_of(box, record)
        if folder is None or record.get("id") in self._links:
            return
        flags = " ".join(_flags(record))
        raw = message_to_mime(record, box.attachments.get(record["id"], []))
        typ, data = self._conn(box.upn).append(_quoted(folder), f"({flags})", None, raw)
        found = _APPENDUID.search(b" ".join(d for d in data if isinstance(d, bytes)))
        if typ == "OK" and found:
            self._link(record["id"], (box.upn, folder, int(found.group(1))))
        self._status.pop((box.upn, folder), None)

    def _updated(self, record: dict) -> None:
        where = self._links.get(str(record.get("id")))
        if where is None:
            return
        upn, folder, uid = where
        conn = self._select(upn, folder)
        wanted = set(_flags(record))
        for flag in ("\\Seen", "\\Flagged"):
            conn.uid("STORE", str(uid), "+FLAGS.SILENT" if flag in wanted else "-FLAGS.SILENT", f"({flag})")
        self._status.pop((upn, folder), None)

    def _deleted(self, record: dict) -> None:
        where = self._links.pop(str(record.get("id")), None)
        if where is None:
            return
        self._ids.pop(where, None)
        upn, folder, uid = where
        conn = self._select(upn, folder)
        conn.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        conn.uid("EXPUNGE", str(uid))
        self._status.pop((upn, folder), None)

    def save_sent(self, upn: str, raw: bytes) -> None:
        """Keep a message ``upn`` sent over SMTP in their Sent Items (Graph reads it at its next request)."""
        with self._lock:
            try:
                self._conn(upn).append(_quoted(FOLDERS["sentitems"]), "(\\Seen)", None, raw)
            except (imaplib.IMAP4.error, OSError) as exc:
                log.warning("mailbox bridge: a message sent over SMTP was not saved to Sent Items (%s)", exc)

    def _link(self, graph_id: str, where: tuple[str, str, int]) -> None:
        self._links[graph_id] = where
        self._ids[where] = graph_id

    # -- Dovecot -> Graph --------------------------------------------------------------------------
    def pull(self) -> None:
        """Bring into Graph what the other doors changed (called before each Graph request)."""
        with self._api.lock, self._lock:
            self._quiet = True
            try:
                for box in list(self._api.store.mailboxes.values()):
                    for name, folder in FOLDERS.items():
                        if box.well_known.get(name):
                            self._pull_folder(box, name, folder)
            except (imaplib.IMAP4.error, OSError) as exc:
                log.warning("mailbox bridge: Dovecot changes not carried to Graph (%s)", exc)
            finally:
                self._quiet = False

    def _pull_folder(self, box: Any, name: str, folder: str) -> None:
        conn = self._conn(box.upn)
        typ, data = conn.status(_quoted(folder), "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)")
        found = _STATUS.search(data[0] if typ == "OK" and data and isinstance(data[0], bytes) else b"")
        status = found.group(1) if found else b""
        if status and self._status.get((box.upn, folder)) == status:
            return
        conn = self._select(box.upn, folder)
        flags_by_uid = _uid_flags(conn)
        for where, graph_id in list(self._ids.items()):
            if where[:2] == (box.upn, folder) and where[2] not in flags_by_uid:
                self._links.pop(graph_id, None)
                del self._ids[where]
                if graph_id in box.messages:
                    box.delete_message(graph_id)
        for uid, flags in flags_by_uid.items():
            known = self._ids.get((box.upn, folder, uid))
            if known is None:
                self._arrived(conn, box, name, folder, uid, flags)
            elif known in box.messages:
                _apply_flags(box.messages[known], flags)
        self._status[(box.upn, folder)] = status

    def _arrived(self, conn: imaplib.IMAP4_SSL, box: Any, name: str, folder: str, uid: int, flags: set[str]) -> None:
        typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        raw = next((part[1] for part in data or [] if isinstance(part, tuple)), None)
        if typ != "OK" or raw is None:
            return
        try:
            fields, attachments = mime_to_message(raw)
        except (ValueError, LookupError):
            log.warning("mailbox bridge: message %s in %s of %s is not MIME Graph can read", uid, folder, box.upn)
            return
        fields["isRead"] = "\\Seen" in flags
        record = message_record(fields, now_iso(), draft="\\Draft" in flags)
        if "\\Flagged" in flags:
            record["flag"] = {"flagStatus": "flagged"}
        stored = box.add_message(record, box.well_known[name], attachments)
        self._link(stored["id"], (box.upn, folder, uid))


def _flags(record: dict) -> list[str]:
    flags = []
    if record.get("isRead"):
        flags.append("\\Seen")
    if (record.get("flag") or {}).get("flagStatus") == "flagged":
        flags.append("\\Flagged")
    if record.get("isDraft"):
        flags.append("\\Draft")
    return flags


def _apply_flags(record: dict, flags: set[str]) -> None:
    seen = "\\Seen" in flags
    flagged = "\\Flagged" in flags
    was_flagged = (record.get("flag") or {}).get("flagStatus") == "flagged"
    if bool(record.get("isRead")) == seen and was_flagged == flagged:
        return
    record["isRead"] = seen
    if was_flagged != flagged:
        record["flag"] = {"flagStatus": "flagged" if flagged else "notFlagged"}
    record["changeKey"] = change_key()
    record["lastModifiedDateTime"] = now_iso()  # reports the update to delta and subscriptions


def _uid_flags(conn: imaplib.IMAP4_SSL) -> dict[int, set[str]]:
    typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
    result: dict[int, set[str]] = {}
    for line in data or []:
        text = line[0] if isinstance(line, tuple) else line
        if not isinstance(text, bytes):
            continue
        found = _FETCH_FLAGS.search(text)
        if found:
            uid = int(found.group(1) or found.group(4))
            flags = (found.group(2) if found.group(2) is not None else found.group(3)).decode()
            result[uid] = set(flags.split())
    return result
