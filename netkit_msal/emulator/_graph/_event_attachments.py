"""Event attachments: ``/events/{id}/attachments`` under the mailbox, ``/calendar`` and ``/calendars/{id}``.

Graph serves an event's file attachments as it serves a message's: list, get, ``$value``, POST (3 MB),
DELETE and ``createUploadSession`` for bigger files. They are stored with the mailbox's attachments,
keyed by the event id (event and message ids never collide), so the state file keeps them. An
occurrence of a series shows the series' attachments; they are changed on the series.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from .._http import Response
from ._calendar import event_in_request
from ._core import Ctx, GraphFail, Router, bad_request, collection, entity, not_found, param, selector
from ._mail._common import MAX_ATTACHMENT, _attachment_from_json, render_attachment
from ._store import Mailbox, new_attachment, new_id, now_iso

router = Router()

_PROPERTIES = ("id", "lastModifiedDateTime", "name", "contentType", "size", "isInline", "contentId",
               "contentLocation", "contentBytes")
_TYPE = "Microsoft.OutlookServices.FileAttachment"
#: Marks an upload session as an event's, for ``upload_chunk``.
EVENT_SESSION = "event_id"


def _owner(ctx: Ctx, everywhere: bool, *, writing: bool) -> tuple[Mailbox, dict]:
    box = ctx.mailbox()
    return box, event_in_request(ctx, box, everywhere, occurrences=not writing)


def _key(event: dict) -> str:
    """Attachments live on the series: an occurrence reads its master's."""
    return event.get("seriesMasterId") or event["id"] if event.get("type") == "occurrence" else event["id"]


def _find(ctx: Ctx, box: Mailbox, event: dict) -> dict:
    for attachment in box.attachments.get(_key(event), []):
        if attachment["id"] == ctx.params["attachment_id"]:
            return attachment
    raise not_found()


def _add(box: Mailbox, event: dict, attachment: dict) -> dict:
    attachment = {**attachment, "id": attachment.get("id") or new_id("AAMkAGEvAtt")}
    box.attachments.setdefault(event["id"], []).append(attachment)
    event["lastModifiedDateTime"] = now_iso()
    return attachment


def _list(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=False)
    pick = selector(ctx, _PROPERTIES, _TYPE)
    return collection(ctx, box.attachments.get(_key(event), []), lambda a: pick(render_attachment(a)),
                      context=f"{ctx.user_path}/events('{event['id']}')/attachments", default_top=100, max_top=1000,
                      type_name="fileAttachment")


def _get(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=False)
    pick = selector(ctx, _PROPERTIES, _TYPE)
    return entity(ctx, f"{ctx.user_path}/events('{event['id']}')/attachments/$entity",
                  pick(render_attachment(_find(ctx, box, event))))


def _value(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=False)
    attachment = _find(ctx, box, event)
    return Response(200, attachment["_bytes"], {"Content-Type": attachment.get("contentType")
                                                or "application/octet-stream"})


def _create(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=True)
    attachment = _add(box, event, _attachment_from_json(ctx.body_json()))
    return entity(ctx, f"{ctx.user_path}/events('{event['id']}')/attachments/$entity",
                  render_attachment(attachment), 201)


def _delete(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=True)
    box.attachments[event["id"]].remove(_find(ctx, box, event))
    return Response.empty()


def _upload_session(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=True)
    item = param(ctx.body_json(), "AttachmentItem")
    if not isinstance(item, dict) or not item.get("name") or not isinstance(item.get("size"), int):
        raise bad_request("AttachmentItem with name and size is required.", "ErrorInvalidRequest")
    if str(item.get("attachmentType") or "file").lower() != "file":
        raise bad_request("Only file attachments can be uploaded.", "ErrorInvalidRequest")
    if not 0 < item["size"] <= MAX_ATTACHMENT:
        raise bad_request("The attachment size must be between 1 byte and 150 MB.",
                          "ErrorAttachmentSizeLimitExceeded")
    token = secrets.token_urlsafe(24)
    expires = datetime.now(timezone.utc) + timedelta(hours=6)
    ctx.api.upload_sessions[token] = {
        "user": ctx.principal, EVENT_SESSION: event["id"], "name": str(item["name"]), "size": item["size"],
        "contentType": str(item.get("contentType") or "application/octet-stream"),
        "isInline": bool(item.get("isInline")), "contentId": item.get("contentId"),
        "data": bytearray(), "expires": expires,
    }
    return Response.json({
        "@odata.context": f"{ctx.base}/$metadata#microsoft.graph.uploadSession",
        "uploadUrl": f"{ctx.base}/_emulator/uploadSessions/{token}",
        "expirationDateTime": expires.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "nextExpectedRanges": ["0-"],
    }, 201)


def upload_chunk(api: Any, ctx: Ctx, token: str) -> Response:
    """``PUT`` a chunk (``Content-Range``) or ``DELETE`` on an event's upload URL; no token needed.

    The same protocol as a message's upload URL (``_mail.upload_chunk``), finishing on the event.
    """
    session = api.upload_sessions[token]
    if session["expires"] < datetime.now(timezone.utc):
        raise not_found("The upload session was not found or has expired.", "ErrorItemNotFound")
    if ctx.req.method == "DELETE":
        del api.upload_sessions[token]
        return Response.empty()
    if ctx.req.method != "PUT":
        raise GraphFail(405, "Request_BadRequest", "Upload URLs take PUT (a chunk) or DELETE (cancel).")
    first, last, size = _content_range(ctx.req.headers.get("content-range", ""))
    data, body = session["data"], ctx.req.body
    if size != session["size"] or last < first or last >= size:
        return _range_error(len(data))
    if len(body) != last - first + 1:
        raise bad_request("The body length does not match the Content-Range.", "ErrorInvalidContentRange")
    if first == len(data):
        data.extend(body)
    elif last >= len(data) or bytes(data[first:last + 1]) != body:
        return _range_error(len(data))
    if len(data) < size:
        return Response.json({"expirationDateTime": session["expires"].strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
                              "nextExpectedRanges": [f"{len(data)}-{size - 1}"]})
    if "location" not in session:
        box = api.store.mailbox(session["user"])
        event = box.events.get(session[EVENT_SESSION])
        if event is None:
            raise not_found()
        attachment = _add(box, event, new_attachment(
            session["name"], session["contentType"], bytes(data), now_iso(), is_inline=session["isInline"],
            content_id=session["contentId"]))
        session["location"] = (f"{ctx.base}/users('{session['user'].id}')/events('{event['id']}')"
                               f"/attachments('{attachment['id']}')")
    return Response(201, b"", {"Location": session["location"]})


def _content_range(header: str) -> tuple[int, int, int]:
    try:
        unit, _, spec = header.partition(" ")
        span, _, total = spec.partition("/")
        start, _, end = span.partition("-")
        if unit != "bytes":
            raise ValueError
        return int(start), int(end), int(total)
    except ValueError:
        raise bad_request("A valid Content-Range header (bytes start-end/total) is required.",
                          "ErrorInvalidContentRange") from None


def _range_error(received: int) -> Response:
    return Response.json({"error": {"code": "InvalidRange", "message": "The Content-Range is not the next "
                                    f"expected range ({received}-)."}}, 416)


def _bind(handler: Callable[[Ctx, bool], Response], everywhere: bool) -> Callable[[Ctx], Response]:
    return lambda ctx: handler(ctx, everywhere)


for _prefix, _everywhere in (("", True), ("/calendar", False), ("/calendars/{calendar_id}", False)):
    _base = f"{_prefix}/events/{{event_id}}/attachments"
    router.add("GET", _base, "cal.read")(_bind(_list, _everywhere))
    router.add("POST", _base, "cal.write")(_bind(_create, _everywhere))
    router.add("POST", f"{_base}/createUploadSession", "cal.write")(_bind(_upload_session, _everywhere))
    router.add("GET", f"{_base}/{{attachment_id}}", "cal.read")(_bind(_get, _everywhere))
    router.add("GET", f"{_base}/{{attachment_id}}/$value", "cal.read")(_bind(_value, _everywhere))
    router.add("DELETE", f"{_base}/{{attachment_id}}", "cal.write")(_bind(_delete, _everywhere))
