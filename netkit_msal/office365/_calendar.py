"""``Office365.calendar``: calendars and events, with explicit time zones.

4D names -> Python: getCalendar -> get_calendar, getCalendars -> get_calendars, getEvent -> get_event,
getEvents -> get_events, createEvent -> create_event, updateEvent -> update_event,
deleteEvent -> delete_event. Reads send ``Prefer: outlook.timezone="<timeZone>"`` (UTC unless
``timeZone`` says otherwise). An event's ``start``/``end`` take 4D's forms (see ``_times``): without
a time zone the time is local, as in 4D. Events carry ``attachments``: posted after the event on
create and update (over 3 MB through an upload session), fetched lazily on read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

from .._exceptions import ConfigError, NetKitError
from ._api import Api
from ._attachments import Attachment, GraphObject, add_attachment, list_attachments
from ._convert import OutAttachment, graph_attachment_in, jmap_attachment_in, recipient
from ._notifier import Notifier, calendar_notifier
from ._options import ODATA_CHECKS, check_keys, field_list, nonempty_text, one_of, segment, text, validate
from ._status import GraphList, Status
from ._times import event_time, instant

EVENT_KEYS = (
    "@odata.type", "@odata.etag", "@odata.context", "id", "createdDateTime", "lastModifiedDateTime",
    "changeKey", "categories", "transactionId", "originalStartTimeZone", "originalEndTimeZone", "iCalUId",
    "reminderMinutesBeforeStart", "isReminderOn", "hasAttachments", "subject", "bodyPreview", "importance",
    "sensitivity", "isAllDay", "isCancelled", "isOrganizer", "responseRequested", "seriesMasterId", "showAs",
    "type", "webLink", "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals",
    "isDraft", "hideAttendees", "recurrence", "onlineMeeting", "responseStatus", "body", "start", "end",
    "originalStart", "location", "locations", "attendees", "organizer", "attachments", "extensions",
    "singleValueExtendedProperties", "multiValueExtendedProperties",
    "calendarId",  # 4D's event object names its calendar; it goes in the URL, not the body
)
DEFAULT_TIME_ZONE = "UTC"
_BODY_TYPE = one_of("text", "html")


def _prefer(values: Mapping[str, Any]) -> dict[str, str]:
    """``Prefer`` for ``timeZone`` (UTC by default) and ``bodyContentType``, comma separated."""
    parts = [f'outlook.timezone="{values.get("timeZone", DEFAULT_TIME_ZONE)}"']
    if "bodyContentType" in values:
        parts.append(f'outlook.body-content-type="{values["bodyContentType"]}"')
    return {"Prefer": ", ".join(parts)}


def _attendee(value: Any, where: str) -> Any:
    """An attendee as Graph writes it, or as 4D's example does: ``{email, name?, type?}``."""
    if isinstance(value, Mapping) and "email" in value and "emailAddress" not in value:
        check_keys(value, ("email", "name", "type"), where)
        out: dict[str, Any] = recipient(value["email"], value.get("name"))
        if "type" in value:
            out["type"] = text(f"{where}.type", value["type"])
        return out
    return value


def _attachment_in(item: Any, where: str) -> OutAttachment:
    """Graph's attachment object (or an ``Attachment``), or 4D's ``{name, type, content | path}``."""
    if isinstance(item, Mapping) and not isinstance(item, Attachment) and "contentBytes" not in item \
            and "@odata.type" not in item:
        return jmap_attachment_in(item, where)
    return graph_attachment_in(item, where)


def _event_in(event: Any, skip: str = "") -> tuple[dict[str, Any], Optional[str], Optional[str], list[OutAttachment]]:
    """(Graph body, event id, calendar id, attachments) for 4D's event object. Attachments read from
    the path ``skip`` (the event being updated, read back and changed) are already there: not posted again."""
    if not isinstance(event, Mapping):
        raise ConfigError(f"event must be a dict of Graph event fields, not {type(event).__name__}",
                          key="event", code=10)
    check_keys(event, EVENT_KEYS, "event")
    out = {key: value for key, value in event.items() if key not in ("id", "calendarId", "attachments")}
    for key in ("start", "end"):
        if key in out:
            out[key] = event_time(f"event.{key}", out[key])
    if isinstance(out.get("attendees"), (list, tuple)):
        out["attendees"] = [_attendee(item, f"event.attendees[{index}]")
                            for index, item in enumerate(out["attendees"])]
    items = event.get("attachments") or []
    if not isinstance(items, (list, tuple)):
        raise ConfigError("event.attachments must be a list", key="event.attachments", code=10)
    attachments = [_attachment_in(item, f"event.attachments[{index}]") for index, item in enumerate(items)
                   if not (skip and isinstance(item, Attachment) and (item._path or "").startswith(skip))]
    event_id = nonempty_text("event.id", event["id"]) if event.get("id") is not None else None
    calendar_id = nonempty_text("event.calendarId", event["calendarId"]) if event.get("calendarId") else None
    return out, event_id, calendar_id, attachments


class Event(GraphObject):
    """An event read from Graph whose ``attachments`` load on first use (when it has any)."""

    def __init__(self, data: Mapping[str, Any], calendar: Calendar, path: Optional[str]) -> None:
        super().__init__(data)
        self._calendar = calendar
        self._path = path

    @property
    def attachments(self) -> list[Attachment]:
        if "attachments" not in self:
            path = self._path
            if path is None or self.get("hasAttachments", True) is False:
                self["attachments"] = []
            else:
                self["attachments"] = list_attachments(self._calendar._transport, path)
        return self["attachments"]



_EVENT_ID = {"eventId": nonempty_text, "calendarId": nonempty_text}
_READ = {"timeZone": text, "bodyContentType": _BODY_TYPE, "select": field_list}
_WRITE = {"calendarId": nonempty_text, "timeZone": text}


class Calendar(Api):
    """4D's ``Office365.calendar``."""

    def _calendar_path(self, calendar_id: Optional[str]) -> str:
        return f"{self._base}/calendars/{segment('calendarId', calendar_id)}" if calendar_id is not None \
            else f"{self._base}/calendar"

    def _events_path(self, calendar_id: Optional[str]) -> str:
        return self._calendar_path(calendar_id) + "/events" if calendar_id is not None else f"{self._base}/events"

    def _event_path(self, values: Mapping[str, Any]) -> str:
        if "eventId" not in values:
            raise ConfigError("eventId is missing", key="eventId", code=2)
        return f"{self._events_path(values.get('calendarId'))}/{segment('eventId', values['eventId'])}"

    def _event(self, data: Mapping[str, Any]) -> Event:
        """An event with lazy attachments (``/events/{id}`` finds it in any calendar)."""
        event_id = data.get("id")
        return Event(data, self, f"{self._base}/events/{segment('id', event_id)}" if event_id else None)

    @staticmethod
    def _id_options(options: Union[str, Mapping[str, Any], None], checks: Mapping[str, Any],
                    where: str) -> dict[str, Any]:
        """4D passes an object; a bare event id is accepted too."""
        if isinstance(options, str):
            options = {"eventId": options}
        return validate(options, checks, where)

    def get_calendar(self, calendar_id: Optional[str] = None, select: Any = None) -> dict[str, Any]:
        """A calendar by id, or the default calendar without one (or with "", as 4D)."""
        params = {"$select": field_list("select", select)} if select is not None else None
        return self._transport.json("GET", self._calendar_path(calendar_id or None), params=params)

    def get_calendars(self, options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """A list object (``calendars``); options ``search``, ``filter``, ``select``, ``top``, ``orderBy``."""
        values = validate(options, ODATA_CHECKS, "get_calendars options")
        return self._list(f"{self._base}/calendars", values, "calendars")

    def get_event(self, options: Union[str, Mapping[str, Any]]) -> Event:
        """One event: ``{eventId, calendarId?, timeZone?, bodyContentType?, select?}`` (or the event id
        alone). Its ``attachments`` are fetched on first use."""
        values = self._id_options(options, {**_EVENT_ID, **_READ}, "get_event options")
        params = {"$select": values["select"]} if "select" in values else None
        return self._event(self._transport.json("GET", self._event_path(values), params=params,
                                                headers=_prefer(values)) or {})

    def get_events(self, options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """A list object (``events``). With ``startDateTime`` and ``endDateTime`` (both: ISO text, a
        ``datetime`` or 4D's ``{date, time}``) it is the calendar view: every occurrence in that
        window. Other options: ``calendarId``, ``timeZone``, ``bodyContentType``, ``search``,
        ``filter``, ``select``, ``top``, ``orderBy``. The list's ``calendarId`` is the one asked for."""
        values = validate(options, {"calendarId": nonempty_text, "startDateTime": instant, "endDateTime": instant,
                                    **_READ, **ODATA_CHECKS}, "get_events options")
        root = self._calendar_path(values["calendarId"]) if "calendarId" in values else self._base
        window = [key for key in ("startDateTime", "endDateTime") if key in values]
        if len(window) == 1:
            missing = "endDateTime" if window[0] == "startDateTime" else "startDateTime"
            raise ConfigError(f"{window[0]} needs {missing} too (both make a calendar view)", key=missing, code=2)

        def convert(items: list[Any]) -> list[Any]:
            return [self._event(item) for item in items]

        if window:
            params = {"startDateTime": values["startDateTime"], "endDateTime": values["endDateTime"]}
            events = self._list(root + "/calendarView", values, "events", convert, params=params,
                                headers=_prefer(values))
        else:
            events = self._list(root + "/events", values, "events", convert, headers=_prefer(values))
        events.calendarId = values.get("calendarId")
        return events

    def _attach(self, event_id: str, attachments: list[OutAttachment]) -> list[dict[str, Any]]:
        owner = f"{self._base}/events/{segment('id', event_id)}"
        return [add_attachment(self._transport, owner, attachment) for attachment in attachments]

    def _write(self, method: str, path: str, body: dict[str, Any], attachments: list[OutAttachment],
               values: Mapping[str, Any], text_ok: str, known_id: Optional[str] = None) -> Status:
        """POST or PATCH an event, then post its attachments (4D's order); a refused attachment makes
        the status a failure that still holds the event's ``id``."""
        def run() -> Status:
            answer = self._transport.json(method, path, json_body=body, headers=_prefer(values)) or {}
            event_id = answer.get("id") or known_id
            event = self._event(answer)
            if attachments and event_id:
                try:
                    event["attachments"] = self._attach(event_id, attachments)
                except NetKitError as error:
                    status = Status.failed(error)
                    status.update(id=event_id, event=event)
                    return status
                event["hasAttachments"] = True
            return Status.ok(201 if method == "POST" else 200, text_ok, id=event_id, event=event)

        return self._status(run)

    def create_event(self, event: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None) -> Status:
        """Create an event (Graph's event fields, times in 4D's forms, ``attachments``) in the default
        calendar or ``calendarId`` (option, or the event's own); the status holds ``id`` and ``event``
        (its times in ``timeZone``, UTC by default)."""
        values = validate(options, _WRITE, "create_event options")
        body, _, calendar_id, attachments = _event_in(event)
        calendar_id = values.get("calendarId", calendar_id)
        return self._write("POST", self._events_path(calendar_id), body, attachments, values, "Event created")

    def update_event(self, event: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None) -> Status:
        """Change the fields given in ``event`` of the event ``options["id"]`` or ``event["id"]``
        (4D's order); ``attachments`` are added. The status holds ``event``."""
        values = validate(options, {**_WRITE, "id": nonempty_text}, "update_event options")
        own_id = event.get("id") if isinstance(event, Mapping) else None
        event_id = values.get("id") or (nonempty_text("event.id", own_id) if own_id is not None else None)
        if event_id is None:
            raise ConfigError("event.id is missing: which event to update", key="event.id", code=2)
        known = f"{self._base}/events/{segment('id', event_id)}/attachments/"
        body, _, calendar_id, attachments = _event_in(event, known)
        path = self._event_path({"calendarId": values.get("calendarId", calendar_id), "eventId": event_id})
        return self._write("PATCH", path, body, attachments, values, "Event updated", event_id)

    def delete_event(self, options: Union[str, Mapping[str, Any]]) -> Status:
        """Delete ``{eventId, calendarId?}`` (or the event id alone). An empty id raises ConfigError:
        it never reaches the events collection (4D's deleteEvent bug)."""
        values = self._id_options(options, _EVENT_ID, "delete_event options")
        path = self._event_path(values)
        return self._status(lambda: Status.ok(self._transport.request("DELETE", path).status_code, "Event deleted",
                                              id=values["eventId"]))

    def notifier(self, param: Optional[Mapping[str, Any]] = None, calendar_id: Optional[str] = None,
                 **options: Any) -> Notifier:
        """4D's ``calendar.notifier(param; calendarId)``: callbacks when events are created, modified or
        deleted; pull (delta) or push (``endPoint``). See ``Notifier``."""
        return calendar_notifier(self._transport, self._base, param, calendar_id, **options)
