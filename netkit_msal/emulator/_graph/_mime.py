"""Graph messages to and from MIME (RFC 5322), with the standard library's ``email`` package.

Graph serves a message's MIME at ``/messages/{id}/$value`` and accepts MIME, base64-encoded in a
``text/plain`` body, to create a draft or to ``sendMail``. Pure functions: dicts and bytes in and out.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from typing import Any, Optional

from ._odata import parse_datetime

_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def html_to_text(markup: str) -> str:
    """A readable plain-text rendering of an HTML body (what ``outlook.body-content-type="text"`` gives)."""
    text = _SCRIPT.sub("", markup)
    text = _BLOCK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(lines).strip()


def text_to_html(text: str, *, document: bool = True) -> str:
    """Plain text as HTML: a whole document, or a fragment to embed (replies quote the original)."""
    fragment = html.escape(text).replace("\n", "<br>\n")
    return f"<html><body>{fragment}</body></html>" if document else fragment


def decode_base64_mime(body: bytes) -> bytes:
    """The MIME bytes of a ``text/plain`` base64 request body; ValueError when it is not base64."""
    compact = re.sub(rb"\s+", b"", body)
    if not compact:
        raise ValueError("empty MIME content")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def _address(recipient: Optional[dict]) -> Optional[str]:
    if not recipient:
        return None
    email = recipient.get("emailAddress") or {}
    address = email.get("address") or ""
    return formataddr((email.get("name") or "", address)) if address else None


def _addresses(recipients: Any) -> Optional[str]:
    parts = [a for a in (_address(r) for r in recipients or []) if a]
    return ", ".join(parts) if parts else None


def message_to_mime(message: dict, attachments: list[dict]) -> bytes:
    """RFC 5322 bytes (CRLF line ends) for a stored message and its attachments (``_bytes`` content)."""
    mime = EmailMessage(policy=policy.SMTP)
    for header, value in (
        ("From", _address(message.get("from"))),
        ("Sender", _address(message.get("sender")) if message.get("sender") != message.get("from") else None),
        ("To", _addresses(message.get("toRecipients"))),
        ("Cc", _addresses(message.get("ccRecipients"))),
        ("Bcc", _addresses(message.get("bccRecipients"))),
        ("Reply-To", _addresses(message.get("replyTo"))),
        ("Subject", message.get("subject") or ""),
    ):
        if value is not None:
            mime[header] = value
    moment = message.get("sentDateTime") or message.get("receivedDateTime") or message.get("createdDateTime")
    if moment:
        mime["Date"] = format_datetime(parse_datetime(moment))
    mime["Message-ID"] = message.get("internetMessageId") or make_msgid(domain="emulator.invalid")
    if message.get("importance") == "high":
        mime["Importance"] = "High"
    body = message.get("body") or {}
    content = body.get("content") or ""
    if (body.get("contentType") or "text").lower() == "html":
        mime.set_content(html_to_text(content))
        mime.add_alternative(content, subtype="html")
    else:
        mime.set_content(content)
    for attachment in attachments:
        maintype, _, subtype = (attachment.get("contentType") or "application/octet-stream").partition("/")
        mime.add_attachment(attachment["_bytes"], maintype=maintype, subtype=subtype or "octet-stream",
                            filename=attachment.get("name") or "attachment",
                            disposition="inline" if attachment.get("isInline") else "attachment",
                            cid=f"<{attachment['contentId']}>" if attachment.get("contentId") else None)
    return mime.as_bytes()


def _recipients(value: Optional[str]) -> list[dict]:
    return [{"emailAddress": {"name": name, "address": address}}
            for name, address in getaddresses([value or ""]) if address]


def mime_to_message(raw: bytes) -> tuple[dict, list[dict]]:
    """Graph message properties and attachments (``name``, ``contentType``, ``_bytes``, ...) from MIME."""
    mime = BytesParser(policy=policy.default).parsebytes(raw)
    if not mime.keys():
        raise ValueError("no MIME headers")
    message: dict[str, Any] = {
        "subject": str(mime.get("Subject", "")),
        "toRecipients": _recipients(mime.get("To")),
        "ccRecipients": _recipients(mime.get("Cc")),
        "bccRecipients": _recipients(mime.get("Bcc")),
        "replyTo": _recipients(mime.get("Reply-To")),
    }
    sender = _recipients(mime.get("From"))
    if sender:
        message["from"] = sender[0]
    if mime.get("Message-ID"):
        message["internetMessageId"] = str(mime["Message-ID"]).strip()
    if str(mime.get("Importance", "")).lower() in ("high", "low"):
        message["importance"] = str(mime["Importance"]).lower()
    part = mime.get_body(preferencelist=("html", "plain"))
    if part is not None:
        message["body"] = {"contentType": "html" if part.get_content_subtype() == "html" else "text",
                           "content": part.get_content().replace("\r\n", "\n")}
    else:
        message["body"] = {"contentType": "text", "content": ""}
    attachments = []
    for item in mime.iter_attachments():
        payload = item.get_payload(decode=True) or b""
        content_id = str(item.get("Content-ID", "")).strip("<> ") or None
        attachments.append({
            "name": item.get_filename() or "attachment",
            "contentType": item.get_content_type(),
            "isInline": item.get_content_disposition() == "inline",
            "contentId": content_id,
            "_bytes": payload,
        })
    return message, attachments
