"""Every route the emulator's Graph serves, answered over HTTPS and held against Microsoft's metadata.

The cases below are matched against the route table itself (``_graph._ROUTES``) and the drive's routes
(``_drive.ROUTES``, cases in ``drive_cases``): a route without a case fails ``test_every_route_has_a_case``.
Each JSON answer is checked by ``graph_schema_check`` (no undeclared property, every value of its declared
type); entity answers without ``$select`` must carry the properties Graph's documentation shows by
default; every error is in Graph's shape.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
import requests
from drive_cases import DRIVE_CASES, DriveWorld, other_checks, route_pattern, run
from graph_schema_check import problems

from netkit_msal.emulator import Emulator
from netkit_msal.emulator._graph import _ROUTES
from netkit_msal.emulator._graph._drive import ROUTES as DRIVE_ROUTES

SCOPES = tuple(f"https://graph.microsoft.com/{s}" for s in (
    "User.Read", "User.ReadBasic.All", "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite",
    "MailboxSettings.ReadWrite", "Files.ReadWrite.All"))

#: What Graph returns without $select (from each resource's documented GET answer).
DEFAULTS = {
    "message": ("id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime",
                "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance",
                "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested",
                "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body",
                "sender", "from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag"),
    "event": ("id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "originalStartTimeZone",
              "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart", "isReminderOn", "hasAttachments",
              "subject", "bodyPreview", "importance", "sensitivity", "isAllDay", "isCancelled", "isOrganizer",
              "responseRequested", "seriesMasterId", "showAs", "type", "webLink", "onlineMeetingUrl",
              "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals", "isDraft", "hideAttendees",
              "responseStatus", "body", "start", "end", "location", "locations", "recurrence", "attendees",
              "organizer", "onlineMeeting"),
    "driveItem": ("id", "name", "createdDateTime", "lastModifiedDateTime", "eTag", "cTag", "webUrl", "createdBy",
                  "lastModifiedBy", "parentReference", "fileSystemInfo", "size"),
    "drive": ("id", "driveType", "name", "owner", "quota", "createdDateTime", "lastModifiedDateTime", "webUrl"),
    "user": ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
             "preferredLanguage", "surname", "userPrincipalName", "id"),
    "mailFolder": ("id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount",
                   "isHidden"),
    "calendar": ("id", "name", "color", "hexColor", "isDefaultCalendar", "changeKey", "canShare",
                 "canViewPrivateItems", "canEdit", "allowedOnlineMeetingProviders", "defaultOnlineMeetingProvider",
                 "isTallyingResponses", "isRemovable", "owner"),
}
MB = 1024 * 1024
EVENT_BODY = {"subject": "Conformance", "start": {"dateTime": "2031-02-03T10:00:00", "timeZone": "UTC"},
              "end": {"dateTime": "2031-02-03T11:00:00", "timeZone": "UTC"}}
SERIES_BODY = {**EVENT_BODY, "subject": "Series", "recurrence": {
    "pattern": {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "first"},
    "range": {"type": "numbered", "startDate": "2031-02-03", "numberOfOccurrences": 3}}}
WINDOW = {"startDateTime": "2031-01-01T00:00:00Z", "endDateTime": "2031-06-01T00:00:00Z"}
FILE = {"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt", "contentType": "text/plain",
        "contentBytes": base64.b64encode(b"hello").decode()}
UPLOAD = {"AttachmentItem": {"attachmentType": "file", "name": "big.bin", "size": 3 * MB + 5}}


class World:
    """Makes the resources a case needs, fresh for each case, through the emulator's own Graph."""

    def __init__(self, emulator: Emulator, http: requests.Session) -> None:
        self.base = emulator.graph_url
        self.http = http
        token = emulator.mint_access_token(f"adele@{emulator.domain}", scopes=SCOPES)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.me = f"adele@{emulator.domain}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.base}/me{path}", headers=headers, timeout=60, **kwargs)

    def made(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        answer = self.call(method, path, json=body or {})
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def fill(self, template: str) -> str:
        values: dict[str, str] = {}
        if "{m}" in template:
            values["m"] = self.made("POST", "/messages", {"subject": "Draft", "toRecipients": [
                {"emailAddress": {"address": self.me}}]})["id"]
        if "{a}" in template:
            values["a"] = self.made("POST", f"/messages/{values['m']}/attachments", FILE)["id"]
        if "{f}" in template:
            values["f"] = self.made("POST", "/mailFolders", {"displayName": f"F-{uuid.uuid4().hex[:8]}"})["id"]
            if "{m}" in template:
                values["m"] = self.made("POST", f"/messages/{values['m']}/move", {"destinationId": values["f"]})["id"]
                if "{a}" in template:
                    listed = self.call("GET", f"/messages/{values['m']}/attachments").json()["value"]
                    values["a"] = listed[0]["id"]
        if "{c}" in template:
            values["c"] = self.made("POST", "/calendars", {"name": f"C-{uuid.uuid4().hex[:8]}"})["id"]
        owner = f"/calendars/{values['c']}" if "{c}" in template else ""
        if "{e}" in template:
            values["e"] = self.made("POST", f"{owner}/events", EVENT_BODY)["id"]
        if "{s}" in template or "{o}" in template:
            values["s"] = self.made("POST", f"{owner}/events", SERIES_BODY)["id"]
            values["o"] = self.call("GET", f"/events/{values['s']}/instances", params=WINDOW).json()["value"][1]["id"]
        if "{ea}" in template:
            values["ea"] = self.made("POST", f"/events/{values['e']}/attachments", FILE)["id"]
        if "{cat}" in template:
            name = f"K-{uuid.uuid4().hex[:8]}"
            values["cat"] = self.made("POST", "/outlook/masterCategories", {"displayName": name})["id"]
        return template.format(**values)


@dataclass
class Case:
    method: str
    path: str
    #: The answer: a Graph type, "Collection(type)", "empty", "bytes", "text", "upload" or "error".
    expect: str
    status: int = 200
    body: Any = None
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def _mail_cases(m: str) -> list[Case]:
    """The message routes, under ``/messages/{m}`` or ``/mailFolders/{f}/messages/{m}``."""
    return [
        Case("GET", m, "message"),
        Case("GET", m, "message", query={"$select": "uniqueBody,internetMessageHeaders,conversationIndex"}),
        Case("GET", f"{m}/$value", "text"),
        Case("PATCH", m, "message", body={"isRead": "true", "importance": "high"}),
        Case("DELETE", m, "empty", 204),
        Case("POST", f"{m}/permanentDelete", "empty", 204),
        Case("POST", f"{m}/move", "message", 201, body={"destinationId": "archive"}),
        Case("POST", f"{m}/copy", "message", 201, body={"destinationId": "archive"}),
        Case("POST", f"{m}/send", "empty", 202),
        Case("POST", f"{m}/reply", "empty", 202, body={"comment": "ok"}),
        Case("POST", f"{m}/replyAll", "empty", 202, body={"comment": "ok"}),
        Case("POST", f"{m}/forward", "empty", 202, body={"toRecipients": [
            {"emailAddress": {"address": "megan@contoso.example"}}]}),
        Case("POST", f"{m}/createReply", "message", 201),
        Case("POST", f"{m}/createReplyAll", "message", 201),
        Case("POST", f"{m}/createForward", "message", 201),
        Case("GET", f"{m}/attachments", "Collection(fileAttachment)"),
        Case("POST", f"{m}/attachments", "fileAttachment", 201, body=FILE),
        Case("GET", f"{m}/attachments/{{a}}", "fileAttachment"),
        Case("GET", f"{m}/attachments/{{a}}/$value", "bytes"),
        Case("DELETE", f"{m}/attachments/{{a}}", "empty", 204),
        Case("POST", f"{m}/attachments/createUploadSession", "uploadSession", 201, body=UPLOAD),
    ]


def _event_cases(owner: str) -> list[Case]:
    """The event routes, under the mailbox, ``/calendar`` or ``/calendars/{c}``."""
    return [
        Case("GET", f"{owner}/events", "Collection(event)"),
        Case("POST", f"{owner}/events", "event", 201, body=EVENT_BODY),
        Case("GET", f"{owner}/calendarView", "Collection(event)", query=WINDOW),
        Case("GET", f"{owner}/events/{{e}}", "event"),
        Case("GET", f"{owner}/events/{{s}}", "event", query={"$select": "originalStart,transactionId,"
                                                                         "cancelledOccurrences,recurrence"}),
        Case("GET", f"{owner}/events/{{o}}", "event"),
        Case("GET", f"{owner}/events/{{s}}/instances", "Collection(event)", query=WINDOW),
        Case("PATCH", f"{owner}/events/{{e}}", "event", body={"subject": "Changed", "isReminderOn": "false"}),
        Case("PATCH", f"{owner}/events/{{o}}", "event", body={"subject": "Exception"}),
        Case("DELETE", f"{owner}/events/{{e}}", "empty", 204),
        Case("DELETE", f"{owner}/events/{{o}}", "empty", 204),
        Case("GET", f"{owner}/events/{{e}}/attachments", "Collection(fileAttachment)"),
        Case("POST", f"{owner}/events/{{e}}/attachments", "fileAttachment", 201, body=FILE),
        Case("POST", f"{owner}/events/{{e}}/attachments/createUploadSession", "uploadSession", 201, body=UPLOAD),
        Case("GET", f"{owner}/events/{{e}}/attachments/{{ea}}", "fileAttachment"),
        Case("GET", f"{owner}/events/{{e}}/attachments/{{ea}}/$value", "bytes"),
        Case("DELETE", f"{owner}/events/{{e}}/attachments/{{ea}}", "empty", 204),
    ]


CASES: list[Case] = [
    *_mail_cases("/messages/{m}"),
    *_mail_cases("/mailFolders/{f}/messages/{m}"),
    Case("GET", "/messages", "Collection(message)", query={"$count": "true", "$top": "3"}),
    Case("GET", "/messages", "Collection(message)", query={"$select": "conversationIndex,uniqueBody"}),
    Case("GET", "/mailFolders/{f}/messages", "Collection(message)"),
    Case("POST", "/messages", "message", 201, body={"subject": "New", "isRead": False}),
    Case("POST", "/mailFolders/{f}/messages", "message", 201, body={"subject": "New"}),
    Case("POST", "/sendMail", "empty", 202, body={"message": {"subject": "Sent", "toRecipients": [
        {"emailAddress": {"address": "megan@contoso.example"}}]}, "saveToSentItems": "true"}),
    Case("GET", "/mailFolders", "Collection(mailFolder)"),
    Case("POST", "/mailFolders", "mailFolder", 201, body={"displayName": "Created"}),
    Case("GET", "/mailFolders/{f}", "mailFolder"),
    Case("PATCH", "/mailFolders/{f}", "mailFolder", body={"displayName": "Renamed"}),
    Case("DELETE", "/mailFolders/{f}", "empty", 204),
    Case("GET", "/mailFolders/{f}/childFolders", "Collection(mailFolder)"),
    Case("POST", "/mailFolders/{f}/childFolders", "mailFolder", 201, body={"displayName": "Child"}),
    Case("GET", "/mailFolders/inbox/messages/delta", "Collection(message)"),
    Case("GET", "/mailFolders/inbox/messages/delta()", "Collection(message)"),
    Case("GET", "/calendars", "Collection(calendar)"),
    Case("POST", "/calendars", "calendar", 201, body={"name": "Made here"}),
    Case("GET", "/calendar", "calendar"),
    Case("GET", "/calendars/{c}", "calendar"),
    Case("PATCH", "/calendars/{c}", "calendar", body={"name": "Renamed calendar"}),
    Case("DELETE", "/calendars/{c}", "empty", 204),
    *_event_cases(""), *_event_cases("/calendar"), *_event_cases("/calendars/{c}"),
    Case("GET", "/calendarView/delta", "Collection(event)", query=WINDOW),
    Case("GET", "/calendarView/delta()", "Collection(event)", query=WINDOW),
    Case("GET", "/calendar/calendarView/delta", "Collection(event)", query=WINDOW),
    Case("GET", "/calendar/calendarView/delta()", "Collection(event)", query=WINDOW),
    Case("GET", "/calendars/{c}/calendarView/delta", "Collection(event)", query=WINDOW),
    Case("GET", "/calendars/{c}/calendarView/delta()", "Collection(event)", query=WINDOW),
    Case("GET", "/outlook/masterCategories", "Collection(outlookCategory)"),
    Case("POST", "/outlook/masterCategories", "outlookCategory", 201, body={"displayName": "Teal", "color": "preset5"}),
    Case("GET", "/outlook/masterCategories/{cat}", "outlookCategory"),
    Case("DELETE", "/outlook/masterCategories/{cat}", "empty", 204),
    # Query rules: Graph's 400s.
    Case("GET", "/messages", "error", 400, query={"$select": "bogus"}),
    Case("GET", "/messages", "error", 400, query={"$filter": "bogus eq 1"}),
    Case("GET", "/messages", "error", 400, query={"$orderby": "bogus"}),
    Case("GET", "/messages", "error", 400, query={"$filter": "isRead eq false", "$orderby": "subject"}),
    Case("GET", "/events", "error", 400, query={"$filter": "nothing eq 'x'"}),
    Case("GET", "/messages/nonexistent", "error", 404),
    Case("GET", "/messages/$count", "text", query={"$filter": "isRead eq true"}),
    Case("GET", "/mailFolders/inbox/messages/$count", "text"),
    Case("GET", "/events/$count", "text"),
]

#: Served outside the route table (GraphApi.handle itself): each has a case in test_outside_the_table.
OUTSIDE_TABLE = ("GET /me", "GET /users", "GET /users/{id}", "GET /users/$count", "POST /$batch",
                 "GET /subscriptions", "PUT|DELETE /_emulator/uploadSessions/{token}")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    with Emulator(state_dir=tmp_path_factory.mktemp("conformance")) as emulator:
        http = requests.Session()
        http.trust_env = False
        http.verify = emulator.ca_file
        yield World(emulator, http)
        http.close()


@pytest.fixture(scope="module")
def drives(world) -> DriveWorld:
    return DriveWorld(world.base, world.http, world.headers, world.me)


def _route_key(route: Any) -> str:
    return f"{route.method} {route.pattern.pattern}"


def _covered(route: Any) -> bool:
    for case in CASES:
        concrete = case.path.replace("{", "").replace("}", "")  # placeholders stand for any id
        if case.method == route.method and route.pattern.match(concrete):
            return True
    return False


def test_every_route_has_a_case():
    missing = [_route_key(r) for r in _ROUTES.routes if not _covered(r)]
    for route in DRIVE_ROUTES:
        method, pattern = route_pattern(route)
        if not any(c.method == method and pattern.fullmatch(c.path.replace("{", "").replace("}", ""))
                   for c in DRIVE_CASES):
            missing.append(route)
    assert not missing, f"routes without a conformance case: {missing}"


def check_answer(answer: requests.Response, expect: str, where: str) -> None:
    """The answer's body held against the metadata (and Graph's error shape)."""
    content_type = answer.headers.get("Content-Type", "")
    if expect == "empty":
        assert answer.content == b"", where
        return
    if expect == "bytes":
        assert answer.content, where
        return
    if expect == "text":
        assert content_type.startswith("text/plain"), where
        if "$count" in where:
            assert answer.text.isdigit(), where
        return
    assert content_type.startswith("application/json"), (where, content_type)
    data = answer.json()
    if expect == "error":
        check_error(data, where)
        return
    if expect == "uploadSession":
        assert set(data) - {"@odata.context"} == {"uploadUrl", "expirationDateTime", "nextExpectedRanges"}, where
        assert problems({k: v for k, v in data.items() if not k.startswith("@")}, "uploadSession") == [], where
        assert data["nextExpectedRanges"] == ["0-"], where
        return
    if expect.startswith("Collection("):
        type_name = expect[len("Collection("):-1]
        assert isinstance(data.get("value"), list), where
        assert all(k.startswith("@odata.") for k in data if k != "value"), (where, list(data))
        found = problems(data["value"], expect)
        assert found == [], (where, found[:10])
        rows = [row for row in data["value"] if "@removed" not in row]
    else:
        type_name = expect
        found = problems(data, expect)
        assert found == [], (where, found[:10])
        rows = [data]
    defaults = DEFAULTS.get(type_name)
    if defaults and "$select" not in where:
        for row in rows:
            missing = [name for name in defaults if name not in row]
            assert not missing, (where, f"default properties missing: {missing}")


def check_error(data: dict, where: str) -> None:
    assert set(data) == {"error"}, where
    error = data["error"]
    assert isinstance(error.get("code"), str) and error["code"], where
    assert isinstance(error.get("message"), str) and error["message"], where
    inner = error.get("innerError")
    assert isinstance(inner, dict) and {"date", "request-id", "client-request-id"} <= set(inner), (where, inner)
    assert problems(inner["date"] + "Z", "Edm.DateTimeOffset") == [], where


@pytest.mark.parametrize("case", CASES, ids=[f"{c.method} {c.path} {c.query or ''}" for c in CASES])
def test_answer_conforms(world, case):
    path = world.fill(case.path)
    kwargs: dict[str, Any] = {"params": case.query, "headers": case.headers}
    if case.body is not None:
        kwargs["json"] = case.body
    elif case.method in ("POST", "PATCH"):
        kwargs["json"] = {}
    answer = world.call(case.method, path, **kwargs)
    where = f"{case.method} {path} {case.query}"
    assert answer.status_code == case.status, (where, answer.text[:500])
    check_answer(answer, case.expect, where)


def test_outside_the_table(world):
    """The routes GraphApi.handle serves itself: /me, /users, $count, $batch, subscriptions, upload URLs."""
    http, base, headers = world.http, world.base, world.headers
    me = http.get(f"{base}/me", headers=headers)
    check_answer(me, "user", "GET /me")
    users = http.get(f"{base}/users", headers=headers, params={"$select": "id,displayName,proxyAddresses"})
    check_answer(users, "Collection(user)", "GET /users $select")
    assert all(u["proxyAddresses"] == [] for u in users.json()["value"])
    check_answer(http.get(f"{base}/users", headers=headers), "Collection(user)", "GET /users")
    one = http.get(f"{base}/users/{me.json()['id']}", headers=headers)
    check_answer(one, "user", "GET /users/{id}")
    check_answer(http.get(f"{base}/users/nobody@contoso.example", headers=headers), "error", "GET /users/x")
    check_answer(http.get(f"{base}/users/$count", headers=headers), "error", "GET /users/$count")
    counted = http.get(f"{base}/users/$count", headers={**headers, "ConsistencyLevel": "eventual"})
    check_answer(counted, "text", "GET /users/$count")
    batch = http.post(f"{base}/$batch", headers=headers, json={"requests": [
        {"id": "1", "method": "GET", "url": "/me/messages?$top=2"},
        {"id": "2", "method": "GET", "url": "/me/events?$top=2"},
        {"id": "3", "method": "GET", "url": "/me/messages?$select=bogus"}]})
    assert batch.status_code == 200
    inner = {r["id"]: r for r in batch.json()["responses"]}
    assert problems(inner["1"]["body"]["value"], "Collection(message)") == []
    assert problems(inner["2"]["body"]["value"], "Collection(event)") == []
    check_error(inner["3"]["body"], "$batch inner 400")
    check_answer(http.get(f"{base}/subscriptions", headers=headers), "Collection(subscription)", "GET /subscriptions")
    draft = world.made("POST", "/messages", {"subject": "Upload"})
    session = world.made("POST", f"/messages/{draft['id']}/attachments/createUploadSession", UPLOAD)
    size = UPLOAD["AttachmentItem"]["size"]
    first = http.put(session["uploadUrl"], data=b"x" * MB, headers={"Content-Range": f"bytes 0-{MB - 1}/{size}"})
    assert first.status_code == 200 and first.json()["nextExpectedRanges"] == [f"{MB}-"]
    assert problems(first.json(), "uploadSession") == []
    check_answer(http.put(session["uploadUrl"], data=b"q", headers={"Content-Range": f"bytes 5-5/{size}"}),
                 "error", "PUT out of order")
    with_token = http.put(session["uploadUrl"], data=b"x",
                          headers={**headers, "Content-Range": f"bytes {MB}-{MB}/{size}"})
    check_answer(with_token, "error", "PUT with a token")
    last = http.put(session["uploadUrl"], data=b"y" * (size - MB),
                    headers={"Content-Range": f"bytes {MB}-{size - 1}/{size}"})
    assert last.status_code == 201 and last.content == b"" and "attachments('" in last.headers["Location"]
    assert http.delete(session["uploadUrl"]).status_code == 204


@pytest.mark.parametrize("case", DRIVE_CASES, ids=[f"{c.method} {c.path} {c.query or ''}" for c in DRIVE_CASES])
def test_drive_answer_conforms(drives, case):
    """The drive's answers (items, children, content, sessions, copy, the URLs it hands out)."""
    answer, where = run(drives, case)
    assert answer.status_code == case.status, (where, answer.text[:500])
    expect: Optional[str] = case.expect
    if expect in ("redirect", "copy", "uploadStatus", "asyncJobStatus", "page"):
        expect = other_checks(drives, answer, expect, where, problems)
    if expect is not None:
        check_answer(answer, expect, where)
