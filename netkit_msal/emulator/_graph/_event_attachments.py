"""Event attachments: ``/events/{id}/attachments`` under the mailbox, ``/calendar`` and ``/calendars/{id}``.

Graph serves an event's file attachments as it serves a message's: list, get, ``$value``, POST (3 MB),
DELETE and ``createUploadSession`` for bigger files. They are stored with the mailbox's attachments,
keyed by the event id (event and message ids never collide), so the state file keeps them. An
occurrence of a series shows the series' attachments; they are changed on the series.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._http import Response
from ._calendar import event_in_request
from ._core import Ctx, Router, collection, entity, not_found, selector
from ._mail._common import _attachment_from_json, render_attachment
from ._store import Mailbox, new_id, now_iso
from ._uploads import create_session

router = Router()

_PROPERTIES = ("id", "lastModifiedDateTime", "name", "contentType", "size", "isInline", "contentId",
               "contentLocation", "contentBytes")
_TYPE = "Microsoft.OutlookServices.FileAttachment"


def _owner(ctx: Ctx, everywhere: bool, *, writing: bool) -> tuple[Mailbox, dict]:
    box = ctx.mailbox()
    return box, event_in_request(ctx, box, everywhere, occurrences=not writing)


def _key(event: dict) -> str:
    """Attachments live on the series: an occurrence reads its master's."""
    return event.get("seriesMasterId") or event["id"] if event.get("type") == "occurrence" else event["id"]


def _find(ctx: Ctx, box: Mailbox, event: dict) -> dict:
    for attachment in box.attachments.get(_key(event), []):
        if attachment["id"] == ctx.params["attachment_id"]:
            return attachment
    raise not_found()


def _add(box: Mailbox, event: dict, attachment: dict) -> dict:
    attachment = {**attachment, "id": attachment.get("id") or new_id("AAMkAGEvAtt")}
    box.attachments.setdefault(event["id"], []).append(attachment)
    event["lastModifiedDateTime"] = now_iso()
    return attachment


def _list(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=False)
    pick = selector(ctx, _PROPERTIES, _TYPE)
    return collection(ctx, box.attachments.get(_key(event), []), lambda a: pick(render_attachment(a)),
                      context=f"{ctx.user_path}/events('{event['id']}')/attachments", default_top=100, max_top=1000,
                      type_name="fileAttachment")


def _get(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=False)
    pick = selector(ctx, _PROPERTIES, _TYPE)
    return entity(ctx, f"{ctx.user_path}/events('{event['id']}')/attachments/$entity",
                  pick(render_attachment(_find(ctx, box, event))))


def _value(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=False)
    attachment = _find(ctx, box, event)
    return Response(200, attachment["_bytes"], {"Content-Type": attachment.get("contentType")
                                                or "application/octet-stream"})


def _create(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=True)
    attachment = _add(box, event, _attachment_from_json(ctx.body_json()))
    return entity(ctx, f"{ctx.user_path}/events('{event['id']}')/attachments/$entity",
                  render_attachment(attachment), 201)


def _delete(ctx: Ctx, everywhere: bool) -> Response:
    box, event = _owner(ctx, everywhere, writing=True)
    box.attachments[event["id"]].remove(_find(ctx, box, event))
    return Response.empty()


def _upload_session(ctx: Ctx, everywhere: bool) -> Response:
    _, event = _owner(ctx, everywhere, writing=True)
    user, event_id = ctx.principal, event["id"]

    def finish(api: Any, attachment: dict) -> str:
        assert user is not None
        box = api.store.mailbox(user)
        target = box.events.get(event_id)
        if target is None:
            raise not_found()
        added = _add(box, target, attachment)
        return f"{ctx.base}/users('{user.id}')/events('{event_id}')/attachments('{added['id']}')"
    return create_session(ctx, finish)


def _bind(handler: Callable[[Ctx, bool], Response], everywhere: bool) -> Callable[[Ctx], Response]:
    return lambda ctx: handler(ctx, everywhere)


for _prefix, _everywhere in (("", True), ("/calendar", False), ("/calendars/{calendar_id}", False)):
    _base = f"{_prefix}/events/{{event_id}}/attachments"
    router.add("GET", _base, "cal.read")(_bind(_list, _everywhere))
    router.add("POST", _base, "cal.write")(_bind(_create, _everywhere))
    router.add("POST", f"{_base}/createUploadSession", "cal.write")(_bind(_upload_session, _everywhere))
    router.add("GET", f"{_base}/{{attachment_id}}", "cal.read")(_bind(_get, _everywhere))
    router.add("GET", f"{_base}/{{attachment_id}}/$value", "cal.read")(_bind(_value, _everywhere))
    router.add("DELETE", f"{_base}/{{attachment_id}}", "cal.write")(_bind(_delete, _everywhere))
