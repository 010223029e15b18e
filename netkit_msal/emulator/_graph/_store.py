"""Mailboxes, folders, messages, attachments, calendars, events and categories, in memory.

Records are plain dicts holding Graph's JSON properties, so rendering is a copy; keys starting with
``_`` are internal (attachment bytes, event bounds as epoch seconds) and never rendered. Seeded content
is deterministic (ids derive from the user and an index) with dates relative to the seeding day.
The store is not locked itself: GraphApi holds one lock around every request.

Change events: every create, update and delete of a message or an event is reported, in one place, to
the functions in ``Store.listeners`` as ``(mailbox, kind, change, record)`` (``kind`` is "message" or
"event", ``change`` "created", "updated" or "deleted"); delta queries and subscriptions feed on them.
Messages and events live in observed dicts, and a message record reports an in-place update when its
``lastModifiedDateTime`` is written (every handler that changes a message does so).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from .._directory import Directory, User
from ._mime import html_to_text
from ._odata import parse_datetime

#: Well-known folder names usable as ids, with their display names; all under ``msgfolderroot``.
WELL_KNOWN = {
    "inbox": "Inbox", "drafts": "Drafts", "sentitems": "Sent Items", "deleteditems": "Deleted Items",
    "junkemail": "Junk Email", "archive": "Archive", "outbox": "Outbox",
}
ROOT = "msgfolderroot"

_CATEGORIES = [("Red category", "preset0"), ("Orange category", "preset1"), ("Yellow category", "preset3"),
               ("Green category", "preset4"), ("Blue category", "preset7"), ("Purple category", "preset8")]

_SEED_MAIL = [
    ("Quarterly retail figures", "Hi {first},<br><br>The quarterly figures are attached. Sales are up in "
     "every region; <b>Contoso North</b> leads.<br><br>{sender}", ("q3-figures.csv", "text/csv",
                                                                    b"region,sales\nnorth,1200\nsouth,950\n")),
    ("Team lunch on Friday", "Hi {first},<br><br>Shall we meet at noon in the cafeteria?<br><br>{sender}", None),
    ("Marketing plan draft", "Hello {first},<br><br>Here is the draft plan for next quarter. Comments "
     "welcome before Thursday.<br><br>{sender}", ("plan.txt", "text/plain",
                                                   b"1. Launch\n2. Campaign\n3. Review\n")),
    ("Welcome to Contoso", "Welcome aboard, {first}! Your badge is ready at the front desk.<br><br>{sender}",
     None),
    ("Holiday schedule", "Hi {first},<br><br>Please add your holidays to the shared calendar by the end "
     "of the month.<br><br>{sender}", None),
    ("Parking badge renewal", "Hi {first},<br><br>Parking badges expire next week; renewals are open."
     "<br><br>{sender}", None),
]


def iso(moment: datetime) -> str:
    """Graph's UTC date-time form for messages: ``2026-01-05T10:00:00Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def new_id(prefix: str, *seed: Any) -> str:
    """A Graph-like opaque id: deterministic from ``seed`` when given, random otherwise (URL-safe)."""
    if seed:
        digest = hashlib.sha256("|".join(map(str, seed)).encode()).digest()[:24]
    else:
        digest = secrets.token_bytes(24)
    return prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def change_key() -> str:
    return "CQAAABYAAA" + secrets.token_urlsafe(12)


def recipient(user: User) -> dict:
    return {"emailAddress": {"name": user.display_name, "address": user.upn}}


def preview(body: dict) -> str:
    content = body.get("content") or ""
    text = html_to_text(content) if (body.get("contentType") or "").lower() == "html" else content
    return " ".join(text.split())[:255]


#: ``(mailbox, kind, change, record)``: told of every message and event created, updated or deleted.
ChangeListener = Callable[["Mailbox", str, str, dict], None]


class Record(dict):
    """A stored message: reports an in-place update when ``lastModifiedDateTime`` is written.

    Copies (``copy.deepcopy``, ``{**record}``) are plain dicts that report nothing.
    """

    __slots__ = ("_box",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._box: Optional[Mailbox] = None

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        box = self._box
        if key == "lastModifiedDateTime" and box is not None and box.messages.get(self.get("id", "")) is self:
            box.changed("message", "updated", self)

    def __copy__(self) -> dict:
        return dict(self)

    def __deepcopy__(self, memo: dict) -> dict:
        return copy.deepcopy(dict(self), memo)


class _Observed(dict):
    """Items by id that tell their mailbox when one is added, replaced or removed."""

    __slots__ = ("_box", "_kind")

    def __init__(self, box: Mailbox, kind: str) -> None:
        super().__init__()
        self._box = box
        self._kind = kind

    def __setitem__(self, key: str, value: dict) -> None:
        existed = key in self
        if self._kind == "message" and not isinstance(value, Record):
            value = Record(value)
        if isinstance(value, Record):
            value._box = self._box
        super().__setitem__(key, value)
        self._box.changed(self._kind, "updated" if existed else "created", value)

    def __delitem__(self, key: str) -> None:
        value = self[key]
        super().__delitem__(key)
        self._forget(value)

    _MISSING = object()

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self:
            if default is self._MISSING:
                raise KeyError(key)
            return default
        value = super().pop(key)
        self._forget(value)
        return value

    def _forget(self, value: dict) -> None:
        if isinstance(value, Record):
            value._box = None
        self._box.changed(self._kind, "deleted", value)

    def load(self, items: Iterable[dict]) -> None:
        """Fill from saved state without reporting anything."""
        for item in items:
            if self._kind == "message":
                item = Record(item)
                item._box = self._box
            dict.__setitem__(self, item["id"], item)


class Mailbox:
    """One user's mail folders, messages, attachments, calendars, events and categories."""

    def __init__(self, user_id: str, upn: str, display_name: str) -> None:
        self.user_id = user_id
        self.upn = upn
        self.display_name = display_name
        self.folders: dict[str, dict] = {}
        self.well_known: dict[str, str] = {}
        #: Told of every change (the store sets it); see the module docstring.
        self.on_change: Optional[ChangeListener] = None
        self.messages: dict[str, dict] = _Observed(self, "message")
        #: folder id -> message ids in insertion order (a dict as an ordered set).
        self.by_folder: dict[str, dict[str, None]] = {}
        self.attachments: dict[str, list[dict]] = {}
        self.calendars: dict[str, dict] = {}
        self.events: dict[str, dict] = _Observed(self, "event")
        self.categories: list[dict] = []

    def changed(self, kind: str, change: str, record: dict) -> None:
        if self.on_change is not None:
            self.on_change(self, kind, change, record)

    # -- folders ---------------------------------------------------------------------------
    def folder(self, key: str) -> Optional[dict]:
        """A folder by id or well-known name (case-insensitive)."""
        folder = self.folders.get(key)
        if folder is None:
            folder_id = self.well_known.get(key.lower())
            folder = self.folders.get(folder_id) if folder_id else None
        return folder

    def add_folder(self, name: str, parent_id: Optional[str], *, hidden: bool = False,
                   well_known: Optional[str] = None, folder_id: Optional[str] = None) -> dict:
        folder: dict[str, Any] = {
            "id": folder_id or new_id("AAMkAGFld"),
            "displayName": name,
            "parentFolderId": parent_id,
            "isHidden": hidden,
        }
        self.folders[folder["id"]] = folder
        self.by_folder[folder["id"]] = {}
        if well_known:
            self.well_known[well_known] = folder["id"]
        return folder

    def children(self, folder_id: str) -> list[dict]:
        return [f for f in self.folders.values() if f["parentFolderId"] == folder_id]

    def folder_view(self, folder: dict) -> dict:
        """The folder as Graph renders it, counts included."""
        ids = self.by_folder[folder["id"]]
        unread = sum(1 for mid in ids if not self.messages[mid].get("isRead"))
        return {
            "id": folder["id"],
            "displayName": folder["displayName"],
            "parentFolderId": folder["parentFolderId"],
            "childFolderCount": len(self.children(folder["id"])),
            "unreadItemCount": unread,
            "totalItemCount": len(ids),
            "sizeInBytes": sum(len(self.messages[mid].get("body", {}).get("content") or "") for mid in ids),
            "isHidden": folder["isHidden"],
        }

    def delete_folder(self, folder_id: str) -> None:
        for child in self.children(folder_id):
            self.delete_folder(child["id"])
        for message_id in list(self.by_folder[folder_id]):
            self.delete_message(message_id)
        del self.by_folder[folder_id]
        del self.folders[folder_id]

    # -- messages --------------------------------------------------------------------------
    def add_message(self, record: dict, folder_id: str, attachments: Iterable[dict] = (),
                    message_id: Optional[str] = None) -> dict:
        record["id"] = message_id or new_id("AAMkAGMsg")
        record["parentFolderId"] = folder_id
        record["changeKey"] = change_key()
        stored = [dict(a) for a in attachments]
        for index, attachment in enumerate(stored):
            attachment.setdefault("id", new_id("AAMkAGAtt", record["id"], index) if message_id else new_id("AAMkAGAtt"))
        record["hasAttachments"] = any(not a.get("isInline") for a in stored)
        self.by_folder[folder_id][record["id"]] = None
        if stored:
            self.attachments[record["id"]] = stored
        self.messages[record["id"]] = record
        return self.messages[record["id"]]

    def delete_message(self, message_id: str) -> None:
        record = self.messages.pop(message_id)
        self.by_folder[record["parentFolderId"]].pop(message_id, None)
        self.attachments.pop(message_id, None)

    def copy_message(self, message_id: str, folder_id: str) -> dict:
        """A copy in another folder, with a new id (as Exchange does)."""
        record = json.loads(json.dumps(self.messages[message_id]))
        attachments = [{**a, "id": new_id("AAMkAGAtt")} for a in self.attachments.get(message_id, [])]
        record["lastModifiedDateTime"] = now_iso()
        return self.add_message(record, folder_id, attachments)

    def move_message(self, message_id: str, folder_id: str) -> dict:
        """Moved to another folder; Exchange gives the moved item a new id, so does the emulator."""
        moved = self.copy_message(message_id, folder_id)
        self.delete_message(message_id)
        return moved

    # -- calendars -------------------------------------------------------------------------
    def default_calendar(self) -> dict:
        return next(c for c in self.calendars.values() if c["isDefaultCalendar"])

    def calendar(self, key: str) -> Optional[dict]:
        return self.calendars.get(key)

    def add_calendar(self, name: str, *, default: bool = False, color: str = "auto",
                     calendar_id: Optional[str] = None) -> dict:
        calendar: dict[str, Any] = {
            "id": calendar_id or new_id("AAMkAGCal"),
            "name": name,
            "color": color,
            "hexColor": "",
            "isDefaultCalendar": default,
            "changeKey": change_key(),
            "canShare": True,
            "canViewPrivateItems": True,
            "canEdit": True,
            "isRemovable": not default,
            "isTallyingResponses": True,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness",
            "owner": {"name": self.display_name, "address": self.upn},
        }
        self.calendars[calendar["id"]] = calendar
        return calendar

    # -- persistence -----------------------------------------------------------------------
    def to_json(self) -> dict:
        attachments = {
            mid: [{**{k: v for k, v in a.items() if k != "_bytes"},
                   "_b64": base64.b64encode(a["_bytes"]).decode()} for a in items]
            for mid, items in self.attachments.items()
        }
        return {"user_id": self.user_id, "upn": self.upn, "display_name": self.display_name,
                "folders": list(self.folders.values()), "well_known": self.well_known,
                "messages": list(self.messages.values()), "attachments": attachments,
                "calendars": list(self.calendars.values()), "events": list(self.events.values()),
                "categories": self.categories}

    @classmethod
    def from_json(cls, data: dict) -> Mailbox:
        box = cls(data["user_id"], data["upn"], data["display_name"])
        for folder in data["folders"]:
            box.folders[folder["id"]] = folder
            box.by_folder[folder["id"]] = {}
        box.well_known = data["well_known"]
        box.messages.load(data["messages"])  # type: ignore[attr-defined]
        for message in data["messages"]:
            box.by_folder[message["parentFolderId"]][message["id"]] = None
        for mid, items in data["attachments"].items():
            box.attachments[mid] = [{**{k: v for k, v in a.items() if k != "_b64"},
                                     "_bytes": base64.b64decode(a["_b64"])} for a in items]
        box.calendars = {c["id"]: c for c in data["calendars"]}
        box.events.load(data["events"])  # type: ignore[attr-defined]
        box.categories = data["categories"]
        return box


def event_bounds(event: dict) -> tuple[float, float]:
    """Start and end of a stored event (stored in UTC) as epoch seconds."""
    return (parse_datetime(event["start"]["dateTime"]).timestamp(),
            parse_datetime(event["end"]["dateTime"]).timestamp())


def event_time(moment: datetime) -> dict:
    return {"dateTime": moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
            "timeZone": "UTC"}


class Store:
    """Every mailbox of the tenant, created (and seeded) on first use, optionally persisted as JSON."""

    def __init__(self, directory: Directory, state_file: Optional[str] = None) -> None:
        self.directory = directory
        self.state_file = state_file
        self.mailboxes: dict[str, Mailbox] = {}
        #: Functions told of every message and event change (see the module docstring).
        self.listeners: list[ChangeListener] = []
        self.seed_day = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as handle:
                data = json.load(handle)
            self.mailboxes = {uid: Mailbox.from_json(box) for uid, box in data["mailboxes"].items()}
            for box in self.mailboxes.values():
                box.on_change = self._changed
        else:
            for user in directory.users:
                self.mailbox(user)

    def mailbox(self, user: User) -> Mailbox:
        box = self.mailboxes.get(user.id)
        if box is None:
            box = self.mailboxes[user.id] = Mailbox(user.id, user.upn, user.display_name)
            self._seed_structure(box)
            self._seed_content(box, user)
            box.on_change = self._changed  # seeding is not a change anyone is told of
        return box

    def _changed(self, box: Mailbox, kind: str, change: str, record: dict) -> None:
        for listener in list(self.listeners):
            listener(box, kind, change, record)

    def save(self) -> None:
        """Write every mailbox to the state file atomically (no-op without one)."""
        if not self.state_file:
            return
        data = {"version": 1, "mailboxes": {uid: box.to_json() for uid, box in self.mailboxes.items()}}
        folder = os.path.dirname(os.path.abspath(self.state_file))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".graph-state-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.state_file)

    # -- seeding ---------------------------------------------------------------------------
    def _seed_structure(self, box: Mailbox) -> None:
        root = box.add_folder("Top of Information Store", None, well_known=ROOT,
                              folder_id=new_id("AAMkAGFld", box.user_id, ROOT))
        for name, display in WELL_KNOWN.items():
            box.add_folder(display, root["id"], well_known=name, folder_id=new_id("AAMkAGFld", box.user_id, name))
        box.add_calendar("Calendar", default=True, calendar_id=new_id("AAMkAGCal", box.user_id, "calendar"))
        box.add_calendar("Birthdays", color="lightGreen", calendar_id=new_id("AAMkAGCal", box.user_id, "birthdays"))
        box.categories = [{"id": str(uuid.UUID(bytes=hashlib.sha256(f"{box.user_id}|{name}".encode()).digest()[:16])),
                           "displayName": name, "color": color} for name, color in _CATEGORIES]

    def _seed_content(self, box: Mailbox, user: User) -> None:
        colleagues = [u for u in self.directory.users if u.id != user.id and not u.shared]
        if not colleagues:
            return
        inbox = box.well_known["inbox"]
        count = 2 if user.shared else len(_SEED_MAIL)
        for index in range(count):
            subject, body, attachment = _SEED_MAIL[index]
            sender = colleagues[index % len(colleagues)]
            received = self.seed_day - timedelta(hours=5 * (index + 1))
            record = self.new_message(
                subject=subject, sender=recipient(sender), to=[recipient(user)],
                body={"contentType": "html",
                      "content": body.format(first=user.given_name or user.display_name,
                                             sender=sender.given_name)},
                moment=received, is_read=index >= 3)
            attachments = []
            if attachment:
                name, content_type, content = attachment
                attachments.append(new_attachment(name, content_type, content, iso(received)))
            box.add_message(record, inbox, attachments,
                            message_id=new_id("AAMkAGMsg", user.id, "seed", index))
        if user.shared:
            return
        sent_to = colleagues[0]
        record = self.new_message(subject="Re: Team lunch on Friday", sender=recipient(user), to=[recipient(sent_to)],
                                  body={"contentType": "text", "content": "Noon works for me."},
                                  moment=self.seed_day - timedelta(hours=2), is_read=True)
        box.add_message(record, box.well_known["sentitems"], message_id=new_id("AAMkAGMsg", user.id, "sent"))
        draft = self.new_message(subject="Notes for the review", sender=recipient(user), to=[],
                                 body={"contentType": "text", "content": "To do: figures, staffing."},
                                 moment=self.seed_day - timedelta(hours=1), is_read=True, draft=True)
        box.add_message(draft, box.well_known["drafts"], message_id=new_id("AAMkAGMsg", user.id, "draft"))
        calendar = box.default_calendar()["id"]
        day = self.seed_day
        for index, (subject, start, minutes, attendees, all_day) in enumerate([
            ("Weekly sync", day + timedelta(hours=9), 30, colleagues[:3], False),
            (f"Lunch with {colleagues[0].given_name}", day + timedelta(days=1, hours=12), 60, colleagues[:1],
             False),
            ("Quarterly review", day + timedelta(days=3, hours=14), 90, colleagues, False),
            ("Company offsite", day + timedelta(days=7), 24 * 60, [], True),
        ]):
            event = new_event(
                subject=subject, start=start, end=start + timedelta(minutes=minutes), organizer=user,
                attendees=[{"type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                            "emailAddress": {"name": a.display_name, "address": a.upn}} for a in attendees],
                location="Room 1" if not all_day else "", is_all_day=all_day, calendar_id=calendar,
                event_id=new_id("AAMkAGEvt", user.id, index), created=iso(self.seed_day - timedelta(days=1)))
            box.events[event["id"]] = event

    @staticmethod
    def new_message(*, subject: str, sender: Optional[dict], to: list[dict], body: dict, moment: datetime,
                    is_read: bool = False, draft: bool = False, cc: Optional[list[dict]] = None) -> dict:
        stamp = iso(moment)
        return message_record({"subject": subject, "from": sender, "sender": sender, "toRecipients": to,
                               "ccRecipients": cc or [], "body": body, "isRead": is_read}, stamp, draft=draft)

    def seed_messages(self, user: User, count: int, folder: str = "inbox") -> list[str]:
        """Add ``count`` generated messages to a folder of a user's mailbox (benchmarks); returns their ids."""
        box = self.mailbox(user)
        target = box.folder(folder)
        if target is None:
            raise KeyError(f"no folder {folder!r} in {user.upn}'s mailbox")
        colleagues = [u for u in self.directory.users if u.id != user.id and not u.shared] or [user]
        start = len(box.messages)
        now = datetime.now(timezone.utc)
        ids = []
        for index in range(count):
            sender = colleagues[index % len(colleagues)]
            record = self.new_message(
                subject=f"Generated message {start + index}", sender=recipient(sender), to=[recipient(user)],
                body={"contentType": "text", "content": f"Body of generated message {start + index}."},
                moment=now - timedelta(seconds=count - index), is_read=index % 2 == 1)
            ids.append(box.add_message(record, target["id"])["id"])
        return ids


def message_record(fields: dict, stamp: str, *, draft: bool) -> dict:
    """A complete stored message from the given Graph properties, defaults filled as Graph does."""
    body = fields.get("body") or {"contentType": "text", "content": ""}
    sender = fields.get("from") or fields.get("sender")
    record = {
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "categories": list(fields.get("categories") or []),
        "receivedDateTime": stamp,
        "sentDateTime": None if draft else stamp,
        "hasAttachments": False,
        "internetMessageId": fields.get("internetMessageId") or f"<{secrets.token_hex(12)}@contoso.example>",
        "subject": fields.get("subject") or "",
        "bodyPreview": preview(body),
        "importance": fields.get("importance") or "normal",
        "conversationId": fields.get("conversationId") or new_id("AAQkAGCnv"),
        "isDeliveryReceiptRequested": bool(fields.get("isDeliveryReceiptRequested")),
        "isReadReceiptRequested": bool(fields.get("isReadReceiptRequested")),
        "isRead": True if draft else bool(fields.get("isRead", False)),
        "isDraft": draft,
        "webLink": "",
        "inferenceClassification": fields.get("inferenceClassification") or "focused",
        "body": {"contentType": (body.get("contentType") or "text").lower(), "content": body.get("content") or ""},
        "sender": fields.get("sender") or sender,
        "from": sender,
        "toRecipients": list(fields.get("toRecipients") or []),
        "ccRecipients": list(fields.get("ccRecipients") or []),
        "bccRecipients": list(fields.get("bccRecipients") or []),
        "replyTo": list(fields.get("replyTo") or []),
        "flag": fields.get("flag") or {"flagStatus": "notFlagged"},
    }
    return Record(record)


def new_attachment(name: str, content_type: str, content: bytes, stamp: str, *, is_inline: bool = False,
                   content_id: Optional[str] = None) -> dict:
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "lastModifiedDateTime": stamp,
        "name": name,
        "contentType": content_type,
        "size": len(content),
        "isInline": is_inline,
        "contentId": content_id,
        "contentLocation": None,
        "_bytes": content,
    }


def new_event(*, subject: str, start: datetime, end: datetime, organizer: User, attendees: list[dict],
              location: str, is_all_day: bool, calendar_id: str, event_id: Optional[str] = None,
              created: Optional[str] = None, body: Optional[dict] = None, time_zone: str = "UTC") -> dict:
    stamp = created or now_iso()
    body = body or {"contentType": "html", "content": ""}
    event_key = event_id or new_id("AAMkAGEvt")
    return {
        "id": event_key,
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "changeKey": change_key(),
        "categories": [],
        "originalStartTimeZone": time_zone,
        "originalEndTimeZone": time_zone,
        "iCalUId": "040000008200E00074C5B7101A82E008" + hashlib.sha256(event_key.encode()).hexdigest()[:32],
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": not is_all_day,
        "subject": subject,
        "bodyPreview": preview(body),
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": is_all_day,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": True,
        "showAs": "free" if is_all_day else "busy",
        "type": "singleInstance",
        "webLink": "",
        "onlineMeeting": None,
        "body": body,
        "start": event_time(start),
        "end": event_time(end),
        "location": {"displayName": location, "locationType": "default"},
        "locations": [{"displayName": location, "locationType": "default"}] if location else [],
        "recurrence": None,
        "attendees": attendees,
        "organizer": {"emailAddress": {"name": organizer.display_name, "address": organizer.upn}},
        "_calendarId": calendar_id,
    }
