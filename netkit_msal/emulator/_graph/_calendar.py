"""Calendars, events and ``calendarView``, with ``Prefer: outlook.timezone`` applied to event times.

Events are stored in UTC; they are rendered in the zone the ``Prefer`` header names (IANA names and
common Windows names), UTC otherwise. A recurring event is a series master; ``calendarView`` and
``/events/{id}/instances`` expand it into occurrences (ids ``{seriesId}.{yyyymmdd}``, read-only here)
at the master's wall-clock time in its own zone (see ``_recurrence`` for the patterns expanded).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone, tzinfo
from functools import partial
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._http import Response
from ._core import Ctx, GraphFail, Router, bad_request, collection, entity, not_found, odata_bool, selector
from ._odata import parse_datetime
from ._recurrence import RecurrenceError, check, dates
from ._store import Mailbox, event_bounds, event_time, new_event, now_iso, preview

router = Router()

#: Windows time zone names Graph clients send, mapped to IANA zones.
WINDOWS_ZONES = {
    "utc": "UTC", "gmt standard time": "Europe/London", "greenwich standard time": "Atlantic/Reykjavik",
    "w. europe standard time": "Europe/Berlin", "romance standard time": "Europe/Paris",
    "central europe standard time": "Europe/Budapest", "central european standard time": "Europe/Warsaw",
    "e. europe standard time": "Europe/Chisinau", "fle standard time": "Europe/Kiev",
    "pacific standard time": "America/Los_Angeles", "mountain standard time": "America/Denver",
    "central standard time": "America/Chicago", "eastern standard time": "America/New_York",
    "atlantic standard time": "America/Halifax", "e. south america standard time": "America/Sao_Paulo",
    "india standard time": "Asia/Kolkata", "china standard time": "Asia/Shanghai",
    "tokyo standard time": "Asia/Tokyo", "singapore standard time": "Asia/Singapore",
    "aus eastern standard time": "Australia/Sydney", "new zealand standard time": "Pacific/Auckland",
}
_WRITABLE = {
    "subject", "body", "start", "end", "location", "locations", "attendees", "isAllDay", "showAs", "importance",
    "sensitivity", "categories", "isReminderOn", "reminderMinutesBeforeStart", "responseRequested",
    "recurrence", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals", "hideAttendees",
    "transactionId",
}
_IGNORED = {"id", "hasAttachments", "createdDateTime", "lastModifiedDateTime", "changeKey", "bodyPreview", "organizer",
            "isOrganizer", "iCalUId", "type", "webLink", "originalStartTimeZone", "originalEndTimeZone",
            "isCancelled", "onlineMeeting", "seriesMasterId", "calendar", "responseStatus", "originalStart",
            "isDraft", "onlineMeetingUrl", "cancelledOccurrences"}


_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def zone(name: str) -> Optional[tzinfo]:
    """A tzinfo for an IANA or Windows zone name, or None when unknown."""
    if not name:
        return None
    if name.lower() in ("utc", "z", "etc/utc", "coordinated universal time"):
        return timezone.utc
    try:
        return ZoneInfo(WINDOWS_ZONES.get(name.lower(), name))
    except (ZoneInfoNotFoundError, ValueError):
        return None




def _calendar(ctx: Ctx, box: Mailbox) -> dict:
    key = ctx.params.get("calendar_id")
    if key is None:
        return box.default_calendar()
    calendar = box.calendar(key)
    if calendar is None:
        raise not_found()
    return calendar


EVENT_PROPERTIES = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "originalStartTimeZone",
    "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart", "isReminderOn", "subject", "bodyPreview",
    "importance", "sensitivity", "isAllDay", "isCancelled", "isOrganizer", "responseRequested", "showAs", "type",
    "webLink", "onlineMeeting", "body", "start", "end", "location", "locations", "recurrence", "attendees",
    "organizer", "hasAttachments", "seriesMasterId",
)
CALENDAR_PROPERTIES = ("id", "name", "color", "hexColor", "isDefaultCalendar", "changeKey", "canShare",
                       "canViewPrivateItems", "canEdit", "isRemovable", "isTallyingResponses",
                       "allowedOnlineMeetingProviders", "defaultOnlineMeetingProvider", "owner")


#: Properties Graph returns on every event without ``$select`` (its documented defaults).
_DEFAULTS = {"allowNewTimeProposals": True, "hideAttendees": False, "isDraft": False, "isOnlineMeeting": False,
             "onlineMeetingProvider": "unknown", "onlineMeetingUrl": None, "seriesMasterId": None}


def event_renderer(ctx: Ctx) -> Callable[[dict], dict]:
    pick = selector(ctx, EVENT_PROPERTIES, "microsoft.graph.event")
    attachments = ctx.mailbox().attachments
    wanted = ctx.prefer("outlook.timezone")
    tz = zone(wanted) if wanted else None
    label = wanted if tz is not None else "UTC"
    cancelled = "cancelledoccurrences" in (ctx.q("$select") or "").lower()

    def when(value: dict) -> dict:
        if tz is None or tz is timezone.utc:
            return {"dateTime": value["dateTime"], "timeZone": label}
        local = parse_datetime(value["dateTime"]).astimezone(tz)
        return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": label}

    def render(event: dict) -> dict:
        out = {"@odata.etag": f'W/"{event["changeKey"]}"', **_DEFAULTS,
               "responseStatus": {"response": "organizer" if event.get("isOrganizer") else "none",
                                  "time": "0001-01-01T00:00:00Z"},
               **{k: v for k, v in event.items() if not k.startswith("_") and k != "cancelledOccurrences"}}
        out["start"], out["end"] = when(event["start"]), when(event["end"])
        if event.get("type") in ("occurrence", "exception"):
            out["originalStart"] = event.get("_originalStart") or event["start"]["dateTime"][:19] + "Z"
        if cancelled:
            out["cancelledOccurrences"] = [f"OID.{event['id']}.{s[:4]}-{s[4:6]}-{s[6:]}"
                                           for s in event.get("_cancelled") or ()]
        out["hasAttachments"] = any(not a.get("isInline")
                                    for a in attachments.get(event.get("seriesMasterId") or event["id"], []))
        return pick(out)
    return render


def _headers(ctx: Ctx) -> dict[str, str]:
    wanted = ctx.prefer("outlook.timezone")
    return {"Preference-Applied": f'outlook.timezone="{wanted}"'} if wanted and zone(wanted) else {}


# -- calendars ------------------------------------------------------------------------------
@router.add("GET", "/calendars", "cal.read")
def list_calendars(ctx: Ctx) -> Response:
    pick = selector(ctx, CALENDAR_PROPERTIES, "microsoft.graph.calendar")
    return collection(ctx, list(ctx.mailbox().calendars.values()), pick, context=f"{ctx.user_path}/calendars",
                      default_top=10, max_top=1000, type_name="calendar")


@router.add("GET", "/calendar", "cal.read")
@router.add("GET", "/calendars/{calendar_id}", "cal.read")
def get_calendar(ctx: Ctx) -> Response:
    pick = selector(ctx, CALENDAR_PROPERTIES, "microsoft.graph.calendar")
    return entity(ctx, f"{ctx.user_path}/calendars/$entity", pick(_calendar(ctx, ctx.mailbox())))


@router.add("POST", "/calendars", "cal.write")
def create_calendar(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    data = ctx.body_json()
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The name property is required.", "ErrorInvalidRequest")
    if any(c["name"].lower() == name.lower() for c in box.calendars.values()):
        raise GraphFail(409, "ErrorFolderExists", "A calendar with the specified name already exists.")
    calendar = box.add_calendar(name, color=str(data.get("color") or "auto"))
    return entity(ctx, f"{ctx.user_path}/calendars/$entity", calendar, 201)


@router.add("PATCH", "/calendars/{calendar_id}", "cal.write")
def update_calendar(ctx: Ctx) -> Response:
    calendar = _calendar(ctx, ctx.mailbox())
    data = ctx.body_json()
    for key in ("name", "color"):
        if isinstance(data.get(key), str) and data[key].strip():
            calendar[key] = data[key]
    return entity(ctx, f"{ctx.user_path}/calendars/$entity", calendar)


@router.add("DELETE", "/calendars/{calendar_id}", "cal.write")
def delete_calendar(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    calendar = _calendar(ctx, box)
    if calendar["isDefaultCalendar"]:
        raise bad_request("The default calendar cannot be deleted.", "ErrorInvalidRequest")
    for event_id in [e["id"] for e in box.events.values() if e["_calendarId"] == calendar["id"]]:
        del box.events[event_id]
        box.attachments.pop(event_id, None)
    del box.calendars[calendar["id"]]
    return Response.empty()


# -- events ---------------------------------------------------------------------------------
def _events(ctx: Ctx, box: Mailbox, everywhere: bool) -> list[dict]:
    if everywhere:
        return list(box.events.values())
    calendar_id = _calendar(ctx, box)["id"]
    return [e for e in box.events.values() if e["_calendarId"] == calendar_id]


def _list_events(ctx: Ctx, everywhere: bool) -> Response:
    box = ctx.mailbox()
    render = event_renderer(ctx)
    return collection(ctx, _events(ctx, box, everywhere), render, context=f"{ctx.user_path}/events",
                      default_top=10, max_top=1000, type_name="event")


def _window(ctx: Ctx) -> tuple[datetime, datetime]:
    start_text, end_text = ctx.q("startDateTime"), ctx.q("endDateTime")
    if not start_text or not end_text:
        raise bad_request("This request requires a time window specified by the query string parameters "
                          "StartDateTime and EndDateTime.", "ErrorInvalidParameter")
    try:
        return parse_datetime(start_text), parse_datetime(end_text)
    except ValueError:
        raise bad_request("The StartDateTime or EndDateTime parameter is not a valid date-time.",
                          "ErrorInvalidParameter") from None


def _occurrence(master: dict, day: date) -> dict:
    """One occurrence of a series: the master's wall-clock time (in its own zone) on ``day``, or the
    exception an edit of that occurrence made (``_exceptions``, keyed ``yyyymmdd``)."""
    tz = zone(master["originalStartTimeZone"]) or timezone.utc
    first = parse_datetime(master["start"]["dateTime"])
    duration = parse_datetime(master["end"]["dateTime"]) - first
    start = datetime.combine(day, first.astimezone(tz).time(), tzinfo=tz)
    occurrence = {**{k: v for k, v in master.items() if k not in ("_exceptions", "_cancelled")},
                  "id": f"{master['id']}.{day:%Y%m%d}", "type": "occurrence", "seriesMasterId": master["id"],
                  "recurrence": None, "start": event_time(start), "end": event_time(start + duration),
                  "_originalStart": start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    exception = (master.get("_exceptions") or {}).get(f"{day:%Y%m%d}")
    return {**occurrence, **exception, "type": "exception"} if exception else occurrence


def _instances(event: dict, start: datetime, end: datetime) -> list[dict]:
    """The event's instances overlapping [start, end): itself, or its occurrences when it is a series
    (cancelled ones left out)."""
    recurrence = event.get("recurrence")
    if recurrence:
        tz = zone(event["originalStartTimeZone"]) or timezone.utc
        cancelled = set(event.get("_cancelled") or ())
        candidates = [_occurrence(event, day) for day in dates(recurrence, end.astimezone(tz).date())
                      if f"{day:%Y%m%d}" not in cancelled]
    else:
        candidates = [event]
    found = []
    for candidate in candidates:
        first, last = event_bounds(candidate)
        if first < end.timestamp() and last > start.timestamp():
            found.append(candidate)
    return found


def _calendar_view(ctx: Ctx, everywhere: bool) -> Response:
    box = ctx.mailbox()
    start, end = _window(ctx)
    inside = [i for event in _events(ctx, box, everywhere) for i in _instances(event, start, end)]
    return collection(ctx, inside, event_renderer(ctx), context=f"{ctx.user_path}/calendarView", default_top=10,
                      max_top=1000, default_order=[("start/dateTime", False)], type_name="event")


def _event_instances(ctx: Ctx, everywhere: bool) -> Response:
    start, end = _window(ctx)
    event = event_in_request(ctx, ctx.mailbox(), everywhere)
    instances = _instances(event, start, end) if event.get("recurrence") else []
    return collection(ctx, instances, event_renderer(ctx), context=f"{ctx.user_path}/events('{event['id']}')/instances",
                      default_top=10, max_top=1000, default_order=[("start/dateTime", False)], type_name="event")


def _time(value: Any, name: str) -> tuple[datetime, str]:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise bad_request(f"The '{name}' property needs dateTime and timeZone.", "ErrorInvalidRequest")
    tz_name = str(value.get("timeZone") or "UTC")
    tz = zone(tz_name)
    if tz is None:
        raise bad_request(f"The time zone '{tz_name}' is not supported.", "ErrorTimeZoneNotSupportedException")
    try:
        text = value["dateTime"]
        moment = parse_datetime(text) if _OFFSET.search(text) \
            else parse_datetime(text).replace(tzinfo=None).replace(tzinfo=tz)
    except ValueError:
        raise bad_request(f"Invalid dateTime '{value['dateTime']}'.", "ErrorInvalidRequest") from None
    return moment, tz_name


_CHOICES = {
    "showAs": ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown"),
    "importance": ("low", "normal", "high"),
    "sensitivity": ("normal", "personal", "private", "confidential"),
}
_BOOLEANS = {"isAllDay", "isReminderOn", "responseRequested", "isOnlineMeeting", "allowNewTimeProposals",
             "hideAttendees"}


def _invalid(key: str) -> GraphFail:
    return bad_request(f"Invalid value for property '{key}'.", "RequestBodyRead")


def _text(value: Any, key: str) -> str:
    if value is not None and not isinstance(value, str):
        raise _invalid(key)
    return value or ""


def _event_value(key: str, value: Any) -> Any:
    """One event property, type-checked and in its stored form (times are handled by ``_apply``)."""
    if key in _BOOLEANS:
        flag = odata_bool(value)
        if flag is None:
            raise _invalid(key)
        return flag
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise _invalid(key)
        return value
    if key in ("subject", "onlineMeetingProvider", "transactionId"):
        return _text(value, key)
    if key == "reminderMinutesBeforeStart":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _invalid(key)
        return value
    if key == "categories":
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise _invalid(key)
        return value
    if key == "body":
        if value is not None and not isinstance(value, dict):
            raise _invalid(key)
        body = value or {}
        kind = _text(body.get("contentType"), key).lower() or "text"
        if kind not in ("text", "html"):
            raise _invalid(key)
        return {"contentType": kind, "content": _text(body.get("content"), key)}
    if key == "location":
        if value is not None and not isinstance(value, dict):
            raise _invalid(key)
        return {"displayName": _text((value or {}).get("displayName"), key), "locationType": "default"}
    if key == "locations":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _invalid(key)
        return [_event_value("location", v) for v in value]
    if key == "attendees":
        if not isinstance(value, list) or not all(
                isinstance(a, dict) and isinstance(a.get("emailAddress"), dict) for a in value):
            raise _invalid(key)
        return [{"type": a.get("type") if a.get("type") in ("required", "optional", "resource") else "required",
                 "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                 "emailAddress": {"name": _text(a["emailAddress"].get("name"), key),
                                  "address": _text(a["emailAddress"].get("address"), key)}} for a in value]
    if key == "recurrence":
        try:
            return check(value)
        except RecurrenceError as exc:
            raise bad_request(f"Invalid recurrence: {exc}.", "ErrorInvalidRequest") from None
    return value


def _event_fields(data: dict) -> dict:
    fields = {}
    for key, value in data.items():
        if key.startswith("@odata") or key in _IGNORED:
            continue
        if key not in _WRITABLE:
            raise bad_request(f"The property '{key}' does not exist on type 'microsoft.graph.event'.",
                              "RequestBodyRead")
        fields[key] = value if key in ("start", "end") else _event_value(key, value)
    return fields


def _apply(event: dict, fields: dict) -> dict:
    """The event with validated properties written in (times normalised to UTC); the original is untouched."""
    updated = {**event, **{k: v for k, v in fields.items() if k not in ("start", "end")}}
    for key in ("start", "end"):
        if key in fields:
            moment, tz_name = _time(fields[key], key)
            updated[key] = event_time(moment)
            updated["originalStartTimeZone" if key == "start" else "originalEndTimeZone"] = tz_name
    if "body" in fields:
        updated["bodyPreview"] = preview(updated["body"])
    updated["type"] = "seriesMaster" if updated.get("recurrence") else "singleInstance"
    if parse_datetime(updated["end"]["dateTime"]) < parse_datetime(updated["start"]["dateTime"]):
        raise bad_request("The end of the event is before its start.", "ErrorInvalidRequest")
    updated["lastModifiedDateTime"] = now_iso()
    return updated


def _create_event(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    calendar = _calendar(ctx, box)
    fields = _event_fields(ctx.body_json())
    if "start" not in fields or "end" not in fields:
        raise bad_request("An event needs a start and an end.", "ErrorInvalidRequest")
    assert ctx.principal is not None
    start, _ = _time(fields["start"], "start")
    event = new_event(subject=str(fields.get("subject") or ""), start=start, end=start, organizer=ctx.principal,
                      attendees=[], location="", is_all_day=bool(fields.get("isAllDay")),
                      calendar_id=calendar["id"])
    created = _apply(event, fields)
    box.events[created["id"]] = created
    return entity(ctx, f"{ctx.user_path}/events/$entity", event_renderer(ctx)(created), 201, _headers(ctx))


def event_in_request(ctx: Ctx, box: Mailbox, everywhere: bool, *, occurrences: bool = True) -> dict:
    """The addressed event, or an occurrence ``{seriesId}.{yyyymmdd}`` (unless ``occurrences`` is False);
    under ``/calendar`` or ``/calendars/{id}`` it must be in that calendar."""
    key = ctx.params["event_id"]
    event = box.events.get(key)
    master_id, _, stamp = key.rpartition(".")
    master = box.events.get(master_id) if event is None else None
    if master is not None and master.get("recurrence"):
        if not occurrences:
            raise bad_request("This operation applies to the series, not to one occurrence.",
                              "ErrorInvalidRequest")
        try:
            day: Optional[date] = datetime.strptime(stamp, "%Y%m%d").date()
        except ValueError:
            day = None
        if day is not None and stamp not in (master.get("_cancelled") or ()) \
                and day in dates(master["recurrence"], day):
            event = _occurrence(master, day)
    if event is None or (not everywhere and event["_calendarId"] != _calendar(ctx, box)["id"]):
        raise not_found()
    return event


def _get_event(ctx: Ctx, everywhere: bool) -> Response:
    event = event_in_request(ctx, ctx.mailbox(), everywhere)
    return entity(ctx, f"{ctx.user_path}/events/$entity", event_renderer(ctx)(event),
                  headers=_headers(ctx))


def _update_event(ctx: Ctx, everywhere: bool) -> Response:
    box = ctx.mailbox()
    event = event_in_request(ctx, box, everywhere)
    fields = _event_fields(ctx.body_json())
    if event.get("seriesMasterId") and "recurrence" in fields:
        raise bad_request("An occurrence cannot have its own recurrence.", "ErrorInvalidRequest")
    updated = _apply(event, fields)
    if event.get("seriesMasterId"):
        # Editing one occurrence makes it an exception of its series, kept on the master.
        master = box.events[event["seriesMasterId"]]
        updated["type"] = "exception"
        exceptions = {**(master.get("_exceptions") or {}), event["id"].rpartition(".")[2]: {
            k: v for k, v in updated.items() if k in fields or k in _EXCEPTION_KEYS}}
        box.events[master["id"]] = {**master, "_exceptions": exceptions, "lastModifiedDateTime": now_iso()}
    else:
        box.events[updated["id"]] = updated
    return entity(ctx, f"{ctx.user_path}/events/$entity", event_renderer(ctx)(updated), headers=_headers(ctx))


#: What an exception keeps of its own besides the edited properties.
_EXCEPTION_KEYS = ("originalStartTimeZone", "originalEndTimeZone", "bodyPreview", "lastModifiedDateTime")


def _delete_event(ctx: Ctx, everywhere: bool) -> Response:
    box = ctx.mailbox()
    event = event_in_request(ctx, box, everywhere)
    master_id = event.get("seriesMasterId")
    if master_id:
        # Deleting one occurrence cancels it: the series skips that day from now on.
        master = box.events[master_id]
        stamp = event["id"].rpartition(".")[2]
        exceptions = {k: v for k, v in (master.get("_exceptions") or {}).items() if k != stamp}
        box.events[master_id] = {**master, "_cancelled": [*(master.get("_cancelled") or []), stamp],
                                 "_exceptions": exceptions, "lastModifiedDateTime": now_iso()}
        return Response.empty()
    del box.events[event["id"]]
    box.attachments.pop(event["id"], None)
    return Response.empty()


for _prefix, _everywhere in (("", True), ("/calendar", False), ("/calendars/{calendar_id}", False)):
    router.add("GET", f"{_prefix}/events", "cal.read")(partial(_list_events, everywhere=_everywhere))
    router.add("GET", f"{_prefix}/calendarView", "cal.read")(partial(_calendar_view, everywhere=_everywhere))
    router.add("POST", f"{_prefix}/events", "cal.write")(_create_event)
    router.add("GET", f"{_prefix}/events/{{event_id}}", "cal.read")(partial(_get_event, everywhere=_everywhere))
    router.add("GET", f"{_prefix}/events/{{event_id}}/instances", "cal.read")(
        partial(_event_instances, everywhere=_everywhere))
    router.add("PATCH", f"{_prefix}/events/{{event_id}}", "cal.write")(
        partial(_update_event, everywhere=_everywhere))
    router.add("DELETE", f"{_prefix}/events/{{event_id}}", "cal.write")(
        partial(_delete_event, everywhere=_everywhere))


# -- categories -----------------------------------------------------------------------------
@router.add("GET", "/outlook/masterCategories", "settings.read")
def list_categories(ctx: Ctx) -> Response:
    return collection(ctx, ctx.mailbox().categories, dict, context=f"{ctx.user_path}/outlook/masterCategories",
                      default_top=1000, max_top=1000, type_name="outlookCategory")


@router.add("POST", "/outlook/masterCategories", "settings.write")
def create_category(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    data = ctx.body_json()
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The displayName property is required.", "ErrorInvalidRequest")
    if any(c["displayName"].lower() == name.lower() for c in box.categories):
        raise GraphFail(409, "ErrorDuplicateObject", "A category with the specified name already exists.")
    category = {"id": str(uuid.uuid4()), "displayName": name, "color": str(data.get("color") or "none")}
    box.categories.append(category)
    return entity(ctx, f"{ctx.user_path}/outlook/masterCategories/$entity", category, 201)


def _category(ctx: Ctx, box: Mailbox) -> dict:
    for category in box.categories:
        if category["id"] == ctx.params["category_id"]:
            return category
    raise not_found()


@router.add("GET", "/outlook/masterCategories/{category_id}", "settings.read")
def get_category(ctx: Ctx) -> Response:
    return entity(ctx, f"{ctx.user_path}/outlook/masterCategories/$entity", _category(ctx, ctx.mailbox()))


@router.add("DELETE", "/outlook/masterCategories/{category_id}", "settings.write")
def delete_category(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    box.categories.remove(_category(ctx, box))
    return Response.empty()
