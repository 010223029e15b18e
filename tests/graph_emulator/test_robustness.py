"""Any JSON body or query a client sends gets a Graph answer (2xx or 4xx with an error object), never a crash."""

from __future__ import annotations

import json

from graph_emu_support import body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netkit_msal.emulator._graph._store import new_id

SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8) | st.sampled_from(
    ["inbox", "UTC", "html", "2030-01-01T10:00:00", "a@contoso.example", "adele@contoso.example", "AAEC", "file"])
MESSAGE = ["subject", "body", "toRecipients", "ccRecipients", "from", "importance", "categories", "isRead", "flag",
           "attachments", "replyTo", "singleValueExtendedProperties", "inferenceClassification"]
INNER = ["emailAddress", "address", "name", "contentType", "content", "dateTime", "timeZone", "displayName",
         "flagStatus", "@odata.type", "contentBytes", "size", "attachmentType", "id", "value", "method", "url",
         "body", "headers", "dependsOn"]
EVENT = ["subject", "body", "start", "end", "location", "attendees", "isAllDay", "showAs", "categories",
         "recurrence", "reminderMinutesBeforeStart"]


def values(names: list[str]):
    return st.recursive(SCALARS, lambda children: st.lists(children, max_size=2)
                        | st.dictionaries(st.sampled_from(names + INNER), children, max_size=3), max_leaves=6)


def bodies(names: list[str]):
    return st.dictionaries(st.sampled_from(names), values(names), min_size=1, max_size=4) | values(names)


TARGETS = [
    ("POST", "/me/messages", MESSAGE), ("PATCH", "/me/messages/{message}", MESSAGE),
    ("POST", "/me/messages/{message}/copy", ["destinationId"]),
    ("POST", "/me/messages/{message}/reply", ["comment", "message"] + MESSAGE),
    ("POST", "/me/messages/{message}/forward", ["comment", "toRecipients", "message"]),
    ("POST", "/me/messages/{message}/attachments", ["@odata.type", "name", "contentBytes", "contentType",
                                                     "isInline", "contentId"]),
    ("POST", "/me/messages/{message}/attachments/createUploadSession", ["AttachmentItem"]),
    ("POST", "/me/sendMail", ["message", "saveToSentItems"] + MESSAGE),
    ("POST", "/me/mailFolders", ["displayName", "isHidden"]), ("PATCH", "/me/mailFolders/archive",
                                                                ["displayName", "isHidden"]),
    ("POST", "/me/events", EVENT), ("PATCH", "/me/events/{event}", EVENT),
    ("POST", "/me/calendars", ["name", "color"]), ("POST", "/me/outlook/masterCategories", ["displayName", "color"]),
    ("POST", "/$batch", ["requests"]),
]
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(data=st.data(), target=st.sampled_from(TARGETS))
def test_any_json_body_gets_a_graph_answer(client, data, target):
    method, template, names = target
    payload = data.draw(bodies(names))
    user = client.api.directory.user("adele@contoso.example").id
    # Seeded ids are deterministic; no target deletes or moves them.
    path = template.format(message=new_id("AAMkAGMsg", user, "seed", 0), event=new_id("AAMkAGEvt", user, 0))
    response = client.request(method, path, body=json.dumps(payload).encode(),
                              headers={"Content-Type": "application/json"})
    assert response.status < 500, (method, path, payload, response.body)
    if response.status >= 400:
        assert set(body(response)["error"]) >= {"code", "message"}


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(path=st.sampled_from(["/users", "/me/messages", "/me/mailFolders", "/me/mailFolders/inbox/messages",
                             "/me/events", "/me/calendarView", "/me/calendars", "/me/outlook/masterCategories"]),
       query=st.dictionaries(st.sampled_from(["$select", "$filter", "$orderby", "$top", "$skip", "$skiptoken",
                                              "$search", "$count", "$expand", "startDateTime", "endDateTime",
                                              "includeHiddenFolders"]),
                             st.text(max_size=20) | st.sampled_from(["subject", "isRead eq true", "-1", "2",
                                                                      "2030-01-01", "true", '"x"']), max_size=3))
def test_any_query_gets_a_graph_answer(client, path, query):
    response = client.get(path, query=query, headers={"ConsistencyLevel": "eventual"})
    assert response.status < 500, (path, query, response.body)


BATCH_ITEM = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["1", "2", "3"]) | SCALARS,
    "method": st.sampled_from(["GET", "POST", "PATCH", "DELETE", "get"]) | SCALARS,
    "url": st.sampled_from(["/me", "me/messages?$top=1", "/me/mailFolders", "/v1.0/me/events", "/$batch",
                            "http://[::1", "/users?$select=nope", "/me/sendMail"]) | SCALARS,
    "headers": st.dictionaries(st.sampled_from(["Content-Type", "Prefer", "ConsistencyLevel"]),
                               SCALARS | st.lists(SCALARS, max_size=2), max_size=2) | SCALARS,
    "body": values(MESSAGE + ["displayName", "message"]),
    "dependsOn": st.lists(st.sampled_from(["1", "2", "3"]) | SCALARS, max_size=2) | SCALARS,
})


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(items=st.lists(BATCH_ITEM, min_size=1, max_size=3))
def test_any_batch_gets_a_graph_answer(client, items):
    response = client.post("/$batch", {"requests": items})
    assert response.status in (200, 400), (items, response.body)
    if response.status == 200:
        assert all(r["status"] < 500 for r in body(response)["responses"]), (items, response.body)
