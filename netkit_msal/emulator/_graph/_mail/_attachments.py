"""Attachments: list, get, ``$value``, delete, add (3 MB), and upload sessions for larger ones."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from ..._http import Response
from .._core import Ctx, GraphFail, Router, bad_request, collection, entity, not_found, param, selector
from .._store import Mailbox, new_attachment, new_id, now_iso
from ._common import (
    _ATTACHMENT_PROPERTIES,
    MAX_ATTACHMENT,
    _attachment,
    _attachment_from_json,
    _message,
    message_route,
    render_attachment,
)

router = Router()


@message_route(router, "GET", "/attachments", "mail.read")
def list_attachments(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    pick = selector(ctx, _ATTACHMENT_PROPERTIES, "Microsoft.OutlookServices.FileAttachment")
    return collection(ctx, box.attachments.get(record["id"], []), lambda a: pick(render_attachment(a)),
                      context=f"{ctx.user_path}/messages('{record['id']}')/attachments", default_top=100,
                      max_top=1000)


@message_route(router, "GET", "/attachments/{attachment_id}", "mail.read")
def get_attachment(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    pick = selector(ctx, _ATTACHMENT_PROPERTIES, "Microsoft.OutlookServices.FileAttachment")
    attachment = _attachment(ctx, box, _message(ctx, box))
    return entity(ctx, f"{ctx.user_path}/messages/attachments/$entity", pick(render_attachment(attachment)))


@message_route(router, "GET", "/attachments/{attachment_id}/$value", "mail.read")
def get_attachment_content(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    attachment = _attachment(ctx, box, _message(ctx, box))
    return Response(200, attachment["_bytes"], {"Content-Type": attachment.get("contentType")
                                                or "application/octet-stream"})


@message_route(router, "DELETE", "/attachments/{attachment_id}", "mail.write")
def delete_attachment(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    attachment = _attachment(ctx, box, record)
    box.attachments[record["id"]].remove(attachment)
    record["hasAttachments"] = any(not a.get("isInline") for a in box.attachments[record["id"]])
    return Response.empty()


def add_attachment(box: Mailbox, record: dict, attachment: dict) -> dict:
    attachment = {**attachment, "id": attachment.get("id") or new_id("AAMkAGAtt")}
    box.attachments.setdefault(record["id"], []).append(attachment)
    record["hasAttachments"] = record["hasAttachments"] or not attachment.get("isInline")
    record["lastModifiedDateTime"] = now_iso()
    return attachment


@message_route(router, "POST", "/attachments", "mail.write")
def create_attachment(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    attachment = add_attachment(box, record, _attachment_from_json(ctx.body_json()))
    return entity(ctx, f"{ctx.user_path}/messages('{record['id']}')/attachments/$entity",
                  render_attachment(attachment), 201)


@message_route(router, "POST", "/attachments/createUploadSession", "mail.write")
def create_upload_session(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
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
        "user": ctx.principal, "message_id": record["id"], "name": str(item["name"]), "size": item["size"],
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
    """``PUT`` (a chunk, with ``Content-Range``) or ``DELETE`` (cancel) on an upload URL; no token needed."""
    session = api.upload_sessions.get(token)
    if session is None or session["expires"] < datetime.now(timezone.utc):
        raise not_found("The upload session was not found or has expired.", "ErrorItemNotFound")
    if ctx.req.method == "DELETE":
        del api.upload_sessions[token]
        return Response.empty()
    if ctx.req.method != "PUT":
        raise GraphFail(405, "Request_BadRequest", "Upload URLs take PUT (a chunk) or DELETE (cancel).")
    content_range = ctx.req.headers.get("content-range", "")
    try:
        unit, _, spec = content_range.partition(" ")
        span, _, total = spec.partition("/")
        start, _, end = span.partition("-")
        first, last, size = int(start), int(end), int(total)
        if unit != "bytes":
            raise ValueError
    except ValueError:
        raise bad_request("A valid Content-Range header (bytes start-end/total) is required.",
                          "ErrorInvalidContentRange") from None
    data, body = session["data"], ctx.req.body
    if size != session["size"] or last < first or last >= size:
        return _range_error(len(data))
    if len(body) != last - first + 1:
        raise bad_request("The body length does not match the Content-Range.", "ErrorInvalidContentRange")
    if first == len(data):
        data.extend(body)
    elif last >= len(data) or bytes(data[first:last + 1]) != body:
        return _range_error(len(data))
    # else: a chunk received before (a retry, or msgraph-core re-sending its last chunk): acknowledged again.
    if len(data) < size:
        # "start-end": msgraph-core's LargeFileUploadTask appends "-" and needs both numbers.
        return Response.json({"expirationDateTime": session["expires"].strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
                              "nextExpectedRanges": [f"{len(data)}-{size - 1}"]})
    if "location" not in session:
        box = api.store.mailbox(session["user"])
        record = box.messages.get(session["message_id"])
        if record is None:
            raise not_found()
        attachment = add_attachment(box, record, new_attachment(
            session["name"], session["contentType"], bytes(data), now_iso(), is_inline=session["isInline"],
            content_id=session["contentId"]))
        session["location"] = (f"{ctx.base}/users('{session['user'].id}')/messages('{record['id']}')"
                               f"/attachments('{attachment['id']}')")
    return Response(201, b"", {"Location": session["location"]})


def _range_error(received: int) -> Response:
    return Response.json({"error": {"code": "InvalidRange", "message": "The Content-Range is not the next "
                                    f"expected range ({received}-)."}}, 416)
