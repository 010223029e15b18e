"""Calendars, events, calendarView with time zones, categories, $batch and persistence."""

from __future__ import annotations

import json

from graph_emu_support import Client, body, token, verify

from netkit_msal.emulator._graph import GraphApi

EVENT = {
    "subject": "Planning",
    "body": {"contentType": "text", "content": "Agenda"},
    "start": {"dateTime": "2030-03-10T09:00:00", "timeZone": "Europe/Paris"},
    "end": {"dateTime": "2030-03-10T10:30:00", "timeZone": "Europe/Paris"},
    "location": {"displayName": "Room 2"},
    "attendees": [{"type": "required", "emailAddress": {"address": "megan@contoso.example", "name": "Megan"}}],
}


def test_calendars_and_seeded_events(client):
    default = body(client.get("/me/calendar"))
    assert default["isDefaultCalendar"] and default["name"] == "Calendar"
    calendars = body(client.get("/me/calendars"))["value"]
    assert [c["name"] for c in calendars] == ["Calendar", "Birthdays"]
    assert body(client.get(f"/me/calendars/{default['id']}"))["id"] == default["id"]
    events = body(client.get("/me/calendar/events"))["value"]
    assert [e["subject"] for e in events][:1] == ["Weekly sync"] and len(events) == 4
    assert events[0]["start"]["timeZone"] == "UTC"
    assert client.get("/me/calendars/unknown").status == 404


def test_event_create_get_update_delete_with_time_zones(client):
    created = client.post("/me/events", EVENT)
    assert created.status == 201
    event = body(created)
    assert event["start"] == {"dateTime": "2030-03-10T08:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Europe/Paris"
    assert event["location"]["displayName"] == "Room 2"
    paris = client.get(f"/me/events/{event['id']}", headers={"Prefer": 'outlook.timezone="Europe/Paris"'})
    assert body(paris)["start"] == {"dateTime": "2030-03-10T09:00:00.0000000", "timeZone": "Europe/Paris"}
    assert paris.headers["Preference-Applied"] == 'outlook.timezone="Europe/Paris"'
    pacific = body(client.get(f"/me/calendar/events/{event['id']}",
                              headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}))
    assert pacific["end"] == {"dateTime": "2030-03-10T01:30:00.0000000", "timeZone": "Pacific Standard Time"}
    updated = body(client.patch(f"/me/events/{event['id']}", {
        "subject": "Planning (moved)", "end": {"dateTime": "2030-03-10T11:00:00Z", "timeZone": "UTC"}}))
    assert updated["subject"] == "Planning (moved)" and updated["end"]["dateTime"].startswith("2030-03-10T11:00")
    assert client.patch(f"/me/events/{event['id']}", {"colour": "red"}).status == 400
    assert client.patch(f"/me/events/{event['id']}", {
        "end": {"dateTime": "2030-03-09T00:00:00", "timeZone": "UTC"}}).status == 400
    assert client.post("/me/events", {**EVENT, "start": {"dateTime": "2030-03-10T09:00:00",
                                                         "timeZone": "Mars/Olympus"}}).status == 400
    assert client.delete(f"/me/events/{event['id']}").status == 204
    assert client.get(f"/me/events/{event['id']}").status == 404


def test_events_in_another_calendar(client):
    calendar = body(client.post("/me/calendars", {"name": "Projects"}))
    event = body(client.post(f"/me/calendars/{calendar['id']}/events", EVENT))
    assert [e["id"] for e in body(client.get(f"/me/calendars/{calendar['id']}/events"))["value"]] == [event["id"]]
    assert event["id"] not in [e["id"] for e in body(client.get("/me/calendar/events"))["value"]]
    assert client.get(f"/me/calendar/events/{event['id']}").status == 404
    assert client.delete(f"/me/calendars/{calendar['id']}").status == 204


def test_calendar_view_window_and_order(client):
    client.post("/me/events", EVENT)
    client.post("/me/events", {**EVENT, "subject": "Earlier",
                               "start": {"dateTime": "2030-03-10T06:00:00", "timeZone": "UTC"},
                               "end": {"dateTime": "2030-03-10T07:00:00", "timeZone": "UTC"}})
    view = body(client.get("/me/calendarView", query={"startDateTime": "2030-03-10T00:00:00Z",
                                                      "endDateTime": "2030-03-11T00:00:00Z"}))
    assert [e["subject"] for e in view["value"]] == ["Earlier", "Planning"]
    narrow = body(client.get("/me/calendar/calendarView", query={"startDateTime": "2030-03-10T07:30:00",
                                                                 "endDateTime": "2030-03-10T08:30:00"}))
    assert [e["subject"] for e in narrow["value"]] == ["Planning"]
    missing = client.get("/me/calendarView", query={"startDateTime": "2030-03-10T00:00:00Z"})
    assert missing.status == 400 and body(missing)["error"]["code"] == "ErrorInvalidParameter"


def test_master_categories(client):
    categories = body(client.get("/me/outlook/masterCategories"))["value"]
    assert [c["displayName"] for c in categories][:2] == ["Red category", "Orange category"]
    created = client.post("/me/outlook/masterCategories", {"displayName": "Project X", "color": "preset9"})
    assert created.status == 201
    assert client.post("/me/outlook/masterCategories", {"displayName": "project x"}).status == 409
    assert client.get(f"/me/outlook/masterCategories/{body(created)['id']}").status == 200


def test_batch_runs_requests_through_the_same_handler(client):
    response = client.post("/$batch", {"requests": [
        {"id": "1", "method": "GET", "url": "/me?$select=displayName"},
        {"id": "2", "method": "GET", "url": "me/mailFolders/inbox/messages?$top=2&$select=subject"},
        {"id": "3", "method": "POST", "url": "/me/mailFolders", "headers": {"Content-Type": "application/json"},
         "body": {"displayName": "Batched"}},
        {"id": "4", "method": "GET", "url": "/me/messages/nope"},
        {"id": "5", "method": "GET", "url": "/me", "dependsOn": ["4"]},
        # a request URL's path is percent-decoded, as msgraph-sdk's BatchRequestContent encodes a UPN
        {"id": "6", "method": "GET", "url": "/users/adele%40contoso.example?$select=displayName"},
    ]})
    assert response.status == 200
    answers = {r["id"]: r for r in body(response)["responses"]}
    assert answers["1"]["status"] == 200 and answers["1"]["body"]["displayName"] == "Adele Vance"
    assert len(answers["2"]["body"]["value"]) == 2 and "@odata.nextLink" in answers["2"]["body"]
    assert answers["3"]["status"] == 201
    assert answers["4"]["status"] == 404 and answers["4"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert answers["5"]["status"] == 424
    assert answers["6"]["status"] == 200 and answers["6"]["body"]["displayName"] == "Adele Vance"
    assert client.get("/me/mailFolders", query={"$filter": "displayName eq 'Batched'"}).status == 200


def test_batch_limits_and_auth(client):
    too_many = client.post("/$batch", {"requests": [{"id": str(i), "method": "GET", "url": "/me"}
                                                    for i in range(21)]})
    assert too_many.status == 400
    assert client.post("/$batch", {"requests": []}).status == 400
    assert client.as_(None).post("/$batch", {"requests": [{"id": "1", "method": "GET", "url": "/me"}]}).status == 401
    app_only = client.as_(token(None)).post("/$batch", {"requests": [{"id": "1", "method": "GET", "url": "/me"}]})
    assert body(app_only)["responses"][0]["status"] == 400


def test_state_file_keeps_mailboxes_across_restarts(tmp_path, directory, adele):
    state = tmp_path / "graph.json"
    first = GraphApi(directory, verify, lambda name: None, state_file=str(state))
    client = Client(first, token(adele))
    draft = body(client.post("/me/messages", {"subject": "Persisted", "toRecipients": []}))
    client.post(f"/me/messages/{draft['id']}/attachments", {"name": "a.bin", "contentBytes": "AAEC"})
    first.save()
    assert json.loads(state.read_text())["version"] == 1
    again = Client(GraphApi(directory, verify, lambda name: None, state_file=str(state)), token(adele))
    assert body(again.get(f"/me/messages/{draft['id']}"))["subject"] == "Persisted"
    attachments = body(again.get(f"/me/messages/{draft['id']}/attachments"))["value"]
    assert attachments[0]["contentBytes"] == "AAEC"


def test_select_on_events_calendars_and_attachments(client):
    events = body(client.get("/me/events", query={"$select": "subject,start"}))["value"]
    assert set(events[0]) == {"@odata.etag", "id", "subject", "start"}
    calendar = body(client.get("/me/calendar", query={"$select": "name"}))
    assert {k for k in calendar if not k.startswith("@")} == {"id", "name"}
    assert client.get("/me/events", query={"$select": "nope"}).status == 400
    message = next(m for m in body(client.get("/me/messages", query={"$top": "50"}))["value"] if m["hasAttachments"])
    listed = body(client.get(f"/me/messages/{message['id']}/attachments", query={"$select": "name,size"}))
    assert set(listed["value"][0]) == {"@odata.type", "id", "name", "size"}


def test_unknown_prefer_zone_falls_back_to_utc_and_default_calendar_stays(client):
    event = body(client.get("/me/events", query={"$top": "1"}, headers={"Prefer": 'outlook.timezone="Mars/Base"'}))
    assert event["value"][0]["start"]["timeZone"] == "UTC"
    default = body(client.get("/me/calendar"))
    assert client.delete(f"/me/calendars/{default['id']}").status == 400
    renamed = body(client.patch(f"/me/calendars/{default['id']}", {"name": "Main"}))
    assert renamed["name"] == "Main"
    assert client.post("/me/calendars", {"name": "main"}).status == 409


def test_category_delete_and_settings_permission(client, adele):
    created = body(client.post("/me/outlook/masterCategories", {"displayName": "Temp"}))
    assert client.delete(f"/me/outlook/masterCategories/{created['id']}").status == 204
    assert client.get(f"/me/outlook/masterCategories/{created['id']}").status == 404
    reader = client.as_(token(adele, scopes="MailboxSettings.Read"))
    assert reader.get("/me/outlook/masterCategories").status == 200
    assert reader.post("/me/outlook/masterCategories", {"displayName": "No"}).status == 403


def test_recurring_series_expands_in_calendar_view_and_instances(client):
    weekly = {**EVENT, "subject": "Stand-up",
              "start": {"dateTime": "2030-03-25T09:00:00", "timeZone": "Europe/Paris"},
              "end": {"dateTime": "2030-03-25T09:15:00", "timeZone": "Europe/Paris"},
              "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "thursday"]},
                             "range": {"type": "numbered", "startDate": "2030-03-25", "numberOfOccurrences": 5}}}
    master = body(client.post("/me/events", weekly))
    assert master["type"] == "seriesMaster"
    view = body(client.get("/me/calendarView", query={"startDateTime": "2030-03-24T00:00:00Z",
                                                      "endDateTime": "2030-04-30T00:00:00Z", "$top": "50"},
                           headers={"Prefer": 'outlook.timezone="Europe/Paris"'}))["value"]
    standups = [e for e in view if e["subject"] == "Stand-up"]
    assert [e["start"]["dateTime"][:16] for e in standups] == [
        "2030-03-25T09:00", "2030-03-28T09:00", "2030-04-01T09:00", "2030-04-04T09:00", "2030-04-08T09:00"]
    # Europe/Paris leaves winter time on 2030-03-31: same wall-clock time, one hour less in UTC.
    utc = body(client.get("/me/calendarView", query={"startDateTime": "2030-03-24T00:00:00Z",
                                                     "endDateTime": "2030-04-30T00:00:00Z", "$top": "50"}))["value"]
    assert [e["start"]["dateTime"][11:16] for e in utc if e["subject"] == "Stand-up"][1:3] == ["08:00", "07:00"]
    assert {e["type"] for e in standups} == {"occurrence"} and standups[0]["seriesMasterId"] == master["id"]
    one = client.get(f"/me/events/{standups[2]['id']}")
    assert one.status == 200 and body(one)["start"]["dateTime"].startswith("2030-04-01T07:00")
    assert client.patch(f"/me/events/{standups[2]['id']}", {"recurrence": weekly["recurrence"]}).status == 400
    assert client.get(f"/me/events/{master['id']}.20300326").status == 404  # a Tuesday: no occurrence
    instances = body(client.get(f"/me/events/{master['id']}/instances",
                                query={"startDateTime": "2030-03-27T00:00:00Z", "endDateTime": "2030-04-02T00:00:00Z"}))
    assert len(instances["value"]) == 2
    listed = [e for e in body(client.get("/me/events", query={"$top": "50"}))["value"] if e["subject"] == "Stand-up"]
    assert [e["type"] for e in listed] == ["seriesMaster"]
    bad = {**weekly, "recurrence": {"pattern": {"type": "hourly"}, "range": {"type": "noEnd", "startDate": "x"}}}
    assert client.post("/me/events", bad).status == 400


def test_one_occurrence_is_edited_or_cancelled_and_the_series_keeps_the_rest(client):
    daily = {**EVENT, "subject": "Daily",
             "start": {"dateTime": "2030-05-06T10:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2030-05-06T10:30:00", "timeZone": "UTC"},
             "recurrence": {"pattern": {"type": "daily", "interval": 1},
                            "range": {"type": "numbered", "startDate": "2030-05-06", "numberOfOccurrences": 4}}}
    master = body(client.post("/me/events", daily))
    window = {"startDateTime": "2030-05-01T00:00:00Z", "endDateTime": "2030-05-31T00:00:00Z", "$top": "50"}

    def view() -> list[dict]:
        return body(client.get(f"/me/events/{master['id']}/instances", query=window))["value"]
    second, third = view()[1]["id"], view()[2]["id"]
    moved = client.patch(f"/me/events/{second}", {"subject": "Moved",
                                                  "start": {"dateTime": "2030-05-07T15:00:00", "timeZone": "UTC"},
                                                  "end": {"dateTime": "2030-05-07T15:30:00", "timeZone": "UTC"}})
    assert moved.status == 200
    assert body(moved)["type"] == "exception" and body(moved)["originalStart"] == "2030-05-07T10:00:00Z"
    assert client.delete(f"/me/events/{third}").status == 204
    instances = view()
    assert [(e["subject"], e["type"], e["start"]["dateTime"][:16]) for e in instances] == [
        ("Daily", "occurrence", "2030-05-06T10:00"), ("Moved", "exception", "2030-05-07T15:00"),
        ("Daily", "occurrence", "2030-05-09T10:00")]
    assert client.get(f"/me/events/{third}").status == 404
    assert body(client.get(f"/me/events/{second}"))["subject"] == "Moved"
    series = body(client.get(f"/me/events/{master['id']}", query={"$select": "subject,cancelledOccurrences"}))
    assert series["subject"] == "Daily" and series["cancelledOccurrences"] == [f"OID.{master['id']}.2030-05-08"]
