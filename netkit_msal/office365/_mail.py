"""``Office365.mail``: 4D NetKit's mail functions over Graph (messages, folders, attachments).

4D name -> Python: send, append, reply, update, move, copy, delete, getMail -> get_mail,
getMails -> get_mails, createFolder -> create_folder, renameFolder -> rename_folder,
deleteFolder -> delete_folder, getFolder -> get_folder, getFolderList -> get_folder_list.
Added: get_mails_by_id (many messages in few round trips, via ``$batch``) and get_attachments.

Lists (``get_mails``) hold Graph message objects whatever the mail type, each with its ``id``, as
4D's do; only ``get_mail`` answers in the mail type. Sending: a mail whose attachments fit in one
request (3 MB) is one ``sendMail`` call (MIME or JSON). A bigger one is a draft, its attachments (over
3 MB through an upload session), then ``send`` on the draft. No step that may have been accepted is
ever sent twice (see _transport).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import Any, Optional, Union

from .._exceptions import ConfigError, GraphError, NetKitError
from ._api import Api, check_mail_type
from ._attachments import Attachment, GraphObject, add_attachment, list_attachments
from ._convert import (
    INLINE_LIMIT,
    OutAttachment,
    graph_message_in,
    graph_to_jmap,
    jmap_to_graph,
    mime_bytes,
    mime_to_graph,
    parse_mime,
)
from ._notifier import Notifier, mail_notifier
from ._options import ODATA_CHECKS, boolean, nonempty_text, one_of, segment, text, validate
from ._status import GraphList, Status
from ._transport import encode_query, graph_error

_MAIL_OPTIONS = {"mailType": check_mail_type, "contentType": one_of("text", "html")}
#: PidTagMessageFlags = MSGFLAG_READ: Graph creates drafts unless told otherwise (JSON only; a MIME
#: mail appended stays a draft, as Graph makes it).
_NOT_DRAFT = {"id": "Integer 0x0E07", "value": "1"}


class Message(GraphObject):
    """A mail read from Graph (Graph JSON or JMAP-shaped) whose ``attachments`` load on first use."""

    def __init__(self, data: Mapping[str, Any], mail: Mail, message_id: Optional[str], shape: str) -> None:
        super().__init__(data)
        self._mail = mail
        self._message_id = message_id
        self._shape = shape

    @property
    def attachments(self) -> list[Attachment]:
        if "attachments" not in self:
            if not self._message_id:
                return []
            self["attachments"] = self._mail.get_attachments(self._message_id, mail_type=self._shape)
        return self["attachments"]



def _body_type(values: Mapping[str, Any]) -> dict[str, str]:
    """``Prefer`` header for the ``contentType`` option ("text" or "html" body)."""
    return {"Prefer": f'outlook.body-content-type="{values["contentType"]}"'} if "contentType" in values else {}


class Mail(Api):
    """4D's ``Office365.mail``."""

    # --- reading ---------------------------------------------------------------------------

    def _message_path(self, mail_id: Any, key: str = "mailId") -> str:
        return f"{self._base}/messages/{segment(key, mail_id)}"

    def _wrap(self, message: Mapping[str, Any], mail_type: str) -> Message:
        data = graph_to_jmap(message) if mail_type == "JMAP" else message
        return Message(data, self, message.get("id"), mail_type)

    def _mime(self, mail_id: str) -> EmailMessage:
        return parse_mime(self._transport.request("GET", self._message_path(mail_id) + "/$value").content)

    def get_mail(self, mail_id: str, options: Optional[Mapping[str, Any]] = None) -> Union[Message, EmailMessage]:
        """One mail in the mail type (``options``: ``mailType``, ``contentType`` "text"|"html")."""
        values = validate(options, _MAIL_OPTIONS, "get_mail options")
        mail_type: str = values.get("mailType", self.mail_type)
        path = self._message_path(mail_id)
        if mail_type == "MIME":
            return self._mime(mail_id)
        return self._wrap(self._transport.json("GET", path, headers=_body_type(values)), mail_type)

    def get_mails(self, options: Union[str, Mapping[str, Any], None] = None) -> GraphList:
        """A list object (``mails``) of a folder's mails, or of the whole mailbox without ``folderId``.

        Options: ``folderId`` (an id or a well-known name such as "inbox"), ``search``, ``filter``,
        ``select``, ``top`` (page size), ``orderBy``. The mails are Graph message objects in every
        mail type (as 4D's), each with its ``id`` and lazy ``attachments``; ``get_mail(id)`` gives
        one in the mail type.
        """
        if isinstance(options, str):  # 4D code passes a folder id alone too
            options = {"folderId": options}
        values = validate(options, {"folderId": nonempty_text, **ODATA_CHECKS}, "get_mails options")
        path = f"{self._base}/mailFolders/{segment('folderId', values['folderId'])}/messages" \
            if "folderId" in values else f"{self._base}/messages"
        return self._list(path, values, "mails", lambda items: [self._wrap(item, "Microsoft") for item in items])

    def get_mails_by_id(self, mail_ids: Iterable[str],
                        options: Optional[Mapping[str, Any]] = None) -> list[Union[Message, EmailMessage, None]]:
        """Many mails by id, in order, in few round trips (``$batch`` of 20, batches in parallel).

        A mail that does not exist (404) is None in the result; any other refusal raises GraphError.
        Options as ``get_mail`` plus ``select``.
        """
        values = validate(options, {**_MAIL_OPTIONS, "select": ODATA_CHECKS["select"]}, "get_mails_by_id options")
        if isinstance(mail_ids, str) or not isinstance(mail_ids, Iterable):
            what = "one text" if isinstance(mail_ids, str) else type(mail_ids).__name__
            raise ConfigError(f"mail_ids must be a list of ids, not {what}", key="mail_ids", code=10)
        ids = list(mail_ids)  # read once: an iterator would be empty the second time
        paths = [self._message_path(mail_id, f"mail_ids[{index}]") for index, mail_id in enumerate(ids)]
        mail_type: str = values.get("mailType", self.mail_type)
        if mail_type == "MIME":
            def fetch(mail_id: str) -> Optional[EmailMessage]:
                try:
                    return self._mime(mail_id)
                except GraphError as error:
                    if error.status == 404:
                        return None
                    raise
            return self._transport.map(fetch, ids)
        headers = _body_type(values)
        query = "?" + encode_query({"$select": values["select"]}) if "select" in values else ""
        requests_ = [{"method": "GET", "url": path + query, **({"headers": headers} if headers else {})}
                     for path in paths]
        results: list[Union[Message, EmailMessage, None]] = []
        for path, answer in zip(paths, self._transport.batch(requests_)):
            status = answer["status"]
            if status == 404:
                results.append(None)
            elif status >= 400:
                body = answer["body"]
                raw = body if isinstance(body, bytes) else json.dumps(body or {}).encode("utf-8")
                raise graph_error("GET", path, status, raw, answer["headers"])
            else:
                results.append(self._wrap(answer["body"], mail_type))
        return results

    def get_attachments(self, mail_id: str, *, mail_type: Optional[str] = None) -> list[Attachment]:
        """A mail's attachments, described without their content (``get_content()`` on each)."""
        return list_attachments(self._transport, self._message_path(mail_id), mail_type or self._mail_type)

    # --- writing ---------------------------------------------------------------------------

    def _graph_in(self, mail: Any, where: str = "mail") -> tuple[Optional[dict[str, Any]], list[OutAttachment], bytes]:
        """(Graph JSON, attachments, b"") for JSON mail types; (None, [], MIME bytes) for MIME."""
        if self._mail_type == "MIME":
            return None, [], mime_bytes(mail, where)
        if self._mail_type == "JMAP":
            message, attachments = jmap_to_graph(mail, where)
        else:
            message, attachments = graph_message_in(mail, where)
        return message, attachments, b""

    @staticmethod
    def _fits(attachments: list[OutAttachment]) -> bool:
        return sum(len(a.content) for a in attachments) <= INLINE_LIMIT

    def _post_mime(self, path: str, data: bytes) -> Any:
        """POST a MIME mail (Graph wants it base64 encoded, as text/plain)."""
        return self._transport.request("POST", path, data=base64.b64encode(data),
                                       headers={"Content-Type": "text/plain"})

    def _create(self, collection: str, message: dict[str, Any], attachments: list[OutAttachment]) -> dict[str, Any]:
        """Create a message in ``collection`` with its attachments; returns Graph's answer (with ``id``)."""
        inline = self._fits(attachments)
        body = {**message, "attachments": [a.graph_json() for a in attachments]} if inline and attachments \
            else message
        created = self._transport.json("POST", collection, json_body=body) or {}
        message_id = created.get("id")
        if not message_id:
            raise GraphError(f"Graph POST {collection}: no id in the answer", error_code="noId")
        if not inline:
            path = self._message_path(message_id)
            try:
                for attachment in attachments:
                    add_attachment(self._transport, path, attachment)
            except NetKitError:
                try:  # don't leave a half-built message behind
                    self._transport.request("DELETE", path)
                except NetKitError:
                    pass
                raise
        return created

    def _unwrap(self, mail: Any) -> tuple[Any, bool]:
        """Graph's ``{message, saveToSentItems}`` envelope, which 4D passes through, or a bare mail."""
        if self._mail_type != "MIME" and isinstance(mail, Mapping) and "message" in mail \
                and set(mail) <= {"message", "saveToSentItems"}:
            return mail["message"], boolean("saveToSentItems", mail.get("saveToSentItems", True))
        return mail, True

    def _sent_id(self, internet_message_id: Optional[str]) -> Optional[str]:
        """The id of a sent mail's copy in Sent Items, found by its Internet message id; None when
        Graph has not filed it yet (it may do so later) or the lookup fails."""
        if not internet_message_id:
            return None
        quoted = internet_message_id.replace("'", "''")
        try:
            found = self._transport.json(
                "GET", f"{self._base}/mailFolders/sentitems/messages",
                params={"$filter": f"internetMessageId eq '{quoted}'", "$select": "id", "$top": "1"}) or {}
        except NetKitError:
            return None
        items = found.get("value") or []
        return items[0].get("id") if items else None

    def send(self, mail: Any) -> Status:
        """Send a mail in the mail type, or Graph's ``{message, saveToSentItems}`` with the message
        in the mail type; a status object (202 when Graph accepted it). A mail over 3 MB goes as a
        draft then ``send``; its status's ``id`` is then the Sent Items copy's when Graph has filed it
        by the time the send returns (and Graph always keeps that copy: ``saveToSentItems`` applies
        to mails that fit in one request)."""
        mail, save = self._unwrap(mail)
        message, attachments, mime = self._graph_in(mail)

        def run() -> Status:
            nonlocal message, attachments
            if mime and len(mime) <= INLINE_LIMIT:
                return Status.ok(self._post_mime(f"{self._base}/sendMail", mime).status_code, "Mail sent")
            if mime:
                message, attachments = mime_to_graph(mime)
            assert message is not None
            if self._fits(attachments):
                full = {**message, "attachments": [a.graph_json() for a in attachments]} if attachments else message
                response = self._transport.request("POST", f"{self._base}/sendMail",
                                                   json_body={"message": full, "saveToSentItems": save})
                return Status.ok(response.status_code, "Mail sent")
            draft = self._create(f"{self._base}/messages", message, attachments)
            try:
                response = self._transport.request("POST", self._message_path(draft["id"]) + "/send")
            except GraphError as error:  # kept (it may even have gone): the caller decides, with its id
                status = Status.failed(error)
                status.update(statusText=f"{error.message} (the mail is kept in Drafts)", id=draft["id"])
                return status
            sent_id = self._sent_id(draft.get("internetMessageId"))
            return Status.ok(response.status_code, "Mail sent", **({"id": sent_id} if sent_id else {}))

        return self._status(run)

    def append(self, mail: Any, folder_id: Optional[str] = None) -> Status:
        """Put a mail in a folder (an id or a well-known name), or without one a draft in Drafts, as
        4D does; the status's ``id`` is the new mail's."""
        filed = folder_id is not None and folder_id != ""
        collection = f"{self._base}/mailFolders/{segment('folderId', folder_id)}/messages" if filed \
            else f"{self._base}/messages"
        message, attachments, mime = self._graph_in(mail)

        def run() -> Status:
            if mime and len(mime) <= INLINE_LIMIT:
                created = self._post_mime(collection, mime)
                return Status.ok(created.status_code, "Mail appended", id=(created.json() or {}).get("id"))
            msg, atts = mime_to_graph(mime) if mime else (message, attachments)
            assert msg is not None
            if filed and "singleValueExtendedProperties" not in msg:  # a filed mail, not a draft
                msg = {**msg, "singleValueExtendedProperties": [_NOT_DRAFT]}
            return Status.ok(201, "Mail appended", id=self._create(collection, msg, atts)["id"])

        return self._status(run)

    def reply(self, reply: Any, mail_id: str, reply_all: bool = False) -> Status:
        """Reply (or reply to all) to a mail. ``reply`` is a mail in the mail type; in Microsoft type
        it may also be Graph's ``{"message": {...}, "comment": "..."}``. A MIME reply is sent as Graph
        JSON so that Graph threads it (In-Reply-To, conversation) itself."""
        boolean("reply_all", reply_all)
        path = self._message_path(mail_id) + ("/replyAll" if reply_all else "/reply")
        body: dict[str, Any] = {}
        message: Optional[dict[str, Any]]
        if self._mail_type == "MIME":
            message, attachments = mime_to_graph(mime_bytes(reply, "reply"))
            message.pop("internetMessageId", None)
        elif self._mail_type == "Microsoft" and isinstance(reply, Mapping) and reply and \
                set(reply) <= {"message", "comment"}:
            if "comment" in reply:
                body["comment"] = text("reply.comment", reply["comment"])
            message, attachments = graph_message_in(reply["message"], "reply.message") if "message" in reply \
                else (None, [])
        else:
            message, attachments, _ = self._graph_in(reply, "reply")
        if not self._fits(attachments):
            raise ConfigError("reply: attachments over 3 MB in a reply are not supported; "
                              "reply, then send the file in a new mail", key="reply.attachments")
        if message is not None:
            body["message"] = {**message, "attachments": [a.graph_json() for a in attachments]} if attachments \
                else message
        return self._status(lambda: Status.ok(self._transport.request("POST", path, json_body=body).status_code,
                                              "Reply sent"))

    def update(self, mail_id: str, fields: Mapping[str, Any]) -> Status:
        """Change a mail's fields (Graph's names, e.g. ``isRead``, ``categories``, ``flag``; in JMAP
        type 4D's names such as ``keywords``, ``subject``)."""
        path = self._message_path(mail_id)
        if self._mail_type == "JMAP":
            message, attachments = jmap_to_graph(fields, "fields")
        else:
            message, attachments = graph_message_in(fields, "fields")
        if attachments or "attachments" in fields:
            raise ConfigError("fields: attachments can't be changed with update", key="fields.attachments")
        return self._status(lambda: Status.ok(self._transport.request("PATCH", path, json_body=message).status_code,
                                              "Mail updated", id=mail_id))

    def _move_or_copy(self, action: str, mail_id: str, folder_id: str) -> Status:
        path = self._message_path(mail_id) + "/" + action
        destination = nonempty_text("folderId", folder_id)

        def run() -> Status:
            response = self._transport.request("POST", path, json_body={"destinationId": destination})
            new_id = (response.json() or {}).get("id") if response.content else None
            return Status.ok(response.status_code, "Mail moved" if action == "move" else "Mail copied", id=new_id)

        return self._status(run)

    def move(self, mail_id: str, folder_id: str) -> Status:
        """Move a mail to a folder; the status's ``id`` is its new id (Graph changes it)."""
        return self._move_or_copy("move", mail_id, folder_id)

    def copy(self, mail_id: str, folder_id: str) -> Status:
        """Copy a mail to a folder; the status's ``id`` is the copy's."""
        return self._move_or_copy("copy", mail_id, folder_id)

    def delete(self, mail_id: str) -> Status:
        """Delete a mail (Graph moves it to Deleted Items)."""
        path = self._message_path(mail_id)
        return self._status(lambda: Status.ok(self._transport.request("DELETE", path).status_code, "Mail deleted"))

    # --- folders ---------------------------------------------------------------------------

    def _folder_path(self, folder_id: Any, key: str = "folderId") -> str:
        return f"{self._base}/mailFolders/{segment(key, folder_id)}"

    def create_folder(self, name: str, is_hidden: bool = False, parent_id: Optional[str] = None) -> Status:
        """Create a folder (hidden if asked) at the top or under ``parent_id``; status ``id`` = its id."""
        body = {"displayName": nonempty_text("name", name), "isHidden": boolean("isHidden", is_hidden)}
        path = self._folder_path(parent_id, "parentId") + "/childFolders" if parent_id is not None \
            else f"{self._base}/mailFolders"

        def run() -> Status:
            created = self._transport.json("POST", path, json_body=body) or {}
            return Status.ok(201, "Folder created", id=created.get("id"))

        return self._status(run)

    def rename_folder(self, folder_id: str, name: str) -> Status:
        path = self._folder_path(folder_id)
        body = {"displayName": nonempty_text("name", name)}
        return self._status(lambda: Status.ok(self._transport.request("PATCH", path, json_body=body).status_code,
                                              "Folder renamed", id=folder_id))

    def delete_folder(self, folder_id: str) -> Status:
        path = self._folder_path(folder_id)
        return self._status(lambda: Status.ok(self._transport.request("DELETE", path).status_code, "Folder deleted"))

    def get_folder(self, folder_id: str) -> dict[str, Any]:
        """A folder (Graph's mailFolder JSON) by id or well-known name."""
        return self._transport.json("GET", self._folder_path(folder_id))

    def get_folder_list(self, options: Union[str, Mapping[str, Any], None] = None) -> GraphList:
        """A list object (``folders``): top-level folders, or ``folderId``'s child folders.

        Options: ``folderId``, ``includeHiddenFolders``, ``search``, ``filter``, ``select``, ``top``,
        ``orderBy`` (``search`` sends ``ConsistencyLevel: eventual``, which 4D loses here).
        """
        if isinstance(options, str):  # 4D's example passes a folder id alone
            options = {"folderId": options}
        values = validate(options, {"folderId": nonempty_text, "includeHiddenFolders": boolean, **ODATA_CHECKS},
                          "get_folder_list options")
        path = self._folder_path(values["folderId"]) + "/childFolders" if "folderId" in values \
            else f"{self._base}/mailFolders"
        params = {"includeHiddenFolders": "true"} if values.get("includeHiddenFolders") else None
        return self._list(path, values, "folders", params=params)

    def notifier(self, param: Optional[Mapping[str, Any]] = None, folder_id: Optional[str] = None,
                 **options: Any) -> Notifier:
        """4D's ``mail.notifier(param; folderId)``: callbacks when mail in a folder (the inbox by
        default) is created, modified or deleted; pull (delta) or push (``endPoint``). See ``Notifier``."""
        return mail_notifier(self._transport, self._base, param, folder_id, **options)
