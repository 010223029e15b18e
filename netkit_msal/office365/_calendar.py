"""``Office365.calendar``: calendars and events, with explicit time zones.

4D names -> Python: getCalendar -> get_calendar, getCalendars -> get_calendars, getEvent -> get_event,
getEvents -> get_events, createEvent -> create_event, updateEvent -> update_event,
deleteEvent -> delete_event. Times are never ambiguous: reads send
``Prefer: outlook.timezone="<timeZone>"`` (UTC unless ``timeZone`` says otherwise), and an event's
``start``/``end`` must carry a ``timeZone`` or be an aware ``datetime``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Optional, Union

from .._exceptions import ConfigError
from ._api import Api
from ._notifier import Notifier, calendar_notifier
from ._options import ODATA_CHECKS, check_keys, date_time, field_list, nonempty_text, segment, text, validate
from ._status import GraphList, Status

EVENT_KEYS = (
    "@odata.type", "@odata.etag", "@odata.context", "id", "createdDateTime", "lastModifiedDateTime",
    "changeKey", "categories", "transactionId", "originalStartTimeZone", "originalEndTimeZone", "iCalUId",
    "reminderMinutesBeforeStart", "isReminderOn", "hasAttachments", "subject", "bodyPreview", "importance",
    "sensitivity", "isAllDay", "isCancelled", "isOrganizer", "responseRequested", "seriesMasterId", "showAs",
    "type", "webLink", "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals",
    "isDraft", "hideAttendees", "recurrence", "onlineMeeting", "responseStatus", "body", "start", "end",
    "originalStart", "location", "locations", "attendees", "organizer", "attachments", "extensions",
    "singleValueExtendedProperties", "multiValueExtendedProperties",
)
DEFAULT_TIME_ZONE = "UTC"


def _time_zone_header(values: Mapping[str, Any]) -> dict[str, str]:
    return {"Prefer": f'outlook.timezone="{values.get("timeZone", DEFAULT_TIME_ZONE)}"'}


def _when(key: str, value: Any) -> dict[str, str]:
    """Graph's dateTimeTimeZone from an aware datetime or ``{dateTime, timeZone}``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(f"event.{key} is a naive datetime: give it a time zone", key=f"event.{key}")
        return {"dateTime": value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    if not isinstance(value, Mapping):
        raise ConfigError(f"event.{key} must be {{dateTime, timeZone}} or an aware datetime",
                          key=f"event.{key}", code=10)
    check_keys(value, ("dateTime", "timeZone", "@odata.type"), f"event.{key}")
    if not value.get("timeZone"):
        raise ConfigError(f"event.{key}.timeZone is missing: times must say their time zone",
                          key=f"event.{key}.timeZone", code=2)
    text(f"event.{key}.timeZone", value["timeZone"])
    nonempty_text(f"event.{key}.dateTime", value.get("dateTime"))
    return dict(value)


def _event_in(event: Any) -> dict[str, Any]:
    if not isinstance(event, Mapping):
        raise ConfigError(f"event must be a dict of Graph event fields, not {type(event).__name__}",
                          key="event", code=10)
    check_keys(event, EVENT_KEYS, "event")
    out = dict(event)
    for key in ("start", "end"):
        if key in out:
            out[key] = _when(key, out[key])
    return out


_EVENT_ID = {"eventId": nonempty_text, "calendarId": nonempty_text}


class Calendar(Api):
    """4D's ``Office365.calendar``."""

    def _calendar_path(self, calendar_id: Optional[str]) -> str:
        return f"{self._base}/calendars/{segment('calendarId', calendar_id)}" if calendar_id is not None \
            else f"{self._base}/calendar"

    def _event_path(self, values: Mapping[str, Any]) -> str:
        if "eventId" not in values:
            raise ConfigError("eventId is missing", key="eventId", code=2)
        events = self._calendar_path(values["calendarId"]) + "/events" if "calendarId" in values \
            else f"{self._base}/events"
        return f"{events}/{segment('eventId', values['eventId'])}"

    @staticmethod
    def _id_options(options: Union[str, Mapping[str, Any], None], checks: Mapping[str, Any],
                    where: str) -> dict[str, Any]:
        """4D passes an object; a bare event id is accepted too."""
        if isinstance(options, str):
            options = {"eventId": options}
        return validate(options, checks, where)

    def get_calendar(self, calendar_id: Optional[str] = None, select: Any = None) -> dict[str, Any]:
        """A calendar by id, or the default calendar without one."""
        params = {"$select": field_list("select", select)} if select is not None else None
        return self._transport.json("GET", self._calendar_path(calendar_id), params=params)

    def get_calendars(self, options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """A list object (``calendars``); options ``search``, ``filter``, ``select``, ``top``, ``orderBy``."""
        values = validate(options, ODATA_CHECKS, "get_calendars options")
        return self._list(f"{self._base}/calendars", values, "calendars")

    def get_event(self, options: Union[str, Mapping[str, Any]]) -> dict[str, Any]:
        """One event: ``{eventId, calendarId?, timeZone?, select?}`` (or the event id alone)."""
        values = self._id_options(options, {**_EVENT_ID, "timeZone": text, "select": field_list}, "get_event options")
        params = {"$select": values["select"]} if "select" in values else None
        return self._transport.json("GET", self._event_path(values), params=params, headers=_time_zone_header(values))

    def get_events(self, options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """A list object (``events``). With ``startDateTime`` and ``endDateTime`` (both, aware datetimes or
        ISO text) it is the calendar view: every occurrence in that window. Other options:
        ``calendarId``, ``timeZone``, ``search``, ``filter``, ``select``, ``top``, ``orderBy``."""
        values = validate(options, {"calendarId": nonempty_text, "startDateTime": date_time,
                                    "endDateTime": date_time, "timeZone": text, **ODATA_CHECKS},
                          "get_events options")
        root = self._calendar_path(values["calendarId"]) if "calendarId" in values else self._base
        window = [key for key in ("startDateTime", "endDateTime") if key in values]
        if len(window) == 1:
            missing = "endDateTime" if window[0] == "startDateTime" else "startDateTime"
            raise ConfigError(f"{window[0]} needs {missing} too (both make a calendar view)", key=missing, code=2)
        if window:
            params = {"startDateTime": values["startDateTime"], "endDateTime": values["endDateTime"]}
            return self._list(root + "/calendarView", values, "events", params=params,
                              headers=_time_zone_header(values))
        return self._list(root + "/events", values, "events", headers=_time_zone_header(values))

    def create_event(self, event: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None) -> Status:
        """Create an event (Graph's event fields) in the default calendar or ``calendarId``;
        the status holds ``id`` and ``event`` (its times in ``timeZone``, UTC by default)."""
        values = validate(options, {"calendarId": nonempty_text, "timeZone": text}, "create_event options")
        body = _event_in(event)
        path = self._calendar_path(values["calendarId"]) + "/events" if "calendarId" in values \
            else f"{self._base}/events"

        def run() -> Status:
            created = self._transport.json("POST", path, json_body=body, headers=_time_zone_header(values)) or {}
            return Status.ok(201, "Event created", id=created.get("id"), event=created)

        return self._status(run)

    def update_event(self, event: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None) -> Status:
        """Change the fields given in ``event`` of the event ``event["id"]``; the status holds ``event``."""
        values = validate(options, {"calendarId": nonempty_text, "timeZone": text}, "update_event options")
        body = _event_in(event)
        event_id = body.pop("id", None)
        if event_id is None:
            raise ConfigError("event.id is missing: which event to update", key="event.id", code=2)
        path = self._event_path({**values, "eventId": event_id})

        def run() -> Status:
            updated = self._transport.json("PATCH", path, json_body=body, headers=_time_zone_header(values)) or {}
            return Status.ok(200, "Event updated", id=event_id, event=updated)

        return self._status(run)

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
