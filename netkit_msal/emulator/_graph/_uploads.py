"""Attachment upload sessions, shared by messages and events, with the rules Graph documents.

``createUploadSession`` takes an ``AttachmentItem`` of 3 MB to 150 MB (smaller files go in one POST);
the upload URL is pre-authenticated, so a request carrying ``Authorization`` is refused; each PUT
carries ``Content-Range`` and at most 4 MB, in order; an intermediate answer gives ``nextExpectedRanges``
as an open range (``["4194304-"]``) and extends the session; the last one answers 201 with the new
attachment in ``Location``. Sessions live in memory (``GraphApi.upload_sessions``), not in the state file.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from .._http import Response
from ._core import Ctx, GraphFail, bad_request, not_found, param
from ._store import new_attachment, now_iso

MIN_SESSION = 3 * 1024 * 1024
MAX_CHUNK = 4 * 1024 * 1024
MAX_ATTACHMENT = 150 * 1024 * 1024
_LIFETIME = timedelta(hours=6)

#: Creates the uploaded attachment on its message or event; returns its URL for ``Location``.
Finish = Callable[[Any, dict], str]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def create_session(ctx: Ctx, finish: Finish) -> Response:
    """``POST .../attachments/createUploadSession``: validate the ``AttachmentItem``, open a session."""
    item = param(ctx.body_json(), "AttachmentItem")
    if not isinstance(item, dict) or not item.get("name") or not isinstance(item.get("size"), int) \
            or isinstance(item.get("size"), bool):
        raise bad_request("AttachmentItem with name and size is required.", "ErrorInvalidRequest")
    if str(item.get("attachmentType") or "file").lower() != "file":
        raise bad_request("Only file attachments can be uploaded.", "ErrorInvalidRequest")
    if item["size"] < MIN_SESSION:
        raise bad_request("Attachment size must be at least 3 MB for an upload session; attach smaller files "
                          "in one POST.", "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize")
    if item["size"] > MAX_ATTACHMENT:
        raise bad_request("The attachment size exceeds the maximum of 150 MB.", "ErrorAttachmentSizeLimitExceeded")
    token = secrets.token_urlsafe(24)
    expires = datetime.now(timezone.utc) + _LIFETIME
    ctx.api.upload_sessions[token] = {
        "size": item["size"], "data": bytearray(), "expires": expires, "finish": finish,
        "attachment": new_attachment(str(item["name"]), str(item.get("contentType") or "application/octet-stream"),
                                     b"", now_iso(), is_inline=bool(item.get("isInline")),
                                     content_id=item.get("contentId")),
    }
    return Response.json({
        "@odata.context": f"{ctx.base}/$metadata#microsoft.graph.uploadSession",
        "uploadUrl": f"{ctx.base}/_emulator/uploadSessions/{token}",
        "expirationDateTime": _stamp(expires),
        "nextExpectedRanges": ["0-"],
    }, 201)


def _content_range(header: str) -> tuple[int, int, int]:
    try:
        unit, _, spec = header.strip().partition(" ")
        span, _, total = spec.partition("/")
        start, _, end = span.partition("-")
        if unit != "bytes":
            raise ValueError
        return int(start), int(end), int(total)
    except ValueError:
        raise bad_request("A valid Content-Range header (bytes start-end/total) is required.",
                          "ErrorInvalidContentRange") from None


def _range_error(received: int) -> GraphFail:
    return GraphFail(416, "InvalidRange", f"The Content-Range is not the next expected range ({received}-).")


def upload_chunk(api: Any, ctx: Ctx, token: str) -> Response:
    """``PUT`` a chunk or ``DELETE`` (cancel) on an upload URL, which takes no token."""
    session = api.upload_sessions.get(token)
    if session is None or session["expires"] < datetime.now(timezone.utc):
        raise not_found("The upload session was not found or has expired.", "ErrorItemNotFound")
    if ctx.req.headers.get("authorization"):
        raise GraphFail(401, "InvalidAudienceForResource", "The upload URL is pre-authenticated: send no "
                        "Authorization header to it.")
    if ctx.req.method == "DELETE":
        del api.upload_sessions[token]
        return Response.empty()
    if ctx.req.method != "PUT":
        raise GraphFail(405, "Request_BadRequest", "Upload URLs take PUT (a chunk) or DELETE (cancel).")
    first, last, size = _content_range(ctx.req.headers.get("content-range", ""))
    data, body = session["data"], ctx.req.body
    if len(body) > MAX_CHUNK:
        raise GraphFail(413, "ErrorRequestEntityTooLarge", "Each upload request may carry at most 4 MB.")
    if size != session["size"] or last < first or last >= size:
        raise _range_error(len(data))
    if len(body) != last - first + 1:
        raise bad_request("The body length does not match the Content-Range.", "ErrorInvalidContentRange")
    if first == len(data):
        data.extend(body)
    elif last >= len(data) or bytes(data[first:last + 1]) != body:
        raise _range_error(len(data))
    # else: a chunk received before (a retry): acknowledged again.
    if len(data) < size:
        session["expires"] = datetime.now(timezone.utc) + _LIFETIME
        return Response.json({"expirationDateTime": _stamp(session["expires"]),
                              "nextExpectedRanges": [f"{len(data)}-"]})
    if "location" not in session:
        attachment = {**session["attachment"], "size": size, "_bytes": bytes(data), "lastModifiedDateTime": now_iso()}
        session["location"] = session["finish"](api, attachment)
    return Response(201, b"", {"Location": session["location"]})
