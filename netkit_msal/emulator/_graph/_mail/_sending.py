"""Sending: ``sendMail``, a draft's ``send``, replies and forwards (and their draft forms), delivery."""

from __future__ import annotations

import copy
from typing import Any

from ..._http import Response
from .._core import Ctx, GraphFail, Handler, Router, bad_request, entity, param
from .._mime import text_to_html
from .._store import Mailbox, message_record, new_id, now_iso
from ._common import (
    _attachments_from_json,
    _check_recipients,
    _message,
    _message_fields,
    _message_renderer,
    _mime_input,
    _sender,
    message_route,
)

router = Router()


def deliver(ctx: Ctx, box: Mailbox, record: dict, attachments: list[dict], *, save_to_sent: bool) -> None:
    """Send a message: a copy in each directory recipient's inbox, one in the sender's Sent Items.

    Every accepted send (sendMail, a draft's send, reply, replyAll, forward) counts as ``mailSent``.
    """
    for role in ("from", "sender"):  # no Send As / Send on Behalf grants here: the mailbox's own address only
        address = ((record.get(role) or {}).get("emailAddress") or {}).get("address")
        if address and address.lower() != box.upn.lower():
            raise GraphFail(403, "ErrorSendAsDenied", "The user account which was used to submit this request does "
                            "not have the right to send mail on behalf of the specified sending account., Cannot "
                            "submit message.")
    recipients = record["toRecipients"] + record["ccRecipients"] + record["bccRecipients"]
    if not any(r["emailAddress"].get("address") for r in recipients):
        raise bad_request("At least one recipient is not valid., A message can't be sent because it contains "
                          "no recipients.", "ErrorInvalidRecipients")
    for item in recipients:
        address = item["emailAddress"]["address"]
        if "@" not in address:
            raise bad_request(f"At least one recipient is not valid., Recipient '{address}' is not resolved.",
                              "ErrorInvalidRecipients")
    stamp = now_iso()
    sent = {**record, "isDraft": False, "sentDateTime": stamp, "receivedDateTime": stamp,
            "lastModifiedDateTime": stamp}
    sent["from"] = sent.get("from") or recipient_of(box)
    sent["sender"] = sent.get("sender") or sent["from"]
    delivered: set[str] = set()
    store = ctx.api.store
    for item in recipients:
        user = ctx.api.directory.user(item["emailAddress"]["address"])
        if user is None or user.id in delivered:
            continue
        delivered.add(user.id)
        target = store.mailbox(user)
        # Deep copies: mailboxes never share nested values.
        received = {**copy.deepcopy(sent), "bccRecipients": [], "isRead": False,
                    "flag": {"flagStatus": "notFlagged"}, "categories": []}
        target.add_message(received, target.well_known["inbox"],
                           [dict(a, id=new_id("AAMkAGAtt")) for a in attachments])
    if save_to_sent:
        box.add_message({**copy.deepcopy(sent), "isRead": True}, box.well_known["sentitems"],
                        [dict(a, id=new_id("AAMkAGAtt")) for a in attachments])
    ctx.api.count("mailSent")


def recipient_of(box: Mailbox) -> dict:
    return {"emailAddress": {"name": box.display_name, "address": box.upn}}


def _truthy(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return bool(value)


@router.add("POST", "/sendMail", "mail.send")
def send_mail(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    if ctx.is_text_body():
        fields, attachments = _mime_input(ctx)
        save = True
    else:
        data = ctx.body_json()
        message = param(data, "message")
        if not isinstance(message, dict):
            raise bad_request("Empty Payload. JSON content expected.", "ErrorInvalidRequest")
        fields = _message_fields(message, creating=True)
        attachments = _attachments_from_json(fields.pop("attachments", None))
        fields.pop("singleValueExtendedProperties", None)
        fields.pop("internetMessageHeaders", None)
        save = _truthy(param(data, "saveToSentItems"), True)
    fields.setdefault("from", _sender(ctx))
    deliver(ctx, box, message_record(fields, now_iso(), draft=False), attachments, save_to_sent=save)
    ctx.api.count("sendMail")
    return Response.empty(202)


@message_route(router, "POST", "/send", "mail.send")
def send_draft(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    if not record["isDraft"]:
        raise bad_request("Only draft messages can be sent.", "ErrorInvalidOperation")
    deliver(ctx, box, record, box.attachments.get(record["id"], []), save_to_sent=True)
    box.delete_message(record["id"])
    return Response.empty(202)


def _prefixed(prefix: str, subject: str) -> str:
    return subject if subject.lower().startswith(prefix.lower()) else f"{prefix} {subject}"


def _quoted(record: dict, comment: str) -> dict:
    original = record["body"]["content"]
    if record["body"]["contentType"] == "text":
        original = text_to_html(original, document=False)
    sender = (record.get("from") or {}).get("emailAddress", {})
    header = (f"<b>From:</b> {sender.get('name', '')} &lt;{sender.get('address', '')}&gt;<br>"
              f"<b>Sent:</b> {record.get('sentDateTime') or ''}<br><b>Subject:</b> {record['subject']}")
    return {"contentType": "html",
            "content": f"<html><body>{text_to_html(comment, document=False)}<hr>{header}<br>{original}"
                       "</body></html>"}


def _response_fields(ctx: Ctx, box: Mailbox, record: dict, kind: str, data: dict) -> tuple[dict, list[dict]]:
    """The properties of a reply, reply-all or forward of ``record`` (before any overrides)."""
    own = box.upn.lower()
    comment = str(param(data, "comment") or "")
    fields: dict[str, Any] = {"from": recipient_of(box), "conversationId": record["conversationId"],
                              "body": _quoted(record, comment)}
    attachments: list[dict] = []
    if kind == "forward":
        fields["subject"] = _prefixed("FW:", record["subject"])
        fields["toRecipients"] = _check_recipients("toRecipients", param(data, "toRecipients"))
        attachments = [dict(a) for a in box.attachments.get(record["id"], [])]
    else:
        fields["subject"] = _prefixed("RE:", record["subject"])
        to = list(record["replyTo"] or ([record["from"]] if record.get("from") else []))
        cc: list[dict] = []
        if kind == "replyAll":
            to += [r for r in record["toRecipients"] if r["emailAddress"]["address"].lower() != own]
            cc = [r for r in record["ccRecipients"] if r["emailAddress"]["address"].lower() != own]
        unique: dict[str, dict] = {}
        for r in to:  # each address once, its first occurrence
            unique.setdefault(r["emailAddress"]["address"].lower(), r)
        fields["toRecipients"] = list(unique.values())
        fields["ccRecipients"] = cc
    overrides = param(data, "message")
    if isinstance(overrides, dict):
        extra = _message_fields(overrides, creating=True)
        attachments += _attachments_from_json(extra.pop("attachments", None))
        extra.pop("singleValueExtendedProperties", None)
        extra.pop("internetMessageHeaders", None)
        fields.update(extra)
    return fields, attachments


def _respond(ctx: Ctx, kind: str, *, draft: bool) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    data = ctx.body_json() if ctx.req.body.strip() else {}
    fields, attachments = _response_fields(ctx, box, record, kind, data)
    if draft:
        created = box.add_message(message_record(fields, now_iso(), draft=True), box.well_known["drafts"],
                                  attachments)
        return entity(ctx, f"{ctx.user_path}/messages/$entity", _message_renderer(ctx, box)(created), 201)
    deliver(ctx, box, message_record(fields, now_iso(), draft=False), attachments, save_to_sent=True)
    return Response.empty(202)


def _responder(kind: str, *, draft: bool) -> Handler:
    def handler(ctx: Ctx) -> Response:
        return _respond(ctx, kind, draft=draft)
    return handler


for _kind in ("reply", "replyAll", "forward"):
    message_route(router, "POST", f"/{_kind}", "mail.send")(_responder(_kind, draft=False))
    message_route(router, "POST", f"/create{_kind[0].upper()}{_kind[1:]}", "mail.write")(
        _responder(_kind, draft=True))
