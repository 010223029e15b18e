"""What a port of 4D NetKit code relies on (issue 12): writable members, 4D's option spellings, the
calls 4D accepts, attachments built by hand, event attachments and times."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from netkit_msal import ConfigError, NetKitError
from netkit_msal.office365 import Attachment, Office365, recipient


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def in_folder(box, subject: str, folder: str = "inbox") -> list:
    return [m for m in box.mail.get_mails({"folderId": folder, "top": 100}) if m["subject"] == subject]


# --- writable members ---------------------------------------------------------------------------

def test_user_id_and_mail_type_take_effect_on_the_next_call(service_provider, users, fast_retry):
    office = Office365(service_provider, {"mailType": "mime"}, retry=fast_retry)  # any case, as 4D
    assert office.mail.mail_type == "MIME" and office.mail_type == "MIME"
    office.mail.user_id = users["adele"].upn  # 4D's tutorial sets mail.userId after construction
    subject = unique("Writable")
    message = EmailMessage()
    message["To"], message["Subject"] = users["megan"].upn, subject
    message.set_content("to Megan")
    assert office.mail.send(message).success
    office.mail.user_id = users["megan"].upn
    office.mail.mail_type = "Microsoft"
    mails = in_folder(office, subject)
    assert len(mails) == 1 and mails[0]["from"]["emailAddress"]["address"] == users["adele"].upn
    office.calendar.user_id = users["megan"].upn
    megan_calendar = office.calendar.get_calendar()
    office.calendar.user_id = users["adele"].upn
    assert office.calendar.get_calendar()["id"] != megan_calendar["id"]
    with pytest.raises(ConfigError) as caught:
        office.mail.mail_type = "EML"
    assert caught.value.key == "mailType" and office.mail.mail_type == "Microsoft"
    with pytest.raises(AttributeError):
        office.mail_type = "JMAP"  # the Office365's own options are read-only: change a member's


@pytest.mark.parametrize("member", ["mail", "calendar", "user", "category"])
def test_assigning_a_member_that_does_not_exist_raises(adele, member):
    target = getattr(adele, member)
    for name in ("userId", "mailType", "user_idd", "type"):
        with pytest.raises(AttributeError) as caught:
            setattr(target, name, "x")
        assert name in str(caught.value)
    with pytest.raises(AttributeError) as caught:
        adele.mail.userId = "x"
    assert "'user_id'" in str(caught.value)
    with pytest.raises(AttributeError):
        adele.drives = None  # the Office365 itself is guarded too


def test_service_mailbox_can_come_later(service_provider, users, fast_retry):
    office = Office365(service_provider, retry=fast_retry)
    with pytest.raises(ConfigError) as caught:
        office.calendar.get_calendars()
    assert caught.value.key == "userId"
    office.calendar.user_id = users["adele"].upn
    assert office.calendar.get_calendars().calendars


@pytest.mark.parametrize("wrong", [None, "token-text", {"token": {"access_token": "x"}}, 3, object()])
def test_office365_given_no_provider_is_error_14(wrong):
    with pytest.raises(NetKitError) as caught:
        Office365(wrong)
    assert caught.value.code == 14 and "OAuth2Provider" in caught.value.message


# --- options and calls as 4D writes them -----------------------------------------------------------

def test_numeric_text_top_and_mail_type_in_any_case(adele):
    assert len(adele.mail.get_mails({"folderId": "inbox", "top": "2"}).mails) <= 2
    assert isinstance(adele.mail.get_mail(adele.mail.get_mails({"top": 1}).mails[0]["id"], {"mailType": "mime"}),
                      EmailMessage)


def test_append_without_folder_is_a_draft_in_drafts(adele):
    status = adele.mail.append({"subject": unique("Draft"), "body": {"contentType": "text", "content": "x"}})
    assert status.success
    mail = adele.mail.get_mail(status.id)
    assert mail["isDraft"] is True and mail["parentFolderId"] == adele.mail.get_folder("drafts")["id"]


def test_send_in_graph_envelope(adele, users):
    subject = unique("Envelope")
    status = adele.mail.send({"message": {"subject": subject, "toRecipients": [recipient(users["megan"].upn)]},
                              "saveToSentItems": False})
    assert status.success, status
    assert in_folder(adele, subject, "sentitems") == []  # saveToSentItems honoured
    with pytest.raises(ConfigError):
        adele.mail.send({"message": {"subject": "x"}, "saveToSentItems": "no"})


def test_big_send_returns_the_sent_copy_id(adele, users):
    subject = unique("Big send")
    status = adele.mail.send({"subject": subject, "toRecipients": [recipient(users["megan"].upn, "Megan")],
                              "attachments": [{"name": "big.bin", "contentBytes": os.urandom(3 * 1024 * 1024 + 1)}]})
    assert status.success, status
    sent = in_folder(adele, subject, "sentitems")
    assert len(sent) == 1 and status.id == sent[0]["id"]


def test_attachment_built_by_hand_and_from_mail_attachments(adele, users):
    by_hand = Attachment({"name": "notes.txt", "contentType": "text/plain"})
    by_hand.set_content("Some notes")
    assert by_hand["size"] == 10 and by_hand.get_content() == b"Some notes"
    part = EmailMessage()
    part.set_content(b"\x89PNG...", maintype="image", subtype="png", filename="logo.png", cid="<logo@x>",
                     disposition="inline")
    from_mime = Attachment.from_mail_attachment(part)
    from_4d = Attachment.from_mail_attachment({"name": "a.csv", "type": "text/csv", "content": "x,y"})
    assert from_mime["contentId"] == "logo@x" and from_mime["isInline"] is True
    subject = unique("Built attachments")
    assert adele.mail.send({"subject": subject, "toRecipients": [recipient(users["adele"].upn)],
                            "attachments": [by_hand, from_mime, from_4d]}).success
    received = in_folder(adele, subject)[0]
    assert {a["name"]: a.get_content() for a in received.attachments} == {
        "notes.txt": b"Some notes", "logo.png": b"\x89PNG...", "a.csv": b"x,y"}


def test_recipient_checks_the_address():
    assert recipient("Megan <megan@contoso.example>") == {
        "emailAddress": {"address": "megan@contoso.example", "name": "Megan"}}
    for bad in ("megan", "", "a@b.c, d@e.f"):
        with pytest.raises(ConfigError) as caught:
            recipient(bad)
        assert caught.value.key == "address" and caught.value.code == 2


# --- calendar ---------------------------------------------------------------------------------------

def test_update_event_takes_options_id_first(adele):
    first = adele.calendar.create_event({"subject": "First", "start": datetime.now(timezone.utc),
                                         "end": datetime.now(timezone.utc) + timedelta(hours=1)})
    second = adele.calendar.create_event({"subject": "Second", "start": datetime.now(timezone.utc),
                                          "end": datetime.now(timezone.utc) + timedelta(hours=1)})
    status = adele.calendar.update_event({"id": first.id, "subject": "Changed"}, {"id": second.id})
    assert status.success and status.id == second.id
    assert adele.calendar.get_event(second.id)["subject"] == "Changed"
    assert adele.calendar.get_event(first.id)["subject"] == "First"


def test_event_in_a_calendar_named_by_the_event(adele):
    calendar_id = adele.calendar.get_calendars().calendars[-1]["id"]
    status = adele.calendar.create_event({"subject": "Placed", "calendarId": calendar_id,
                                          "start": {"date": "2031-06-01", "time": "10:00", "timeZone": "UTC"},
                                          "end": {"date": "2031-06-01", "time": "11:00", "timeZone": "UTC"}})
    assert status.success
    listed = adele.calendar.get_events({"calendarId": calendar_id, "top": 100, "select": "id"})
    assert status.id in [event["id"] for event in listed]


def test_views_take_4d_and_python_bounds(adele):
    status = adele.calendar.create_event({"subject": "Window", "start": {"dateTime": "2032-02-02T10:00:00",
                                                                         "timeZone": "UTC"},
                                          "end": {"dateTime": "2032-02-02T11:00:00", "timeZone": "UTC"}})
    for start, end in ((datetime(2032, 2, 2, tzinfo=timezone.utc), datetime(2032, 2, 3, tzinfo=timezone.utc)),
                       ({"date": "2032-02-02", "time": 0, "timeZone": "UTC"},
                        {"date": "2032-02-03", "time": 0, "timeZone": "UTC"}),
                       ("2032-02-02T00:00:00Z", "2032-02-03T00:00:00Z")):
        view = adele.calendar.get_events({"startDateTime": start, "endDateTime": end, "timeZone": "Europe/Paris",
                                          "bodyContentType": "text"})
        found = [event for event in view if event["id"] == status.id]
        assert found and found[0]["start"]["dateTime"].startswith("2032-02-02T11:00:00")


def test_event_attachments_go_with_the_event(adele):
    status = adele.calendar.create_event({
        "subject": "Files", "start": datetime.now(timezone.utc), "end": datetime.now(timezone.utc) + timedelta(hours=1),
        "attachments": [{"name": "a.txt", "content": b"A"}, {"name": "b.txt", "content": b"B"}]})
    assert status.success and status.event["attachments"][0]["id"]
    event = adele.calendar.get_event({"eventId": status.id, "select": "id,subject,hasAttachments"})
    first, second = event.attachments  # described; the bytes are fetched on get_content()
    assert first.get_content() == b"A"
    assert adele.calendar.delete_event(status.id).success
    with pytest.raises(NetKitError) as caught:  # the emulator dropped them with the event
        second.get_content()
    assert caught.value.status == 404


def test_provider_timeout_as_numeric_text(emulator):
    """4D reads ``timeout: "30"`` as 30 seconds; text that is no number stays a ConfigError on ``timeout``."""
    from netkit_msal._config import parse_config

    assert parse_config(emulator.params("service", timeout="30")).timeout == 30.0
    for bad in ("soon", "-1", "nan"):
        with pytest.raises(ConfigError) as caught:
            parse_config(emulator.params("service", timeout=bad))
        assert caught.value.key == "timeout"


def test_an_event_read_changed_and_updated_keeps_its_attachments_once(adele):
    """4D's pattern: getEvent, change a field, updateEvent with the same object."""
    status = adele.calendar.create_event({
        "subject": "Read and write", "start": datetime.now(timezone.utc),
        "end": datetime.now(timezone.utc) + timedelta(hours=1), "attachments": [{"name": "a.txt", "content": "A"}]})
    event = adele.calendar.get_event(status.id)
    assert len(event.attachments) == 1
    event["subject"] = "Read, changed and written"
    event.attachments.append(Attachment.from_mail_attachment({"name": "b.txt", "content": "B"}))
    assert adele.calendar.update_event(event).success
    again = adele.calendar.get_event(status.id)
    assert again["subject"] == "Read, changed and written"
    assert sorted(a["name"] for a in again.attachments) == ["a.txt", "b.txt"]
