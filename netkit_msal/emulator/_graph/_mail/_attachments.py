"""Attachments: list, get, ``$value``, delete, add (3 MB), and upload sessions (``_uploads``) for larger ones."""

from __future__ import annotations

from typing import Any

from ..._http import Response
from .._core import Ctx, Router, collection, entity, not_found, selector
from .._store import Mailbox, new_id, now_iso
from .._uploads import create_session
from ._common import (
    _ATTACHMENT_PROPERTIES,
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
                      max_top=1000, type_name="fileAttachment")


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
    user, message_id = ctx.principal, record["id"]

    def finish(api: Any, attachment: dict) -> str:
        assert user is not None
        target_box = api.store.mailbox(user)
        target = target_box.messages.get(message_id)
        if target is None:
            raise not_found()
        added = add_attachment(target_box, target, attachment)
        return f"{ctx.base}/users('{user.id}')/messages('{message_id}')/attachments('{added['id']}')"
    return create_session(ctx, finish)
