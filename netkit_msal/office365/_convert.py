"""Mail objects in 4D's three mail types, converted to and from Graph JSON (pure functions).

- "Microsoft": Graph's message JSON as a dict, checked key by key (nested recipients, body,
  attachments too); attachments may give ``contentBytes`` as bytes.
- "MIME": an ``email.message.EmailMessage``, or the message as bytes or text.
- "JMAP": the dict 4D writes (``MAIL Convert from MIME`` shape): ``from``/``to``/``cc``/``bcc``/
  ``replyTo``/``sender`` as text (``"Name <a@b>"``, comma separated), ``{name, email}`` or lists of
  them; ``subject``; ``textBody``/``htmlBody`` as text or as ``[{partId, type}]`` with
  ``bodyValues``; ``attachments`` as ``{name, type, content | path, cid, disposition}`` or
  attachments read from Graph; ``keywords`` (``$seen``, ``$flagged``); ``headers`` (only ``X-``
  headers, and ``Importance``, can be set through Graph); ``messageId``.
  Graph keeps one body: with both ``htmlBody`` and ``textBody`` the HTML one is sent. Read-only
  keys of a mail read earlier (``id``, ``receivedAt``, ``size``, ``threadId``...) are accepted and
  ignored, so a mail read can be appended elsewhere.

Unknown keys raise ``ConfigError`` with a close spelling (4D silently drops them).
"""

from __future__ import annotations

import base64
import email.errors
import email.policy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any, Optional, Union, cast

from .._exceptions import ConfigError
from ._options import check_keys

MAIL_TYPES = ("Microsoft", "MIME", "JMAP")

GRAPH_MESSAGE_KEYS = (
    "@odata.type", "@odata.etag", "@odata.context", "id", "createdDateTime", "lastModifiedDateTime",
    "changeKey", "categories", "receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId",
    "subject", "bodyPreview", "importance", "parentFolderId", "conversationId", "conversationIndex",
    "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
    "inferenceClassification", "body", "uniqueBody", "sender", "from", "toRecipients", "ccRecipients",
    "bccRecipients", "replyTo", "flag", "attachments", "internetMessageHeaders",
    "singleValueExtendedProperties", "multiValueExtendedProperties", "extensions", "mentions",
)
_RECIPIENT_FIELDS = ("from", "sender", "toRecipients", "ccRecipients", "bccRecipients", "replyTo")
_SINGLE_RECIPIENT = ("from", "sender")
GRAPH_ATTACHMENT_KEYS = (
    "@odata.type", "@odata.mediaContentType", "id", "name", "contentType", "contentBytes", "contentId",
    "contentLocation", "isInline", "size", "lastModifiedDateTime",
)
JMAP_KEYS = (
    "from", "sender", "to", "cc", "bcc", "replyTo", "subject", "textBody", "htmlBody", "bodyValues",
    "attachments", "headers", "keywords", "messageId", "inReplyTo", "references", "sentAt",
    # read-only, accepted so that a mail read can be written again:
    "id", "size", "threadId", "mailboxIds", "receivedAt", "hasAttachment", "preview", "bodyStructure",
)
JMAP_ATTACHMENT_KEYS = ("name", "type", "content", "path", "cid", "disposition", "size", "partId", "blobId")

#: Graph's limit for an attachment sent inline in JSON; bigger ones go through an upload session.
INLINE_LIMIT = 3 * 1024 * 1024


@dataclass
class OutAttachment:
    """An attachment on its way to Graph, whatever mail type it came in."""

    name: str
    content_type: str
    content: bytes
    content_id: Optional[str] = None
    is_inline: bool = False

    def graph_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.fileAttachment", "name": self.name,
            "contentType": self.content_type, "contentBytes": base64.b64encode(self.content).decode("ascii"),
            "isInline": self.is_inline,
        }
        if self.content_id:
            item["contentId"] = self.content_id
        return item

    def upload_item(self) -> dict[str, Any]:
        """The ``AttachmentItem`` of ``createUploadSession``."""
        item: dict[str, Any] = {"attachmentType": "file", "name": self.name, "size": len(self.content),
                                "contentType": self.content_type, "isInline": self.is_inline}
        if self.content_id:
            item["contentId"] = self.content_id
        return item


def _list_of(value: Any, where: str) -> list[Any]:
    """A list-like option value (None is empty); anything else names its key."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Sequence):
        raise ConfigError(f"{where} must be a list, not {type(value).__name__}", key=where, code=10)
    return list(value)


# --- MIME ------------------------------------------------------------------------------------

def mime_bytes(mail: Union[EmailMessage, bytes, str], where: str = "mail") -> bytes:
    """The RFC 5322 bytes of a MIME mail given as ``EmailMessage``, bytes or text."""
    if isinstance(mail, bytes):
        data = mail
    elif isinstance(mail, str):
        try:  # surrogateescape: text decoded that way from raw bytes gets its bytes back
            data = mail.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise ConfigError(f"{where}: the MIME text holds a lone surrogate, not encodable as UTF-8",
                              key=where, code=10) from None
    elif isinstance(mail, EmailMessage) or hasattr(mail, "as_bytes"):
        try:
            data = mail.as_bytes(policy=email.policy.SMTP)
        except (ValueError, LookupError, IndexError, email.errors.MessageError) as error:
            # e.g. non-ASCII text set with set_payload() and no charset, or an unknown charset
            raise ConfigError(f"{where}: the MIME mail can't be written as bytes: {type(error).__name__}: {error}",
                              key=where, code=10) from None
    else:
        raise ConfigError(f"{where}: a MIME mail is an EmailMessage, bytes or text, not {type(mail).__name__}",
                          key=where, code=10)
    if not data.strip():
        raise ConfigError(f"{where}: the MIME mail is empty", key=where, code=9)
    return data


class _LenientPolicy(email.policy.EmailPolicy):
    """``email.policy.default``, except that a header the stdlib can't parse is its raw text.

    Its header parser is meant to record defects, but some malformed values make it raise instead
    (``From: <`` raises IndexError in CPython 3.11); mail from the wild must still be readable.
    """

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        try:
            return super().header_fetch_parse(name, value)
        except Exception:  # any failure of the structured parse: the raw text, as compat32 gives
            return "".join(value.splitlines()) if isinstance(value, str) else value


_LENIENT = _LenientPolicy()


def parse_mime(data: bytes) -> EmailMessage:
    """An ``EmailMessage`` (``email.policy.default`` headers; raw text for one it can't parse)."""
    return BytesParser(policy=_LENIENT).parsebytes(data)  # type: ignore[return-value]


def _text_content(part: MIMEPart) -> str:
    """A text part's content; in a charset Python can't decode with replacement (unknown, or not a
    text codec such as "base64"), its bytes read as UTF-8 with U+FFFD for what isn't."""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # ValueError: UnicodeError ("idna"), or a NUL in the charset name
        return (cast(Optional[bytes], part.get_payload(decode=True)) or b"").decode("utf-8", "replace")


def mime_to_graph(data: bytes) -> tuple[dict[str, Any], list[OutAttachment]]:
    """Graph JSON for a MIME mail (mails over Graph's 4 MB MIME upload, and MIME replies).

    Lenient, as mail clients are, so a mail that parses is never refused here:
    - a From or Sender header holding no address is left out: Graph then sends as the mailbox's
      user (``/me`` or ``userId``), as it does for a mail without From; other recipient headers
      keep only their entries that have an address (Graph refuses a malformed one itself);
    - a text body in a charset Python can't decode (unknown name, or a codec that isn't for text)
      is read as UTF-8, undecodable bytes becoming U+FFFD, rather than lost or refused.
    """
    msg = parse_mime(data)
    message: dict[str, Any] = {"subject": str(msg.get("Subject", ""))}
    for header, field in (("From", "from"), ("Sender", "sender"), ("To", "toRecipients"),
                          ("Cc", "ccRecipients"), ("Bcc", "bccRecipients"), ("Reply-To", "replyTo")):
        values = msg.get_all(header)
        if values:
            recipients = [_recipient(name, address) for name, address in getaddresses([str(v) for v in values])
                          if address]
            if field not in _SINGLE_RECIPIENT:
                message[field] = recipients
            elif recipients:
                message[field] = recipients[0]
    body = msg.get_body(preferencelist=("html", "plain"))
    if body is not None:
        message["body"] = {"contentType": "html" if body.get_content_subtype() == "html" else "text",
                           "content": _text_content(body)}
    if msg.get("Message-ID"):
        message["internetMessageId"] = str(msg["Message-ID"])
    importance = str(msg.get("Importance", "")).lower()
    if importance in ("low", "normal", "high"):
        message["importance"] = importance
    attachments = []
    for part in msg.iter_attachments():
        content = cast(Optional[bytes], part.get_payload(decode=True)) or b""
        cid = str(part.get("Content-ID", "")).strip("<>") or None
        attachments.append(OutAttachment(part.get_filename() or "attachment", part.get_content_type(),
                                         content, cid, part.get_content_disposition() == "inline"))
    return message, attachments


# --- Microsoft (Graph JSON) ------------------------------------------------------------------

def _recipient(name: str, address: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"address": address}
    if name:
        entry["name"] = name
    return {"emailAddress": entry}


def recipient(address: str, name: Optional[str] = None) -> dict[str, Any]:
    """Graph's recipient ``{"emailAddress": {"address", "name"}}`` (4D's ``GraphRecipient``).

    ``address`` may also be ``"Name <a@b>"``; an address without ``@`` is ``ConfigError`` code 2 on
    ``address``, as 4D throws.
    """
    if not isinstance(address, str):
        raise ConfigError(f"address must be text, not {type(address).__name__}", key="address", code=10)
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"name must be text, not {type(name).__name__}", key="name", code=10)
    pairs = [(parsed_name, parsed) for parsed_name, parsed in getaddresses([address]) if parsed]
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        raise ConfigError(f"address: not one mail address: {address!r}", key="address", code=2)
    return _recipient(name or pairs[0][0], pairs[0][1])


def _check_recipient(value: Any, where: str) -> None:
    if not isinstance(value, Mapping) or not isinstance(value.get("emailAddress"), Mapping):
        raise ConfigError(f"{where} must be {{'emailAddress': {{'address': ..., 'name': ...}}}}", key=where)
    check_keys(value, ("emailAddress", "@odata.type"), where)
    check_keys(value["emailAddress"], ("address", "name"), f"{where}.emailAddress")
    if not isinstance(value["emailAddress"].get("address"), str):
        raise ConfigError(f"{where}.emailAddress.address must be text", key=f"{where}.emailAddress.address")


def graph_message_in(message: Any, where: str = "mail") -> tuple[dict[str, Any], list[OutAttachment]]:
    """Check a Graph JSON message; return it without attachments, and its attachments."""
    if not isinstance(message, Mapping):
        raise ConfigError(f"{where}: a Microsoft mail is a dict of Graph message fields, "
                          f"not {type(message).__name__}", key=where, code=10)
    check_keys(message, GRAPH_MESSAGE_KEYS, where)
    for field in _RECIPIENT_FIELDS:
        if field in message:
            value = message[field]
            if field in _SINGLE_RECIPIENT:
                _check_recipient(value, f"{where}.{field}")
            elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
                for index, item in enumerate(value):
                    _check_recipient(item, f"{where}.{field}[{index}]")
            else:
                raise ConfigError(f"{where}.{field} must be a list of recipients", key=f"{where}.{field}")
    if "body" in message:
        body = message["body"]
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}.body must be {{'contentType': 'text'|'html', 'content': ...}}",
                              key=f"{where}.body")
        check_keys(body, ("contentType", "content"), f"{where}.body")
    out = {key: value for key, value in message.items() if key != "attachments"}
    for key, value in out.items():
        _check_json_value(value, f"{where}.{key}")
    attachments = [graph_attachment_in(item, f"{where}.attachments[{index}]")
                   for index, item in enumerate(_list_of(message.get("attachments"), f"{where}.attachments"))]
    return out, attachments


def _check_json_value(value: Any, where: str) -> None:
    """Graph fields are JSON: text, numbers, booleans, null, lists and objects with text keys."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{where}: keys must be text, not {type(key).__name__}", key=where, code=10)
            _check_json_value(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json_value(item, f"{where}[{index}]")
    else:
        raise ConfigError(f"{where} must be text, a number, a boolean, a list or an object, "
                          f"not {type(value).__name__}", key=where, code=10)


def _content_of(item: Any) -> Optional[bytes]:
    """Bytes of an attachment object read from Graph (lazy ``get_content``), or None."""
    get_content = getattr(item, "get_content", None)
    return get_content() if callable(get_content) else None


def graph_attachment_in(item: Any, where: str) -> OutAttachment:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be an attachment object", key=where, code=10)
    if not callable(getattr(item, "get_content", None)):  # one read from Graph may carry more keys
        check_keys(item, GRAPH_ATTACHMENT_KEYS, where)
    odata_type = item.get("@odata.type", "#microsoft.graph.fileAttachment")
    if odata_type != "#microsoft.graph.fileAttachment":
        raise ConfigError(f"{where}.@odata.type: only file attachments can be sent, not {odata_type!r}",
                          key=f"{where}.@odata.type")
    raw = item.get("contentBytes")
    content: Optional[bytes]
    if isinstance(raw, (bytes, bytearray)):
        content = bytes(raw)
    elif isinstance(raw, str):
        try:
            content = base64.b64decode(raw, validate=True)
        except ValueError:
            raise ConfigError(f"{where}.contentBytes is not base64 (give bytes to send raw content)",
                              key=f"{where}.contentBytes") from None
    elif raw is not None:
        raise ConfigError(f"{where}.contentBytes must be bytes or base64 text", key=f"{where}.contentBytes",
                          code=10)
    else:
        content = _content_of(item)
        if content is None:
            raise ConfigError(f"{where}.contentBytes is missing", key=f"{where}.contentBytes", code=2)
    name = _optional_text(item, "name", where)
    if not name:
        raise ConfigError(f"{where}.name is missing", key=f"{where}.name", code=2)
    return OutAttachment(name, _optional_text(item, "contentType", where) or "application/octet-stream", content,
                         _optional_text(item, "contentId", where), item.get("isInline") is True)


# --- JMAP --------------------------------------------------------------------------------------

def _jmap_addresses(value: Any, where: str) -> list[dict[str, Any]]:
    """Graph recipients from 4D's address forms: text, {name, email}, or a list of them."""
    if isinstance(value, str):
        pairs = [(name, address) for name, address in getaddresses([value]) if address]
        bad = [address for _, address in pairs if "@" not in address]
        if bad or (not pairs and value.strip()):
            raise ConfigError(f"{where}: not a mail address: {value!r}", key=where)
        return [_recipient(name, address) for name, address in pairs]
    if isinstance(value, Mapping):
        check_keys(value, ("email", "name"), where)
        email = value.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ConfigError(f"{where}.email must be a mail address", key=f"{where}.email", code=2)
        return [_recipient(_optional_text(value, "name", where) or "", email)]
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return [entry for index, item in enumerate(value) for entry in _jmap_addresses(item, f"{where}[{index}]")]
    raise ConfigError(f"{where} must be an address text, {{name, email}} or a list of them", key=where, code=10)


def _jmap_body(mail: Mapping[str, Any], key: str, where: str) -> Optional[str]:
    value = mail.get(key)
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        raise ConfigError(f"{where}.{key} must be text or a list of {{partId, type}}", key=f"{where}.{key}")
    values = mail.get("bodyValues") or {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}.bodyValues must be an object", key=f"{where}.bodyValues", code=10)
    parts = []
    for index, part in enumerate(value):
        if not isinstance(part, Mapping) or not isinstance(part.get("partId"), str):
            raise ConfigError(f"{where}.{key}[{index}] needs a partId", key=f"{where}.{key}[{index}].partId")
        body_value = values.get(part["partId"])
        if not isinstance(body_value, Mapping) or not isinstance(body_value.get("value"), str):
            raise ConfigError(f"{where}.bodyValues has no value for partId {part['partId']!r}",
                              key=f"{where}.bodyValues")
        parts.append(body_value["value"])
    return "".join(parts)


def _optional_text(item: Mapping[str, Any], key: str, where: str) -> Optional[str]:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}.{key} must be text", key=f"{where}.{key}", code=10)
    return value or None


def jmap_attachment_in(item: Any, where: str) -> OutAttachment:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be an attachment object", key=where, code=10)
    content = _content_of(item)
    path = item.get("path")
    if content is None:  # not read from Graph: a plain 4D-style attachment object
        check_keys(item, JMAP_ATTACHMENT_KEYS, where)
        raw = item.get("content")
        if isinstance(raw, str):
            content = raw.encode("utf-8")
        elif isinstance(raw, (bytes, bytearray, memoryview)):
            content = bytes(raw)
        elif raw is not None:
            raise ConfigError(f"{where}.content must be bytes or text", key=f"{where}.content", code=10)
        elif path is not None:
            if not isinstance(path, (str, os.PathLike)) or not str(path):
                raise ConfigError(f"{where}.path must be a file path", key=f"{where}.path", code=10)
            try:
                content = Path(path).read_bytes()
            except OSError as error:
                raise ConfigError(f"{where}.path: cannot read {path}: {error.strerror}", key=f"{where}.path") from None
            except ValueError:  # a NUL byte, or text not encodable as a file name
                raise ConfigError(f"{where}.path: not a valid file path: {str(path)!r}", key=f"{where}.path",
                                  code=10) from None
        else:
            raise ConfigError(f"{where} needs content or path", key=f"{where}.content", code=2)
    name = _optional_text(item, "name", where) or (Path(path).name if isinstance(path, (str, os.PathLike)) else None)
    if not name:
        raise ConfigError(f"{where}.name is missing", key=f"{where}.name", code=2)
    content_type = _optional_text(item, "type", where) or _optional_text(item, "contentType", where)
    cid = _optional_text(item, "cid", where) or _optional_text(item, "contentId", where)
    inline = item.get("disposition") == "inline" or item.get("isInline") is True
    return OutAttachment(name, content_type or "application/octet-stream", content, cid, inline)


def jmap_to_graph(mail: Any, where: str = "mail") -> tuple[dict[str, Any], list[OutAttachment]]:
    """Graph JSON (and attachments) for a JMAP-shaped mail as 4D writes it."""
    if not isinstance(mail, Mapping):
        raise ConfigError(f"{where}: a JMAP mail is a dict, not {type(mail).__name__}", key=where, code=10)
    check_keys(mail, JMAP_KEYS, where)
    message: dict[str, Any] = {}
    for key, field in (("from", "from"), ("sender", "sender"), ("to", "toRecipients"), ("cc", "ccRecipients"),
                       ("bcc", "bccRecipients"), ("replyTo", "replyTo")):
        if mail.get(key) is not None:
            recipients = _jmap_addresses(mail[key], f"{where}.{key}")
            if field in _SINGLE_RECIPIENT:
                if recipients:
                    message[field] = recipients[0]
            else:
                message[field] = recipients
    if mail.get("subject") is not None:
        message["subject"] = str(mail["subject"])
    html, plain = _jmap_body(mail, "htmlBody", where), _jmap_body(mail, "textBody", where)
    if html is not None:
        message["body"] = {"contentType": "html", "content": html}
    elif plain is not None:
        message["body"] = {"contentType": "text", "content": plain}
    keywords = mail.get("keywords") or {}
    if not isinstance(keywords, Mapping):
        raise ConfigError(f"{where}.keywords must be an object", key=f"{where}.keywords", code=10)
    if "$seen" in keywords:
        message["isRead"] = bool(keywords["$seen"])
    if "$flagged" in keywords:
        message["flag"] = {"flagStatus": "flagged" if keywords["$flagged"] else "notFlagged"}
    message_id = mail.get("messageId")
    if message_id:
        ids = [message_id] if isinstance(message_id, str) else _list_of(message_id, f"{where}.messageId")
        if not all(isinstance(item, str) for item in ids):
            raise ConfigError(f"{where}.messageId must be text", key=f"{where}.messageId", code=10)
        if ids:
            message["internetMessageId"] = ids[0]
    headers = []
    for index, header in enumerate(_list_of(mail.get("headers"), f"{where}.headers")):
        if not isinstance(header, Mapping) or not isinstance(header.get("name"), str):
            raise ConfigError(f"{where}.headers[{index}] must be {{name, value}}", key=f"{where}.headers")
        name, value = header["name"], str(header.get("value", ""))
        if name.lower() == "importance" and value.lower() in ("low", "normal", "high"):
            message["importance"] = value.lower()
        elif name.lower().startswith("x-"):
            headers.append({"name": name, "value": value})
        else:
            raise ConfigError(f"{where}.headers: Graph only lets X- headers (and Importance) be set, "
                              f"not {name!r}", key=f"{where}.headers")
    if headers:
        message["internetMessageHeaders"] = headers
    attachments = [jmap_attachment_in(item, f"{where}.attachments[{index}]")
                   for index, item in enumerate(_list_of(mail.get("attachments"), f"{where}.attachments"))]
    return message, attachments


def _jmap_address_list(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        address = (item or {}).get("emailAddress") or {}
        out.append({"name": address.get("name") or "", "email": address.get("address") or ""})
    return out


def graph_to_jmap(message: Mapping[str, Any]) -> dict[str, Any]:
    """4D's JMAP-shaped mail for a Graph message (only the fields Graph sent, e.g. after ``select``)."""
    mail: dict[str, Any] = {}
    if "id" in message:
        mail["id"] = message["id"]
    if "conversationId" in message:
        mail["threadId"] = message["conversationId"]
    if message.get("parentFolderId"):
        mail["mailboxIds"] = {message["parentFolderId"]: True}
    keywords = {}
    if "isRead" in message:
        keywords["$seen"] = bool(message["isRead"])
    if "isDraft" in message:
        keywords["$draft"] = bool(message["isDraft"])
    if (message.get("flag") or {}).get("flagStatus") == "flagged":
        keywords["$flagged"] = True
    if keywords:
        mail["keywords"] = keywords
    for field, key in (("receivedDateTime", "receivedAt"), ("sentDateTime", "sentAt"),
                       ("subject", "subject"), ("bodyPreview", "preview"), ("hasAttachments", "hasAttachment")):
        if field in message:
            mail[key] = message[field]
    for field, key in (("from", "from"), ("sender", "sender"), ("toRecipients", "to"), ("ccRecipients", "cc"),
                       ("bccRecipients", "bcc"), ("replyTo", "replyTo")):
        if message.get(field) is not None:
            mail[key] = _jmap_address_list(message[field])
    if message.get("internetMessageId"):
        mail["messageId"] = [message["internetMessageId"]]
    if message.get("internetMessageHeaders"):
        mail["headers"] = [{"name": h.get("name"), "value": h.get("value")} for h in message["internetMessageHeaders"]]
    body = message.get("body")
    if isinstance(body, Mapping) and "content" in body:
        html = str(body.get("contentType", "")).lower() == "html"
        mail["htmlBody" if html else "textBody"] = [{"partId": "1", "type": "text/html" if html else "text/plain"}]
        mail["bodyValues"] = {"1": {"value": body["content"]}}
    return mail
