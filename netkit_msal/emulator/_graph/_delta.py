"""Delta queries: ``/mailFolders/{folder}/messages/delta`` and ``/calendarView/delta``, as Graph does them.

A change log numbers every message and event change the store reports. A round starts without a
token and lists what is there now; its last page carries ``@odata.deltaLink`` with a ``$deltatoken``
(the log position). A later round lists what changed since: per item, the net effect (created,
updated, or ``@removed`` with ``reason: deleted``). ``changeType=created|updated|deleted`` (messages
only, as in Graph) keeps one kind; ``$select`` applies; ``Prefer: odata.maxpagesize`` sets the page
size (default 10 for messages, as Graph; events too). Pages are kept server-side behind a
``$skiptoken``, as Graph keeps its sync state. The log lives in memory: a token from before a restart
answers 410 ``SyncStateNotFound``, Graph's answer to a sync state it no longer has.

Known simplification: calendar view delta lists single events and series masters overlapping the
window (Graph lists occurrences of series).
"""

from __future__ import annotations

import base64
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import quote

from .._http import Response
from ._calendar import event_renderer
from ._core import Ctx, GraphFail, Router, bad_request, not_found
from ._mail._common import _message_renderer
from ._odata import parse_datetime
from ._store import Mailbox, event_bounds

router = Router()

CHANGE_TYPES = ("created", "updated", "deleted")
DEFAULT_PAGE = 10
MAX_PAGE = 1000
#: Pages waiting behind a $skiptoken, at most this many (the oldest are forgotten).
MAX_PENDING = 2000


@dataclass
class Entry:
    seq: int
    kind: str
    change: str
    item_id: str
    #: Folder id (messages) or calendar id (events) at the time of the change.
    container: str


class ChangeLog:
    """Every message and event change, numbered, per mailbox (in memory; a store listener)."""

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self.entries: dict[str, list[Entry]] = {}
        self.pending: OrderedDict[str, dict] = OrderedDict()

    def record(self, box: Mailbox, kind: str, change: str, record: dict) -> None:
        self.seq += 1
        container = record.get("parentFolderId") if kind == "message" else record.get("_calendarId")
        self.entries.setdefault(box.user_id, []).append(
            Entry(self.seq, kind, change, str(record.get("id")), str(container or "")))

    def token(self, seq: int) -> str:
        return base64.urlsafe_b64encode(f"{self.epoch}:{seq}".encode()).decode().rstrip("=")

    def position(self, token: str) -> int:
        try:
            epoch, seq = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
            value = int(seq)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("The delta token is invalid.", "SyncStateInvalid") from None
        if epoch != self.epoch or value > self.seq:
            raise GraphFail(410, "SyncStateNotFound", "The sync state generation is not found. "
                            "Start a new round of synchronization without a delta token.")
        return value

    def since(self, user_id: str, seq: int, kind: str) -> list[tuple[str, list[Entry]]]:
        """Per item changed after ``seq``: its entries in order (items in order of first change)."""
        grouped: dict[str, list[Entry]] = {}
        for entry in self.entries.get(user_id, []):
            if entry.seq > seq and entry.kind == kind:
                grouped.setdefault(entry.item_id, []).append(entry)
        return list(grouped.items())


def _log(ctx: Ctx) -> ChangeLog:
    return ctx.api.changes


def _page_size(ctx: Ctx) -> tuple[int, dict[str, str]]:
    for part in ctx.req.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "odata.maxpagesize":
            try:
                size = max(1, min(int(value.strip()), MAX_PAGE))
            except ValueError:
                break
            return size, {"Preference-Applied": f"odata.maxpagesize={size}"}
    return DEFAULT_PAGE, {}


def _answer(ctx: Ctx, state: dict) -> Response:
    """One page of a round: a next link while items remain, else the delta link."""
    log = _log(ctx)
    size, headers = _page_size(ctx)
    items = state["items"]
    page, rest = items[:size], items[size:]
    body: dict[str, Any] = {"@odata.context": f"{ctx.base}/$metadata#Collection({state['type']})", "value": page}
    link = f"{ctx.req.base_url}{ctx.req.path}?"
    if rest:
        skip = secrets.token_urlsafe(12)
        log.pending[skip] = {**state, "items": rest}
        while len(log.pending) > MAX_PENDING:
            log.pending.popitem(last=False)
        body["@odata.nextLink"] = link + f"$skiptoken={skip}"
    else:
        body["@odata.deltaLink"] = link + f"$deltatoken={log.token(state['seq'])}" + state["keep"]
    return Response.json(body, headers=headers)


def _continued(ctx: Ctx) -> Optional[Response]:
    skip = ctx.q("$skiptoken")
    if skip is None:
        return None
    state = _log(ctx).pending.pop(skip, None)
    if state is None:
        raise GraphFail(410, "SyncStateNotFound", "The sync state is not found (a $skiptoken is used once).")
    return _answer(ctx, state)


def _removed(type_name: str, item_id: str) -> dict:
    return {"@odata.type": f"#microsoft.graph.{type_name}", "id": item_id, "@removed": {"reason": "deleted"}}


def _net(entries: list[Entry], exists_now: bool) -> Optional[str]:
    """The net change of one item over a round: created, updated, deleted or None (came and went)."""
    existed = entries[0].change != "created"
    if existed and exists_now:
        return "updated"
    if exists_now:
        return "created"
    return "deleted" if existed else None


# -- messages --------------------------------------------------------------------------------
@router.add("GET", "/mailFolders/{folder_id}/messages/delta", "mail.read")
@router.add("GET", "/mailFolders/{folder_id}/messages/delta()", "mail.read")  # msgraph-sdk's spelling
def message_delta(ctx: Ctx) -> Response:
    ctx.api.count("delta")
    box = ctx.mailbox()
    folder = box.folder(ctx.params["folder_id"])
    if folder is None:
        raise not_found("The specified folder could not be found in the store.", "ErrorItemNotFound")
    answer = _continued(ctx)
    if answer is not None:
        return answer
    change_type = (ctx.q("changeType") or "").strip().lower() or None
    if change_type is not None and change_type not in CHANGE_TYPES:
        raise bad_request(f"Invalid value '{change_type}' for changeType: use created, updated or deleted.")
    log = _log(ctx)
    render_message = _message_renderer(ctx, box)

    def render(record: dict) -> dict:
        return {"@odata.type": "#microsoft.graph.message", **render_message(record)}

    token = ctx.q("$deltatoken")
    in_folder = box.by_folder[folder["id"]]
    if token is None:
        items = [render(box.messages[i]) for i in in_folder]
    else:
        seq = log.position(token)
        items = []
        for item_id, entries in log.since(box.user_id, seq, "message"):
            if not any(e.container == folder["id"] for e in entries):
                continue
            change = _net(entries, item_id in in_folder)
            if change is None or (change_type and change != change_type):
                continue
            items.append(_removed("message", item_id) if change == "deleted" else render(box.messages[item_id]))
    options = (("changeType", change_type), ("$select", ctx.q("$select")))
    keep = "".join(f"&{k}={quote(v, safe=',')}" for k, v in options if v)
    return _answer(ctx, {"type": "message", "items": items, "seq": log.seq, "keep": keep})


# -- events ----------------------------------------------------------------------------------
def _event_delta(ctx: Ctx, calendar_id: Optional[str]) -> Response:
    ctx.api.count("delta")
    box = ctx.mailbox()
    if calendar_id is not None and box.calendar(calendar_id) is None:
        raise not_found()
    answer = _continued(ctx)
    if answer is not None:
        return answer
    start_text, end_text = ctx.q("startDateTime"), ctx.q("endDateTime")
    if not start_text or not end_text:
        raise bad_request("This request requires a time window specified by the query string parameters "
                          "StartDateTime and EndDateTime.", "ErrorInvalidParameter")
    try:
        start, end = parse_datetime(start_text).timestamp(), parse_datetime(end_text).timestamp()
    except ValueError:
        raise bad_request("The StartDateTime or EndDateTime parameter is not a valid date-time.",
                          "ErrorInvalidParameter") from None
    log = _log(ctx)

    def visible(event: Optional[dict]) -> bool:
        if event is None or (calendar_id is not None and event["_calendarId"] != calendar_id):
            return False
        first, last = event_bounds(event)
        return first < end and (last > start or bool(event.get("recurrence")))

    render_event = event_renderer(ctx)

    def render(event: dict) -> dict:
        return {"@odata.type": "#microsoft.graph.event", **render_event(event)}

    token = ctx.q("$deltatoken")
    if token is None:
        items = [render(e) for e in box.events.values() if visible(e)]
    else:
        seq = log.position(token)
        items = []
        for item_id, entries in log.since(box.user_id, seq, "event"):
            if calendar_id is not None and not any(e.container == calendar_id for e in entries):
                continue
            event = box.events.get(item_id)
            change = _net(entries, visible(event))
            if change is not None:
                items.append(_removed("event", item_id) if change == "deleted" else render(event))
    keep = f"&startDateTime={quote(start_text, safe=':')}&endDateTime={quote(end_text, safe=':')}"
    return _answer(ctx, {"type": "event", "items": items, "seq": log.seq, "keep": keep})


@router.add("GET", "/calendarView/delta", "cal.read")
@router.add("GET", "/calendarView/delta()", "cal.read")
@router.add("GET", "/calendar/calendarView/delta", "cal.read")
@router.add("GET", "/calendar/calendarView/delta()", "cal.read")
def calendar_view_delta(ctx: Ctx) -> Response:
    everywhere = "/calendar/calendarview/delta" not in ctx.req.path.lower()
    return _event_delta(ctx, None if everywhere else ctx.mailbox().default_calendar()["id"])


@router.add("GET", "/calendars/{calendar_id}/calendarView/delta", "cal.read")
@router.add("GET", "/calendars/{calendar_id}/calendarView/delta()", "cal.read")
def calendar_delta(ctx: Ctx) -> Response:
    return _event_delta(ctx, ctx.params["calendar_id"])
