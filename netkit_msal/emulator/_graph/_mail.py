"""Mail: messages, MIME, sending, replies, attachments with upload sessions, mail folders.

Choices where Graph leaves room (documented for the Office365 facade):
- ``DELETE /messages/{id}`` removes the message from every folder (Graph moves it to the hidden
  Recoverable Items, where no folder listing sees it). To "trash" a message, ``move`` it to ``deleteditems``.
- ``move`` and ``copy`` answer 201 with the message under a **new id**, as Exchange does.
- Delivery: every recipient (to, cc, bcc) who is a directory user gets a copy in their inbox (bcc list
  removed); other addresses are accepted and dropped. The sender's copy goes to ``sentitems``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from .._http import Response
from ._core import Ctx, GraphFail, Router, bad_request, collection, entity, not_found, param, selector
from ._mime import decode_base64_mime, html_to_text, message_to_mime, mime_to_message, text_to_html
from ._odata import parse_message_search
from ._store import ROOT, Mailbox, message_record, new_attachment, new_id, now_iso, preview, recipient

router = Router()

#: Largest attachment accepted in one request; larger ones go through an upload session.
MAX_INLINE_ATTACHMENT = 3 * 1024 * 1024
MAX_ATTACHMENT = 150 * 1024 * 1024
MESSAGE_PROPERTIES = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime", "sentDateTime",
    "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance", "parentFolderId",
    "conversationId", "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
    "inferenceClassification", "body", "sender", "from", "toRecipients", "ccRecipients", "bccRecipients",
    "replyTo", "flag",
)
_WRITABLE = {
    "subject", "body", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "from", "sender",
    "importance", "categories", "flag", "isRead", "isDeliveryReceiptRequested", "isReadReceiptRequested",
    "internetMessageId", "inferenceClassification",
}
_CREATE_ONLY = {"attachments", "singleValueExtendedProperties", "internetMessageHeaders"}
_READ_ONLY = {p.lower() for p in MESSAGE_PROPERTIES} - {p.lower() for p in _WRITABLE | _CREATE_ONLY}
_ATTACHMENT_PROPERTIES = ("id", "lastModifiedDateTime", "name", "contentType", "size", "isInline", "contentId",
                          "contentLocation", "contentBytes")
_CANONICAL = {name.lower(): name for name in _WRITABLE | _CREATE_ONLY}
_MESSAGE_TYPE = "Microsoft.OutlookServices.Message"
#: PR_MESSAGE_FLAGS = 1 (read, not a draft): how Graph clients create a non-draft message in a folder.
_NOT_DRAFT_PROPERTY = "integer 0x0e07"




# -- rendering ------------------------------------------------------------------------------
def render_attachment(attachment: dict) -> dict:
    return {"@odata.type": attachment["@odata.type"], "id": attachment["id"],
            **{k: v for k, v in attachment.items() if not k.startswith(("_", "@")) and k != "id"},
            "contentBytes": base64.b64encode(attachment["_bytes"]).decode()}


def _message_renderer(ctx: Ctx, box: Mailbox):
    """A function rendering stored messages as this request asks ($select, $expand, Prefer)."""
    pick = selector(ctx, MESSAGE_PROPERTIES, _MESSAGE_TYPE)
    expand = (ctx.q("$expand") or "").strip().lower()
    if expand and expand != "attachments":
        raise bad_request(f"Parsing OData Select and Expand failed: Could not find a property named '{expand}'.",
                          "RequestBroker--ParseUri")
    body_type = _body_preference(ctx)

    def render(record: dict) -> dict:
        out = {"@odata.etag": f'W/"{record["changeKey"]}"',
               **{k: v for k, v in record.items() if not k.startswith("_")}}
        if body_type and out["body"]["contentType"] != body_type:
            content = out["body"]["content"]
            out["body"] = {"contentType": body_type,
                           "content": html_to_text(content) if body_type == "text" else text_to_html(content)}
        out = pick(out)
        if expand:
            out["attachments"] = [render_attachment(a) for a in box.attachments.get(record["id"], [])]
        return out
    return render


def _body_preference(ctx: Ctx) -> str:
    """``text`` or ``html`` from ``Prefer: outlook.body-content-type``, else "" (bodies as stored)."""
    wanted = (ctx.prefer("outlook.body-content-type") or "").lower()
    return wanted if wanted in ("text", "html") else ""


def _preference_headers(ctx: Ctx) -> dict[str, str]:
    body_type = _body_preference(ctx)
    return {"Preference-Applied": f'outlook.body-content-type="{body_type}"'} if body_type else {}


# -- lookups --------------------------------------------------------------------------------
def _folder(box: Mailbox, key: str) -> dict:
    folder = box.folder(key)
    if folder is None:
        raise not_found()
    return folder


def _message(ctx: Ctx, box: Mailbox) -> dict:
    record = box.messages.get(ctx.params["message_id"])
    if record is None:
        raise not_found()
    folder_key = ctx.params.get("folder_id")
    if folder_key and _folder(box, folder_key)["id"] != record["parentFolderId"]:
        raise not_found()
    return record


def _attachment(ctx: Ctx, box: Mailbox, record: dict) -> dict:
    for attachment in box.attachments.get(record["id"], []):
        if attachment["id"] == ctx.params["attachment_id"]:
            return attachment
    raise not_found()


# -- input ----------------------------------------------------------------------------------
def _check_recipients(name: str, value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(r, dict) and isinstance(r.get("emailAddress"), dict) for r in value):
        raise bad_request(f"Invalid value for property '{name}': expected a list of recipients "
                          "({\"emailAddress\": {\"address\": ...}}).", "RequestBodyRead")
    return [{"emailAddress": {"name": r["emailAddress"].get("name") or r["emailAddress"].get("address") or "",
                              "address": r["emailAddress"].get("address") or ""}} for r in value]


def _message_fields(data: dict, *, creating: bool) -> dict:
    """Validated writable message properties from a JSON body (read-only ones are ignored, as by Graph)."""
    fields: dict[str, Any] = {}
    for raw_key, value in data.items():
        if raw_key.startswith("@odata") or raw_key.lower() in _READ_ONLY:
            continue
        key = _CANONICAL.get(raw_key.lower(), raw_key)
        if key not in _WRITABLE and not (creating and key in _CREATE_ONLY):
            raise bad_request(f"The property '{key}' does not exist on type 'microsoft.graph.message'. Make sure "
                              "to only use property names that are defined by the type.", "RequestBodyRead")
        fields[key] = _checked(key, value)
    return fields


def _invalid(key: str) -> GraphFail:
    return bad_request(f"Invalid value for property '{key}'.", "RequestBodyRead")


def _checked(key: str, value: Any) -> Any:
    """One message property, type-checked as Graph's deserialiser does (400 RequestBodyRead otherwise)."""
    if key in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
        return _check_recipients(key, value)
    if key in ("from", "sender"):
        return None if value is None else _check_recipients(key, [value])[0]
    if key == "body":
        if value is None:
            return {"contentType": "text", "content": ""}
        if not isinstance(value, dict) or not isinstance(value.get("content") or "", str):
            raise _invalid(key)
        kind = str(value.get("contentType") or "text").lower()
        if kind not in ("text", "html"):
            raise bad_request(f"Invalid body contentType '{kind}'.", "RequestBodyRead")
        return {"contentType": kind, "content": value.get("content") or ""}
    if key == "importance":
        if str(value).lower() not in ("low", "normal", "high"):
            raise bad_request(f"Invalid importance '{value}'.", "RequestBodyRead")
        return str(value).lower()
    if key == "inferenceClassification":
        if str(value).lower() not in ("focused", "other"):
            raise _invalid(key)
        return str(value).lower()
    if key == "categories":
        if not (isinstance(value, list) and all(isinstance(c, str) for c in value)):
            raise _invalid(key)
        return value
    if key in ("subject", "internetMessageId"):
        if value is not None and not isinstance(value, str):
            raise _invalid(key)
        return value or ""
    if key in ("isRead", "isDeliveryReceiptRequested", "isReadReceiptRequested"):
        if not isinstance(value, bool):
            raise _invalid(key)
        return value
    if key == "flag":
        if not isinstance(value, dict) or (value.get("flagStatus") or "notFlagged") not in (
                "notFlagged", "flagged", "complete"):
            raise _invalid(key)
        return {**value, "flagStatus": value.get("flagStatus") or "notFlagged"}
    if key in ("attachments", "singleValueExtendedProperties", "internetMessageHeaders") and \
            value is not None and not isinstance(value, list):
        raise _invalid(key)
    return value


def _attachments_from_json(items: Any) -> list[dict]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise bad_request("Invalid value for property 'attachments'.", "RequestBodyRead")
    return [_attachment_from_json(item) for item in items]


def _attachment_from_json(item: Any) -> dict:
    if not isinstance(item, dict):
        raise bad_request("Invalid attachment.", "RequestBodyRead")
    kind = str(item.get("@odata.type") or "#microsoft.graph.fileAttachment")
    if kind.lower() != "#microsoft.graph.fileattachment":
        raise bad_request(f"The emulator supports file attachments only, not '{kind}'.", "ErrorInvalidRequest")
    if not item.get("name"):
        raise bad_request("The attachment name is required.", "ErrorInvalidRequest")
    try:
        content = base64.b64decode(str(item.get("contentBytes") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("Invalid value for property 'contentBytes': not base64.", "RequestBodyRead") from None
    if len(content) > MAX_INLINE_ATTACHMENT:
        raise GraphFail(413, "ErrorRequestEntityTooLarge",
                        "The attachment is larger than 3 MB; use an upload session (createUploadSession).")
    return new_attachment(str(item["name"]), str(item.get("contentType") or "application/octet-stream"), content,
                          now_iso(), is_inline=bool(item.get("isInline")), content_id=item.get("contentId"))


def _is_not_draft(data: dict) -> bool:
    for prop in data.get("singleValueExtendedProperties") or []:
        if isinstance(prop, dict) and str(prop.get("id", "")).lower() == _NOT_DRAFT_PROPERTY:
            return str(prop.get("value")) in ("1", "true")
    return False


def _mime_input(ctx: Ctx) -> tuple[dict, list[dict]]:
    try:
        raw = decode_base64_mime(ctx.req.body)
    except ValueError:
        raise bad_request("Invalid base64 string for MIME content.", "ErrorMimeContentInvalidBase64String") from None
    try:
        return mime_to_message(raw)
    except (ValueError, LookupError):
        raise bad_request("The MIME content is invalid.", "ErrorMimeContentInvalid") from None


def _sender(ctx: Ctx) -> dict:
    assert ctx.principal is not None
    return recipient(ctx.principal)


# -- messages -------------------------------------------------------------------------------
def _list(ctx: Ctx, box: Mailbox, ids, context: str) -> Response:
    render = _message_renderer(ctx, box)
    search = None
    if ctx.q("$search") is not None:
        if ctx.q("$orderby"):
            raise bad_request("The query parameter '$orderBy' is not supported with '$search'.",
                              "ErrorInvalidUrlQuery")
        search = parse_message_search(ctx.q("$search") or "")
    return collection(ctx, [box.messages[i] for i in ids], render, context=context, default_top=10, max_top=1000,
                      default_order=[("receivedDateTime", True)], search=search)


@router.add("GET", "/messages", "mail.read")
def list_messages(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    return _list(ctx, box, list(box.messages), f"{ctx.user_path}/messages")


@router.add("GET", "/mailFolders/{folder_id}/messages", "mail.read")
def list_folder_messages(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    folder = _folder(box, ctx.params["folder_id"])
    return _list(ctx, box, list(box.by_folder[folder["id"]]),
                 f"{ctx.user_path}/mailFolders('{ctx.params['folder_id']}')/messages")


def _create(ctx: Ctx, folder_key: str) -> Response:
    box = ctx.mailbox()
    folder = _folder(box, folder_key)
    if ctx.is_text_body():
        fields, attachments = _mime_input(ctx)
        draft = True
    else:
        data = ctx.body_json()
        fields = _message_fields(data, creating=True)
        attachments = _attachments_from_json(fields.pop("attachments", None))
        draft = not _is_not_draft(data)
        fields.pop("singleValueExtendedProperties", None)
        fields.pop("internetMessageHeaders", None)
    fields.setdefault("from", _sender(ctx))
    record = box.add_message(message_record(fields, now_iso(), draft=draft), folder["id"], attachments)
    return entity(ctx, f"{ctx.user_path}/messages/$entity", _message_renderer(ctx, box)(record), 201)


@router.add("POST", "/messages", "mail.write")
def create_message(ctx: Ctx) -> Response:
    return _create(ctx, "drafts")


@router.add("POST", "/mailFolders/{folder_id}/messages", "mail.write")
def create_folder_message(ctx: Ctx) -> Response:
    return _create(ctx, ctx.params["folder_id"])


def message_route(method: str, suffix: str, permission: str):
    """Register a handler for both ``/messages/{id}...`` and ``/mailFolders/{f}/messages/{id}...``."""
    def register(handler):
        router.add(method, "/messages/{message_id}" + suffix, permission)(handler)
        router.add(method, "/mailFolders/{folder_id}/messages/{message_id}" + suffix, permission)(handler)
        return handler
    return register


@message_route("GET", "", "mail.read")
def get_message(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    return entity(ctx, f"{ctx.user_path}/messages/$entity", _message_renderer(ctx, box)(record),
                  headers=_preference_headers(ctx))


@message_route("GET", "/$value", "mail.read")
def get_message_mime(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    return Response(200, message_to_mime(record, box.attachments.get(record["id"], [])),
                    {"Content-Type": "text/plain"})


@message_route("PATCH", "", "mail.write")
def update_message(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    fields = _message_fields(ctx.body_json(), creating=False)
    record.update(fields)
    if "body" in fields:
        record["bodyPreview"] = preview(record["body"])
    record["lastModifiedDateTime"] = now_iso()
    record["changeKey"] = new_id("CQAAABYAAA")
    return entity(ctx, f"{ctx.user_path}/messages/$entity", _message_renderer(ctx, box)(record))


@message_route("DELETE", "", "mail.write")
def delete_message(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    box.delete_message(_message(ctx, box)["id"])
    return Response.empty()


@message_route("POST", "/permanentDelete", "mail.write")
def permanent_delete_message(ctx: Ctx) -> Response:
    return delete_message(ctx)


def _destination(ctx: Ctx, box: Mailbox) -> dict:
    destination = param(ctx.body_json(), "destinationId")
    if not isinstance(destination, str) or not destination:
        raise bad_request("The destinationId parameter is required.", "ErrorInvalidRequest")
    folder = box.folder(destination)
    if folder is None:
        raise not_found("The specified folder could not be found in the store.", "ErrorItemNotFound")
    return folder


@message_route("POST", "/move", "mail.write")
def move_message(ctx: Ctx) -> Response:
    return _to_folder(ctx, Mailbox.move_message)


@message_route("POST", "/copy", "mail.write")
def copy_message(ctx: Ctx) -> Response:
    return _to_folder(ctx, Mailbox.copy_message)


def _to_folder(ctx: Ctx, operation) -> Response:
    """Move or copy: the result has a new id, as Exchange gives it."""
    box = ctx.mailbox()
    record = _message(ctx, box)
    placed = operation(box, record["id"], _destination(ctx, box)["id"])
    return entity(ctx, f"{ctx.user_path}/messages/$entity", _message_renderer(ctx, box)(placed), 201)


# -- sending --------------------------------------------------------------------------------
def deliver(ctx: Ctx, box: Mailbox, record: dict, attachments: list[dict], *, save_to_sent: bool) -> None:
    """Send a message: a copy in each directory recipient's inbox, one in the sender's Sent Items.

    Every accepted send (sendMail, a draft's send, reply, replyAll, forward) counts as ``mailSent``.
    """
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


@message_route("POST", "/send", "mail.send")
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
        seen: set[str] = set()
        fields["toRecipients"] = [r for r in to if not (r["emailAddress"]["address"].lower() in seen
                                                        or seen.add(r["emailAddress"]["address"].lower()))]
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


for _kind in ("reply", "replyAll", "forward"):
    message_route("POST", f"/{_kind}", "mail.send")(
        lambda ctx, kind=_kind: _respond(ctx, kind, draft=False))
    message_route("POST", f"/create{_kind[0].upper()}{_kind[1:]}", "mail.write")(
        lambda ctx, kind=_kind: _respond(ctx, kind, draft=True))


# -- attachments ----------------------------------------------------------------------------
@message_route("GET", "/attachments", "mail.read")
def list_attachments(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    pick = selector(ctx, _ATTACHMENT_PROPERTIES, "Microsoft.OutlookServices.FileAttachment")
    return collection(ctx, box.attachments.get(record["id"], []), lambda a: pick(render_attachment(a)),
                      context=f"{ctx.user_path}/messages('{record['id']}')/attachments", default_top=100,
                      max_top=1000)


@message_route("GET", "/attachments/{attachment_id}", "mail.read")
def get_attachment(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    pick = selector(ctx, _ATTACHMENT_PROPERTIES, "Microsoft.OutlookServices.FileAttachment")
    attachment = _attachment(ctx, box, _message(ctx, box))
    return entity(ctx, f"{ctx.user_path}/messages/attachments/$entity", pick(render_attachment(attachment)))


@message_route("GET", "/attachments/{attachment_id}/$value", "mail.read")
def get_attachment_content(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    attachment = _attachment(ctx, box, _message(ctx, box))
    return Response(200, attachment["_bytes"], {"Content-Type": attachment.get("contentType")
                                                or "application/octet-stream"})


@message_route("DELETE", "/attachments/{attachment_id}", "mail.write")
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


@message_route("POST", "/attachments", "mail.write")
def create_attachment(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    attachment = add_attachment(box, record, _attachment_from_json(ctx.body_json()))
    return entity(ctx, f"{ctx.user_path}/messages('{record['id']}')/attachments/$entity",
                  render_attachment(attachment), 201)


@message_route("POST", "/attachments/createUploadSession", "mail.write")
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


# -- folders --------------------------------------------------------------------------------
_FOLDER_PROPERTIES = ("id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount",
                      "totalItemCount", "sizeInBytes", "isHidden")


def _folder_list(ctx: Ctx, parent_id: str, context: str) -> Response:
    box = ctx.mailbox()
    pick = selector(ctx, _FOLDER_PROPERTIES, "Microsoft.OutlookServices.MailFolder")
    hidden = (ctx.q("includeHiddenFolders") or "").lower() == "true"
    folders = [box.folder_view(f) for f in box.children(parent_id) if hidden or not f["isHidden"]]
    return collection(ctx, folders, pick, context=context, default_top=10, max_top=1000,
                      default_order=[("displayName", False)])


@router.add("GET", "/mailFolders", "mail.read")
def list_folders(ctx: Ctx) -> Response:
    return _folder_list(ctx, ctx.mailbox().well_known[ROOT], f"{ctx.user_path}/mailFolders")


@router.add("GET", "/mailFolders/{folder_id}/childFolders", "mail.read")
def list_child_folders(ctx: Ctx) -> Response:
    folder = _folder(ctx.mailbox(), ctx.params["folder_id"])
    return _folder_list(ctx, folder["id"], f"{ctx.user_path}/mailFolders('{folder['id']}')/childFolders")


def _new_folder(ctx: Ctx, parent_id: str) -> Response:
    box = ctx.mailbox()
    data = ctx.body_json()
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The displayName property is required.", "ErrorInvalidRequest")
    if any(f["displayName"].lower() == name.lower() for f in box.children(parent_id)):
        raise GraphFail(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    folder = box.add_folder(name, parent_id, hidden=bool(data.get("isHidden")))
    return entity(ctx, f"{ctx.user_path}/mailFolders/$entity", box.folder_view(folder), 201)


@router.add("POST", "/mailFolders", "mail.write")
def create_folder(ctx: Ctx) -> Response:
    return _new_folder(ctx, ctx.mailbox().well_known[ROOT])


@router.add("POST", "/mailFolders/{folder_id}/childFolders", "mail.write")
def create_child_folder(ctx: Ctx) -> Response:
    return _new_folder(ctx, _folder(ctx.mailbox(), ctx.params["folder_id"])["id"])


@router.add("GET", "/mailFolders/{folder_id}", "mail.read")
def get_folder(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    pick = selector(ctx, _FOLDER_PROPERTIES, "Microsoft.OutlookServices.MailFolder")
    folder = _folder(box, ctx.params["folder_id"])
    return entity(ctx, f"{ctx.user_path}/mailFolders/$entity", pick(box.folder_view(folder)))


@router.add("PATCH", "/mailFolders/{folder_id}", "mail.write")
def update_folder(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    folder = _folder(box, ctx.params["folder_id"])
    data = ctx.body_json()
    unknown = set(data) - {"displayName", "isHidden"} - {k for k in data if k.startswith("@odata")}
    if unknown:
        raise bad_request(f"The property '{sorted(unknown)[0]}' cannot be updated on a mail folder.",
                          "RequestBodyRead")
    name = data.get("displayName")
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise bad_request("The displayName must not be empty.", "ErrorInvalidRequest")
        if folder["id"] in box.well_known.values():
            raise bad_request("A distinguished folder cannot be renamed.", "ErrorCannotRenameDistinguishedFolder")
        if any(f["displayName"].lower() == name.lower() and f["id"] != folder["id"]
               for f in box.children(folder["parentFolderId"])):
            raise GraphFail(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        folder["displayName"] = name
    if "isHidden" in data:
        folder["isHidden"] = bool(data["isHidden"])
    return entity(ctx, f"{ctx.user_path}/mailFolders/$entity", box.folder_view(folder))


@router.add("DELETE", "/mailFolders/{folder_id}", "mail.write")
def delete_folder(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    folder = _folder(box, ctx.params["folder_id"])
    if folder["id"] in box.well_known.values():
        raise bad_request("Distinguished folders cannot be deleted.", "ErrorDeleteDistinguishedFolder")
    box.delete_folder(folder["id"])
    return Response.empty()
