"""Attachments of mails and events: 4D's ``GraphAttachment`` and the upload of big ones.

Mail and calendar share this: both list an item's attachments lazily (descriptions first, bytes on
``get_content()``), and both add an attachment after the item exists, inline up to 3 MB and through an
upload session above (Graph's ``createUploadSession`` works alike on messages and events).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from email.message import Message as MimeMessage
from typing import Any, Optional, Union, cast

from .._exceptions import ConfigError, GraphError
from ._convert import INLINE_LIMIT, OutAttachment, jmap_attachment_in
from ._options import segment
from ._transport import Transport

#: Bytes per upload-session PUT: a multiple of 320 KiB, as Graph asks, under its 4 MB request limit.
UPLOAD_CHUNK = 10 * 320 * 1024
FILE_ATTACHMENT = "#microsoft.graph.fileAttachment"
_SELECT = "id,name,contentType,size,isInline,lastModifiedDateTime"


class GraphObject(dict):
    """A Graph object as a dict, its members also readable as attributes; ``attachments`` is a property of the
    subclass (fetched on first use), so item access reaches it too."""

    attachments: Any

    def __missing__(self, key: str) -> Any:
        if key == "attachments":
            return self.attachments
        raise KeyError(key)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Attachment(dict):
    """An attachment (Graph's keys, or JMAP's for a JMAP mail): 4D's ``GraphAttachment``.

    Read from Graph it holds the description only and ``get_content()`` fetches the bytes once. Built
    by hand (``Attachment({"name": "a.txt"})`` then ``set_content(b"...")``) or with
    ``from_mail_attachment()``, it can be put in a mail's or an event's ``attachments``.
    """

    def __init__(self, data: Optional[Mapping[str, Any]] = None, transport: Optional[Transport] = None,
                 path: Optional[str] = None) -> None:
        super().__init__(data or {})
        self._transport = transport
        self._path = path

    def get_content(self) -> bytes:
        """The attachment's bytes (4D: ``getContent()``)."""
        encoded = self.get("contentBytes")
        if isinstance(encoded, (bytes, bytearray)):
            return bytes(encoded)
        if isinstance(encoded, str):
            return base64.b64decode(encoded)
        if "_content" not in self.__dict__:
            if self._transport is None or self._path is None:
                return b""
            self._content = self._transport.request("GET", self._path + "/$value").content
        return self._content

    def set_content(self, content: Union[bytes, bytearray, memoryview, str]) -> None:
        """Set the bytes (text is sent as UTF-8); ``size`` becomes their length (4D: ``setContent()``;
        4D sets ``size`` to the length of the base64 text, here it is the size of the file)."""
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise ConfigError(f"attachment content must be bytes or text, not {type(content).__name__}",
                              key="content", code=10)
        data = bytes(content)
        self["contentBytes"] = base64.b64encode(data).decode("ascii")
        self["size"] = len(data)
        self.__dict__.pop("_content", None)

    @classmethod
    def from_mail_attachment(cls, item: Any) -> Attachment:
        """A Graph file attachment from a mail attachment: a part of an ``EmailMessage`` (what
        ``iter_attachments()`` yields) or 4D's attachment object ``{name, type, content | path, cid,
        disposition}`` (4D: ``fromMailAttachment()``, which fills the object it is called on)."""
        if isinstance(item, MimeMessage):
            cid = str(item.get("Content-ID", "")).strip("<>") or None
            out = OutAttachment(item.get_filename() or "attachment", item.get_content_type(),
                                cast(Optional[bytes], item.get_payload(decode=True)) or b"", cid,
                                item.get_content_disposition() == "inline")
        else:
            out = jmap_attachment_in(item, "attachment")
        attachment = cls({"@odata.type": FILE_ATTACHMENT, "name": out.name, "contentType": out.content_type,
                          "isInline": out.is_inline})
        if out.content_id:
            attachment["contentId"] = out.content_id
        attachment.set_content(out.content)
        return attachment


def list_attachments(transport: Transport, owner: str, shape: str = "Microsoft") -> list[Attachment]:
    """The attachments of the message or event at ``owner``, described without their content."""
    path = owner + "/attachments"
    body = transport.json("GET", path, params={"$select": _SELECT}) or {}
    out = []
    for raw in body.get("value") or []:
        data = _jmap_attachment(raw) if shape == "JMAP" else {k: v for k, v in raw.items() if k != "contentBytes"}
        out.append(Attachment(data, transport, f"{path}/{segment('attachmentId', raw.get('id'))}"))
    return out


def _jmap_attachment(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = {"name": raw.get("name"), "type": raw.get("contentType"), "size": raw.get("size"),
           "disposition": "inline" if raw.get("isInline") else "attachment"}
    if raw.get("contentId"):
        out["cid"] = raw["contentId"]
    return out


def add_attachment(transport: Transport, owner: str, attachment: OutAttachment) -> dict[str, Any]:
    """Add one attachment to the message or event at ``owner``: one POST up to 3 MB, an upload
    session above. Returns the attachment's description (its ``id`` when Graph tells it)."""
    described = {"@odata.type": FILE_ATTACHMENT, "name": attachment.name, "contentType": attachment.content_type,
                 "size": len(attachment.content), "isInline": attachment.is_inline}
    if len(attachment.content) <= INLINE_LIMIT:
        created = transport.json("POST", owner + "/attachments", json_body=attachment.graph_json()) or {}
        return {**described, **{k: v for k, v in created.items() if k != "contentBytes" and not k.startswith("@")}}
    session = transport.json("POST", owner + "/attachments/createUploadSession",
                             json_body={"AttachmentItem": attachment.upload_item()})
    upload_url = (session or {}).get("uploadUrl")
    if not upload_url:
        raise GraphError("Graph createUploadSession: no uploadUrl in the answer", error_code="noUploadUrl")
    content, total = attachment.content, len(attachment.content)
    location = ""
    for start in range(0, total, UPLOAD_CHUNK):
        chunk = content[start:start + UPLOAD_CHUNK]
        response = transport.request(
            "PUT", upload_url, data=chunk, authorize=False, idempotent=False,
            headers={"Content-Type": "application/octet-stream",
                     "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{total}"})
        location = response.headers.get("Location", location)
    # Graph names the new attachment in Location: ".../attachments('<id>')"
    if "attachments('" in location:
        described["id"] = location.rsplit("attachments('", 1)[1].split("'", 1)[0]
    return described
