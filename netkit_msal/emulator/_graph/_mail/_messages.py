"""Messages: list, create (JSON or MIME), get, ``$value``, update, delete, move and copy."""

from __future__ import annotations

from ..._http import Response
from .._core import Ctx, Router, bad_request, collection, entity, not_found, param
from .._mime import message_to_mime
from .._odata import parse_message_search
from .._store import Mailbox, message_record, new_id, now_iso, preview
from ._common import (
    _attachments_from_json,
    _folder,
    _is_not_draft,
    _message,
    _message_fields,
    _message_renderer,
    _mime_input,
    _preference_headers,
    _sender,
    message_route,
)

router = Router()


def _list(ctx: Ctx, box: Mailbox, ids, context: str) -> Response:
    render = _message_renderer(ctx, box)
    search = None
    if ctx.q("$search") is not None:
        if ctx.q("$orderby"):
            raise bad_request("The query parameter '$orderBy' is not supported with '$search'.",
                              "ErrorInvalidUrlQuery")
        search = parse_message_search(ctx.q("$search") or "")
    return collection(ctx, [box.messages[i] for i in ids], render, context=context, default_top=10, max_top=1000,
                      default_order=[("receivedDateTime", True)], search=search,
                      type_name="message")


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


@message_route(router, "GET", "", "mail.read")
def get_message(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    return entity(ctx, f"{ctx.user_path}/messages/$entity", _message_renderer(ctx, box)(record),
                  headers=_preference_headers(ctx))


@message_route(router, "GET", "/$value", "mail.read")
def get_message_mime(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    record = _message(ctx, box)
    return Response(200, message_to_mime(record, box.attachments.get(record["id"], [])),
                    {"Content-Type": "text/plain"})


@message_route(router, "PATCH", "", "mail.write")
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


@message_route(router, "DELETE", "", "mail.write")
def delete_message(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    box.delete_message(_message(ctx, box)["id"])
    return Response.empty()


@message_route(router, "POST", "/permanentDelete", "mail.write")
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


@message_route(router, "POST", "/move", "mail.write")
def move_message(ctx: Ctx) -> Response:
    return _to_folder(ctx, Mailbox.move_message)


@message_route(router, "POST", "/copy", "mail.write")
def copy_message(ctx: Ctx) -> Response:
    return _to_folder(ctx, Mailbox.copy_message)


def _to_folder(ctx: Ctx, operation) -> Response:
    """Move or copy: the result has a new id, as Exchange gives it."""
    box = ctx.mailbox()
    record = _message(ctx, box)
    placed = operation(box, record["id"], _destination(ctx, box)["id"])
    return entity(ctx, f"{ctx.user_path}/messages/$entity", _message_renderer(ctx, box)(placed), 201)
