"""What the mail routes share: message properties, rendering, lookups, input validation."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any

from .._core import Ctx, GraphFail, Handler, Router, bad_request, not_found, odata_bool, selector
from .._mime import decode_base64_mime, html_to_text, mime_to_message, text_to_html
from .._store import Mailbox, new_attachment, now_iso, recipient

#: Largest attachment accepted in one request; larger ones go through an upload session.
MAX_INLINE_ATTACHMENT = 3 * 1024 * 1024
MESSAGE_PROPERTIES = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime", "sentDateTime",
    "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance", "parentFolderId",
    "conversationId", "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
    "inferenceClassification", "body", "sender", "from", "toRecipients", "ccRecipients", "bccRecipients",
    "replyTo", "flag", "conversationIndex",
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
    unique_body = "uniquebody" in (ctx.q("$select") or "").lower()

    def render(record: dict) -> dict:
        out = {"@odata.etag": f'W/"{record["changeKey"]}"',
               **{k: v for k, v in record.items() if not k.startswith("_")}}
        out.setdefault("conversationIndex", conversation_index(record))
        if body_type and out["body"]["contentType"] != body_type:
            content = out["body"]["content"]
            out["body"] = {"contentType": body_type,
                           "content": html_to_text(content) if body_type == "text" else text_to_html(content)}
        if unique_body:
            # The emulator keeps no quoted history apart: the unique body is the body.
            out["uniqueBody"] = out["body"]
        out = pick(out)
        if expand:
            out["attachments"] = [render_attachment(a) for a in box.attachments.get(record["id"], [])]
        return out
    return render


def conversation_index(record: dict) -> str:
    """Outlook's ``conversationIndex`` (22 bytes: version, time, conversation GUID), base64, derived from the
    conversation id so every message of a conversation shares its header."""
    digest = hashlib.sha256(str(record.get("conversationId") or record.get("id")).encode()).digest()
    return base64.b64encode(b"\x01" + digest[:21]).decode()


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
        flag = odata_bool(value)
        if flag is None:
            raise _invalid(key)
        return flag
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
                          now_iso(), is_inline=bool(odata_bool(item.get("isInline"))), content_id=item.get("contentId"))


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


def message_route(router: Router, method: str, suffix: str, permission: str) -> Callable[[Handler], Handler]:
    """Register a handler for both ``/messages/{id}...`` and ``/mailFolders/{f}/messages/{id}...``."""
    def register(handler: Handler) -> Handler:
        router.add(method, "/messages/{message_id}" + suffix, permission)(handler)
        router.add(method, "/mailFolders/{folder_id}/messages/{message_id}" + suffix, permission)(handler)
        return handler
    return register
