"""Office365.mail against the emulator's Graph, in each mail type."""

from __future__ import annotations

import os
import uuid
from email.message import EmailMessage

import pytest

from netkit_msal import ConfigError, GraphError
from netkit_msal.office365 import Message
from netkit_msal.office365._convert import INLINE_LIMIT


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def find(box, subject: str, folder: str = "inbox"):
    """The Graph JSON of the mail with that subject in a folder (Microsoft type box), or None."""
    found = [m for m in box.mail.get_mails({"folderId": folder, "top": 50}) if m["subject"] == subject]
    return found[0] if found else None


@pytest.fixture(scope="module")
def megan(service_provider, users, office):
    return office(service_provider, "Microsoft", users["megan"])


# --- send and read back, each mail type ------------------------------------------------------

def test_send_microsoft_arrives_and_reads_back_as_mime_and_microsoft(adele, megan, users, service_provider):
    subject = unique("Graph JSON")
    status = adele.mail.send({
        "subject": subject, "body": {"contentType": "html", "content": "<p>Hello Megan</p>"},
        "toRecipients": [{"emailAddress": {"address": users["megan"].upn, "name": "Megan"}}],
        "attachments": [{"name": "notes.txt", "contentType": "text/plain", "contentBytes": b"some notes"}],
    })
    assert status.success and status.status == 202 and status["statusText"] == "Mail sent"
    received = find(megan, subject)
    assert received is not None and isinstance(received, Message)
    assert received["from"]["emailAddress"]["address"] == users["adele"].upn
    attachments = received.attachments
    assert [a["name"] for a in attachments] == ["notes.txt"] and attachments[0].get_content() == b"some notes"
    mime = megan.mail.get_mail(received["id"], {"mailType": "MIME"})
    assert isinstance(mime, EmailMessage) and mime["Subject"] == subject
    assert "Hello Megan" in mime.get_body(("html", "plain")).get_content()
    assert [part.get_filename() for part in mime.iter_attachments()] == ["notes.txt"]
    text_form = megan.mail.get_mail(received["id"], {"contentType": "text"})
    assert text_form["body"]["contentType"] == "text"


def test_send_mime_and_read_back(service_provider, users, office):
    adele = office(service_provider, "MIME", users["adele"])
    megan_mime = office(service_provider, "MIME", users["megan"])
    msg = EmailMessage()
    msg["From"] = users["adele"].upn
    msg["To"] = users["megan"].upn
    subject = unique("MIME mail")
    msg["Subject"] = subject
    msg.set_content("Plain body from MIME")
    msg.add_attachment(b"\x00binary\xff", maintype="application", subtype="octet-stream", filename="b.bin")
    status = adele.mail.send(msg)
    assert status.success, status
    megan = office(service_provider, "Microsoft", users["megan"])
    received = find(megan, subject)
    assert received is not None and received["hasAttachments"]
    back = megan_mime.mail.get_mail(received["id"])
    assert isinstance(back, EmailMessage) and back["Subject"] == subject
    assert "Plain body from MIME" in back.get_body(("plain", "html")).get_content()
    assert [p.get_payload(decode=True) for p in back.iter_attachments()] == [b"\x00binary\xff"]
    # bytes and text in are accepted too
    assert adele.mail.send(msg.as_bytes()).success and adele.mail.send(msg.as_string()).success


def test_send_jmap_and_read_back_as_jmap(service_provider, users, office):
    adele = office(service_provider, "JMAP", users["adele"])
    megan_jmap = office(service_provider, "JMAP", users["megan"])
    subject = unique("JMAP mail")
    status = adele.mail.send({
        "from": f"Adele <{users['adele'].upn}>", "to": users["megan"].upn, "subject": subject,
        "textBody": [{"partId": "t", "type": "text/plain"}], "bodyValues": {"t": {"value": "Text body"}},
        "attachments": [{"name": "a.csv", "type": "text/csv", "content": "x,y\n1,2\n"}],
    })
    assert status.success, status
    listed = [m for m in megan_jmap.mail.get_mails({"folderId": "inbox", "top": 50}) if m["subject"] == subject]
    assert len(listed) == 1 and listed[0]["id"]  # lists are Graph objects in every mail type, as in 4D
    mail = megan_jmap.mail.get_mail(listed[0]["id"])
    assert mail["from"][0]["email"] == users["adele"].upn and mail["to"][0]["email"] == users["megan"].upn
    assert mail["keywords"]["$seen"] is False and "Text body" in mail["bodyValues"]["1"]["value"]
    attachment = mail.attachments[0]
    assert attachment["name"] == "a.csv" and attachment["type"].startswith("text/csv")
    assert attachment.get_content() == b"x,y\n1,2\n"


def test_unknown_keys_in_mail_objects_are_errors(adele, service_provider, users, office):
    with pytest.raises(ConfigError) as caught:
        adele.mail.send({"subject": "x", "toRecipient": []})
    assert caught.value.suggestion == "toRecipients"
    jmap = office(service_provider, "JMAP", users["adele"])
    with pytest.raises(ConfigError) as caught:
        jmap.mail.send({"subjet": "x", "to": "a@b.c"})
    assert caught.value.suggestion == "subject"
    mime = office(service_provider, "MIME", users["adele"])
    with pytest.raises(ConfigError):
        mime.mail.send({"subject": "not MIME"})


def test_large_attachment_round_trips_through_upload_session(service_provider, users, emulator, office):
    adele = office(service_provider, "JMAP", users["adele"])
    megan = office(service_provider, "Microsoft", users["megan"])
    payload = os.urandom(5 * 1024 * 1024)
    subject = unique("Big file")
    before = emulator.stats().get("sendMail", 0)
    status = adele.mail.send({"to": users["megan"].upn, "subject": subject, "textBody": "see attached",
                              "attachments": [{"name": "big.bin", "content": payload},
                                              {"name": "small.txt", "content": b"small"}]})
    assert status.success, status
    assert emulator.stats().get("sendMail", 0) == before  # went as a draft + upload session + send
    received = find(megan, subject)
    contents = {a["name"]: a for a in received.attachments}
    assert contents["big.bin"]["size"] >= len(payload)
    assert contents["big.bin"].get_content() == payload and contents["small.txt"].get_content() == b"small"
    # the draft is gone from Drafts, the sent copy is in Sent Items
    adele_json = office(service_provider, "Microsoft", users["adele"])
    assert find(adele_json, subject, "drafts") is None
    assert find(adele_json, subject, "sentitems") is not None


def test_large_mime_mail_goes_through_upload_session(service_provider, users, office):
    adele = office(service_provider, "MIME", users["adele"])
    msg = EmailMessage()
    msg["To"] = users["megan"].upn
    subject = unique("Big MIME")
    msg["Subject"] = subject
    msg.set_content("big one")
    payload = os.urandom(4 * 1024 * 1024)
    msg.add_attachment(payload, maintype="application", subtype="zip", filename="big.zip")
    assert adele.mail.send(msg).success
    megan = office(service_provider, "Microsoft", users["megan"])
    received = find(megan, subject)
    assert received.attachments[0].get_content() == payload


# --- folders, append, move, copy, update, delete, reply --------------------------------------

def test_folders_and_mail_changes(adele, users):
    name = unique("Projects")
    created = adele.mail.create_folder(name)
    assert created.success and created.id
    child = adele.mail.create_folder("Child", False, created.id)
    assert child.success
    hidden = adele.mail.create_folder(unique("Hidden"), True)
    assert hidden.success
    assert adele.mail.get_folder(created.id)["displayName"] == name
    assert adele.mail.get_folder("inbox")["displayName"] == "Inbox"
    names = [f["displayName"] for f in adele.mail.get_folder_list()]
    assert name in names
    assert hidden.id not in [f["id"] for f in adele.mail.get_folder_list()]
    assert hidden.id in [f["id"] for f in adele.mail.get_folder_list({"includeHiddenFolders": True})]
    children = adele.mail.get_folder_list({"folderId": created.id})
    assert [f["displayName"] for f in children.folders] == ["Child"]
    assert adele.mail.rename_folder(created.id, name + " renamed").success
    assert adele.mail.get_folder(created.id)["displayName"] == name + " renamed"

    subject = unique("Filed")
    appended = adele.mail.append({"subject": subject, "body": {"contentType": "text", "content": "filed"},
                                  "toRecipients": [{"emailAddress": {"address": users["megan"].upn}}]},
                                 created.id)
    assert appended.success and appended.id
    filed = adele.mail.get_mail(appended.id)
    assert filed["subject"] == subject and filed["isDraft"] is False
    assert adele.mail.update(appended.id, {"isRead": True, "categories": ["Blue category"]}).success
    assert adele.mail.get_mail(appended.id)["isRead"] is True
    copied = adele.mail.copy(appended.id, "inbox")
    assert copied.success and copied.id and copied.id != appended.id
    moved = adele.mail.move(appended.id, child.id)
    assert moved.success and moved.id
    assert [m["subject"] for m in adele.mail.get_mails({"folderId": child.id})] == [subject]
    assert adele.mail.delete(moved.id).success
    assert adele.mail.delete(copied.id).success
    gone = adele.mail.delete_folder(created.id)
    assert gone.success
    with pytest.raises(GraphError) as caught:
        adele.mail.get_folder(created.id)
    assert caught.value.status == 404


def test_append_mime_and_jmap(service_provider, users, office):
    mime = office(service_provider, "MIME", users["adele"])
    msg = EmailMessage()
    msg["Subject"] = subject = unique("Appended MIME")
    msg["To"] = users["megan"].upn
    msg.set_content("archived")
    status = mime.mail.append(msg, "inbox")
    assert status.success and status.id
    assert mime.mail.get_mail(status.id)["Subject"] == subject
    jmap = office(service_provider, "JMAP", users["adele"])
    status = jmap.mail.append({"subject": "J " + subject, "to": users["megan"].upn, "textBody": "x",
                               "keywords": {"$seen": True}}, "inbox")
    assert status.success
    back = jmap.mail.get_mail(status.id)
    assert back["subject"] == "J " + subject and back["keywords"]["$seen"] is True
    # a mail read in JMAP can be written again
    again = jmap.mail.append(back, "drafts")
    assert again.success
    assert jmap.mail.update(status.id, {"keywords": {"$seen": False}}).success
    assert jmap.mail.get_mail(status.id)["keywords"]["$seen"] is False


def test_reply_and_reply_all(service_provider, users, office):
    megan = office(service_provider, "Microsoft", users["megan"])
    adele = office(service_provider, "Microsoft", users["adele"])
    subject = unique("Question")
    assert adele.mail.send({"subject": subject, "body": {"contentType": "text", "content": "?"},
                            "toRecipients": [{"emailAddress": {"address": users["megan"].upn}}]}).success
    question = find(megan, subject)
    assert megan.mail.reply({"comment": "Yes."}, question["id"]).success
    assert megan.mail.reply({"message": {"subject": "override"}, "comment": "All"}, question["id"], True).success
    replies = [m for m in adele.mail.get_mails({"folderId": "inbox", "top": 50}) if subject in m["subject"]]
    assert len(replies) >= 1
    jmap = office(service_provider, "JMAP", users["megan"])
    assert jmap.mail.reply({"textBody": "JMAP reply"}, question["id"]).success


def test_failures_are_status_objects_or_graph_errors(adele):
    missing = "AAMkAGnotthere"
    for status in (adele.mail.delete(missing), adele.mail.move(missing, "inbox"), adele.mail.copy(missing, "inbox"),
                   adele.mail.update(missing, {"isRead": True}), adele.mail.delete_folder(missing),
                   adele.mail.rename_folder(missing, "x"), adele.mail.append({"subject": "x"}, missing),
                   adele.mail.reply({"comment": "x"}, missing)):
        assert status.success is False and status.status == 404, status
        assert status.errors and status.errors[0]["status"] == 404
        with pytest.raises(GraphError):
            status.raise_for_status()
    with pytest.raises(GraphError) as caught:
        adele.mail.get_mail(missing)
    assert caught.value.status == 404 and caught.value.error_code
    with pytest.raises(GraphError):
        adele.mail.get_mails({"folderId": missing})
    for call in (lambda: adele.mail.delete(""), lambda: adele.mail.get_mail(""),
                 lambda: adele.mail.get_mails({"folderId": ""})):
        with pytest.raises(ConfigError):
            call()
    with pytest.raises(ConfigError) as caught:
        adele.mail.get_mails({"fodlerId": "inbox"})
    assert caught.value.suggestion == "folderId"


# --- lists and many by id --------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_folder(adele, emulator, users):
    created = adele.mail.create_folder(unique("Paging"))
    ids = emulator.graph.store.seed_messages(users["adele"], 23, created.id)
    return created.id, ids


def test_paging_forward_and_back(adele, big_folder):
    folder_id, ids = big_folder
    pages = adele.mail.get_mails({"folderId": folder_id, "top": 5, "select": "id,subject"})
    assert pages.page == 1 and len(pages.mails) == 5 and not pages.isLastPage
    first = [m["id"] for m in pages.mails]
    seen = list(first)
    while pages.next():
        seen.extend(m["id"] for m in pages["mails"])
    assert pages.page == 5 and pages.isLastPage and len(pages.mails) == 3
    assert sorted(seen) == sorted(ids)
    assert pages.previous() and pages.page == 4
    while pages.previous():
        pass
    assert pages.page == 1 and [m["id"] for m in pages.mails] == first
    assert sorted(m["id"] for m in pages) == sorted(ids)  # iteration walks every page


def test_paging_in_mime_and_jmap(service_provider, users, big_folder, office):
    folder_id, ids = big_folder
    mime_box = office(service_provider, "MIME", users["adele"]).mail
    mime = mime_box.get_mails({"folderId": folder_id, "top": 10})
    # 4D: getMails gives Graph message objects (with their ids) whatever the mail type
    assert len(mime.mails) == 10 and all(m["id"] and "subject" in m for m in mime.mails)
    assert mime.next() and mime.mails[0]["subject"].startswith("Generated message")
    assert isinstance(mime_box.get_mail(mime.mails[0]["id"]), EmailMessage)  # only getMail answers in MIME
    jmap = office(service_provider, "JMAP", users["adele"]).mail.get_mails({"folderId": folder_id, "top": 10})
    assert len(list(jmap)) == 23 and jmap.isLastPage


def test_search_filter_order(adele, big_folder):
    folder_id, _ = big_folder
    unread = adele.mail.get_mails({"folderId": folder_id, "filter": "isRead eq false", "top": 50})
    assert unread.mails and all(m["isRead"] is False for m in unread.mails)
    ordered = adele.mail.get_mails({"folderId": folder_id, "orderBy": "subject asc", "select": ["id", "subject"]})
    subjects = [m["subject"] for m in ordered.mails]
    assert subjects == sorted(subjects)
    found = adele.mail.get_mails({"folderId": folder_id, "search": "Generated"})
    assert found.mails


def test_get_mails_by_id(adele, service_provider, users, big_folder, office):
    _, ids = big_folder
    wanted = ids + ["AAMkAGmissing"]
    mails = adele.mail.get_mails_by_id(wanted, {"select": "id,subject"})
    assert [m["id"] for m in mails[:-1]] == ids and mails[-1] is None
    mime = office(service_provider, "MIME", users["adele"]).mail.get_mails_by_id(ids[:3])
    assert all(isinstance(m, EmailMessage) for m in mime)
    with pytest.raises(ConfigError):
        adele.mail.get_mails_by_id(["ok", ""])


def test_reply_in_mime(service_provider, users, office):
    adele = office(service_provider, "Microsoft", users["adele"])
    megan = office(service_provider, "Microsoft", users["megan"])
    subject = unique("MIME question")
    to_megan = [{"emailAddress": {"address": users["megan"].upn}}]
    assert adele.mail.send({"subject": subject, "toRecipients": to_megan}).success
    question = find(megan, subject)
    reply = EmailMessage()
    reply["To"] = users["adele"].upn
    reply["Subject"] = "Re: " + subject
    reply.set_content("answer in MIME")
    status = office(service_provider, "MIME", users["megan"]).mail.reply(reply, question["id"])
    assert status.success, status


def test_get_mails_by_id_refuses_what_is_not_a_list_before_any_request(adele, emulator):
    before = emulator.stats()["graph"]
    for mail_ids in (None, 42, "AAMk-one-id"):
        with pytest.raises(ConfigError) as caught:
            adele.mail.get_mails_by_id(mail_ids)
        assert caught.value.key == "mail_ids" and "mail_ids" in str(caught.value)
    assert emulator.stats()["graph"] == before


def test_get_mails_by_id_takes_any_iterable(adele, service_provider, users, big_folder, office):
    """An iterator is read once (MIME used to get an exhausted one: no mails)."""
    _, ids = big_folder
    mime = office(service_provider, "MIME", users["adele"]).mail.get_mails_by_id(iter(ids[:2]))
    assert len(mime) == 2 and all(isinstance(m, EmailMessage) for m in mime)
    assert [m["id"] for m in adele.mail.get_mails_by_id(iter(ids[:2]))] == ids[:2]


def test_reply_in_mime_with_no_from_and_an_unknown_charset(service_provider, users, office):
    """Sent as the mailbox's user; the body read as UTF-8 (see mime_to_graph)."""
    adele = office(service_provider, "Microsoft", users["adele"])
    megan = office(service_provider, "Microsoft", users["megan"])
    subject = unique("Charset question")
    assert adele.mail.send({"subject": subject,
                            "toRecipients": [{"emailAddress": {"address": users["megan"].upn}}]}).success
    question = find(megan, subject)
    reply = (b"From: \r\nSubject: Re: " + subject.encode() + b"\r\nContent-Type: text/plain; charset=no-such\r\n\r\n"
             + "r\u00e9ponse".encode())
    status = office(service_provider, "MIME", users["megan"]).mail.reply(reply, question["id"])
    assert status.success, status
    answer = find(adele, "Re: " + subject)
    assert answer["from"]["emailAddress"]["address"] == users["megan"].upn
    assert "r\u00e9ponse" in answer["body"]["content"]


def test_large_mime_mail_with_no_from_is_appended(service_provider, users, office):
    """Over 3 MB a MIME mail goes as Graph JSON (mime_to_graph): 'From: ' must not stop it."""
    box = office(service_provider, "MIME", users["adele"])
    msg = EmailMessage()
    msg["From"] = ""
    msg["Subject"] = subject = unique("Big, no From")
    msg.set_content("kept")
    msg.add_attachment(os.urandom(INLINE_LIMIT + 1), maintype="application", subtype="zip", filename="big.zip")
    status = box.mail.append(msg, "inbox")
    assert status.success, status
    assert find(office(service_provider, "Microsoft", users["adele"]), subject) is not None
