"""Office365.user, .calendar and .category against the emulator's Graph."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from netkit_msal import ConfigError, GraphError
from netkit_msal.office365 import Office365


def test_constructor_checks_options(service_provider, delegated_provider):
    office = Office365(service_provider)  # 4D's tutorial sets mail.userId afterwards
    with pytest.raises(ConfigError) as caught:
        office.mail.get_mails()
    assert caught.value.key == "userId" and "userId" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Office365(delegated_provider, {"mailtype": "MIME"})
    assert caught.value.suggestion == "mailType"
    with pytest.raises(ConfigError) as caught:
        Office365(delegated_provider, {"mailType": "EML"})
    assert caught.value.key == "mailType"
    assert "token" not in repr(Office365(delegated_provider)).lower()


# --- user ----------------------------------------------------------------------------------------

def test_user_get_current_and_list(adele, users, delegated_provider, fast_retry):
    assert adele.user.get(users["megan"].upn)["displayName"] == users["megan"].display_name
    assert adele.user.get(users["megan"].id, ["id", "mail"]).keys() >= {"id", "mail"}
    assert adele.user.get_current()["userPrincipalName"] == users["adele"].upn
    me = Office365(delegated_provider, retry=fast_retry)
    assert me.user.get_current("id,displayName")["id"] == delegated_provider.token.access_token_claims["oid"]
    listed = adele.user.list({"top": 2})
    assert listed.page == 1 and len(listed.users) == 2 and not listed.isLastPage
    assert listed.next() and listed.page == 2 and listed.previous() and listed.page == 1
    assert {u["userPrincipalName"] for u in listed} == {u.upn for u in users.values()}
    searched = adele.user.list({"search": "displayName:Megan", "select": "id,displayName"})
    assert [u["displayName"] for u in searched.users] == [users["megan"].display_name]
    filtered = adele.user.list({"filter": "startswith(displayName,'A')", "orderBy": "displayName"})
    assert [u["displayName"] for u in filtered.users] == sorted(u["displayName"] for u in filtered.users)
    with pytest.raises(GraphError) as caught:
        adele.user.get("nobody@contoso.example")
    assert caught.value.status == 404


def test_missing_permission_is_403(emulator, users, fast_retry):
    from netkit_msal import OAuth2Provider

    emulator.install_browser()
    provider = OAuth2Provider(emulator.params("signedIn", cache=False, scope=["User.Read"]))
    try:
        box = Office365(provider, retry=fast_retry)
        with pytest.raises(GraphError) as caught:
            box.mail.get_mails()
        assert caught.value.status == 403
        status = box.mail.send({"subject": "x", "toRecipients": [{"emailAddress": {"address": users["megan"].upn}}]})
        assert status.success is False and status.status == 403
        for call in (box.category.list, box.calendar.get_calendars, box.calendar.get_calendar, box.user.list,
                     box.mail.get_folder_list):
            with pytest.raises(GraphError) as caught:
                call()
            assert caught.value.status == 403, call
        created = box.calendar.create_event({"subject": "x", "start": datetime.now(timezone.utc),
                                             "end": datetime.now(timezone.utc) + timedelta(hours=1)})
        assert created.success is False and created.status == 403
        assert box.mail.create_folder("x").status == 403
    finally:
        provider.close()


# --- calendar ------------------------------------------------------------------------------------

def test_calendars_and_events(adele):
    default = adele.calendar.get_calendar()
    assert default["id"]
    assert adele.calendar.get_calendar(default["id"])["id"] == default["id"]
    calendars = adele.calendar.get_calendars()
    assert default["id"] in [c["id"] for c in calendars.calendars]

    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    created = adele.calendar.create_event({
        "subject": "Planning", "start": start, "end": start + timedelta(hours=1),
        "body": {"contentType": "text", "content": "agenda"},
    })
    assert created.success and created.id and created.event["subject"] == "Planning"
    event = adele.calendar.get_event({"eventId": created.id, "timeZone": "UTC"})
    assert event["subject"] == "Planning" and event["start"]["timeZone"] == "UTC"
    assert adele.calendar.get_event(created.id)["id"] == created.id
    in_calendar = adele.calendar.get_event({"eventId": created.id, "calendarId": default["id"]})
    assert in_calendar["id"] == created.id

    view = adele.calendar.get_events({"startDateTime": start - timedelta(hours=1),
                                      "endDateTime": start + timedelta(hours=2)})
    assert created.id in [e["id"] for e in view]
    all_events = adele.calendar.get_events({"calendarId": default["id"], "top": 50})
    assert created.id in [e["id"] for e in all_events]

    updated = adele.calendar.update_event({"id": created.id, "subject": "Planning (moved)",
                                           "start": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"},
                                           "end": {"dateTime": "2030-01-01T11:00:00", "timeZone": "UTC"}})
    assert updated.success and adele.calendar.get_event(created.id)["subject"] == "Planning (moved)"
    assert adele.calendar.delete_event({"eventId": created.id}).success
    with pytest.raises(GraphError) as caught:
        adele.calendar.get_event(created.id)
    assert caught.value.status == 404
    failed = adele.calendar.delete_event(created.id)
    assert failed.success is False and failed.status == 404


def test_calendar_input_errors_never_hit_a_collection(adele, emulator):
    before = emulator.stats().get("graph", 0)
    for call in (lambda: adele.calendar.delete_event({"eventId": ""}), lambda: adele.calendar.delete_event(""),
                 lambda: adele.calendar.delete_event({}), lambda: adele.calendar.get_event({"eventId": "  "}),
                 lambda: adele.calendar.update_event({"subject": "no id"}),
                 lambda: adele.calendar.create_event({"subject": "x", "start": {"dateTime": ""}}),
                 lambda: adele.calendar.create_event({"subject": "x", "start": {"date": "soon"}}),
                 lambda: adele.calendar.create_event({"subject": "x", "start": {"time": "10:00"}}),
                 lambda: adele.calendar.create_event({"subject": "x", "start": "2030-01-01"}),
                 lambda: adele.calendar.create_event({"subjet": "x"}),
                 lambda: adele.calendar.get_events({"startDateTime": "2030-01-01T00:00:00Z"}),
                 lambda: adele.calendar.get_events({"calendarID": "x"})):
        with pytest.raises(ConfigError):
            call()
    assert emulator.stats().get("graph", 0) == before


def test_category_list(adele):
    categories = adele.category.list()
    assert categories.success and categories.categories
    assert all("displayName" in c for c in categories["categories"])


def test_event_times_in_the_asked_time_zone(adele):
    created = adele.calendar.create_event(
        {"subject": "Paris call", "start": {"dateTime": "2030-06-01T10:00:00", "timeZone": "Europe/Paris"},
         "end": {"dateTime": "2030-06-01T11:00:00", "timeZone": "Europe/Paris"}})
    assert created.success and created.event["start"]["timeZone"] == "UTC"
    assert created.event["start"]["dateTime"].startswith("2030-06-01T08:00:00")  # summer time: UTC+2
    paris = adele.calendar.get_event({"eventId": created.id, "timeZone": "Europe/Paris"})
    assert paris["start"]["timeZone"] == "Europe/Paris" and paris["start"]["dateTime"].startswith("2030-06-01T10:00")
    view = adele.calendar.get_events({"startDateTime": "2030-06-01T00:00:00Z", "endDateTime": "2030-06-02T00:00:00Z",
                                      "timeZone": "America/New_York"})
    event = [e for e in view if e["id"] == created.id][0]
    assert event["start"]["dateTime"].startswith("2030-06-01T04:00")
    assert adele.calendar.delete_event(created.id).success
