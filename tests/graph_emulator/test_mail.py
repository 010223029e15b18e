"""Mail through GraphApi.handle: messages, MIME, sending, replies, attachments, folders."""

from __future__ import annotations

import base64

from graph_emu_support import body, token

from netkit_msal.emulator._graph._mime import mime_to_message

DRAFT = {
    "subject": "Budget",
    "body": {"contentType": "HTML", "content": "<p>Numbers <b>inside</b></p>"},
    "toRecipients": [{"emailAddress": {"address": "megan@contoso.example", "name": "Megan"}}],
    "ccRecipients": [{"emailAddress": {"address": "someone@elsewhere.example"}}],
}


def inbox(client, upn=None, **query):
    path = f"/users/{upn}/mailFolders/inbox/messages" if upn else "/me/mailFolders/inbox/messages"
    return body(client.get(path, query={"$top": "100", **query}))["value"]


def test_seeded_inbox_is_deterministic_with_attachments(client, api, adele):
    messages = inbox(client)
    assert len(messages) == 6
    assert messages == sorted(messages, key=lambda m: m["receivedDateTime"], reverse=True)
    assert messages[0]["subject"] == "Quarterly retail figures" and messages[0]["hasAttachments"]
    assert messages[0]["id"] == inbox(client)[0]["id"]
    assert {"@odata.etag", "id", "subject", "body", "from", "toRecipients", "isRead", "parentFolderId",
            "bodyPreview", "conversationId", "receivedDateTime"} <= set(messages[0])
    folders = {f["displayName"]: f for f in body(client.get("/me/mailFolders", query={"$top": "50"}))["value"]}
    assert set(folders) == {"Inbox", "Drafts", "Sent Items", "Deleted Items", "Junk Email", "Archive", "Outbox"}
    assert folders["Inbox"]["totalItemCount"] == 6 and folders["Inbox"]["unreadItemCount"] == 3


def test_message_list_select_filter_orderby_paging_and_count(client):
    page = body(client.get("/me/messages", query={"$select": "subject,isRead", "$top": "2", "$count": "true"}))
    assert page["@odata.count"] == 8  # inbox 6 + sent 1 + draft 1
    assert set(page["value"][0]) == {"@odata.etag", "id", "subject", "isRead"}
    link = page["@odata.nextLink"]
    assert link.startswith("https://127.0.0.1:4443/v1.0/me/messages?") and "%24" not in link.split("?")[0]
    seen = [m["id"] for m in page["value"]]
    while "@odata.nextLink" in page:
        page = body(client.follow(page["@odata.nextLink"]))
        seen += [m["id"] for m in page["value"]]
    assert len(seen) == 8 == len(set(seen))
    # Outlook wants the ordered property first in the filter (else 400 InefficientFilter).
    unread = body(client.get("/me/mailFolders/Inbox/messages",
                             query={"$filter": "subject ne null and isRead eq false", "$orderby": "subject"}))["value"]
    refused = client.get("/me/mailFolders/Inbox/messages", query={"$filter": "isRead eq false", "$orderby": "subject"})
    assert (refused.status, body(refused)["error"]["code"]) == (400, "InefficientFilter")
    assert [m["subject"] for m in unread] == ["Marketing plan draft", "Quarterly retail figures",
                                             "Team lunch on Friday"]
    by_sender = body(client.get("/me/messages", query={
        "$filter": "from/emailAddress/address eq 'megan@contoso.example'"}))["value"]
    assert by_sender and all(m["from"]["emailAddress"]["address"] == "megan@contoso.example" for m in by_sender)
    assert client.get("/me/messages", query={"$select": "bogus"}).status == 400


def test_message_search(client):
    found = body(client.get("/me/messages", query={"$search": '"cafeteria"'}))["value"]
    assert [m["subject"] for m in found] == ["Team lunch on Friday"]
    refused = client.get("/me/messages", query={"$search": "x", "$orderby": "subject"})
    assert refused.status == 400


def test_create_get_update_delete_draft(client):
    created = client.post("/me/messages", DRAFT)
    assert created.status == 201
    draft = body(created)
    assert draft["isDraft"] and draft["body"]["contentType"] == "html"
    assert draft["from"]["emailAddress"]["address"] == "adele@contoso.example"
    drafts = client.get("/me/mailFolders/drafts/messages")
    assert draft["id"] in [m["id"] for m in body(drafts)["value"]]
    updated = body(client.patch(f"/me/messages/{draft['id']}", {"subject": "Budget v2", "isRead": False,
                                                                 "categories": ["Red category"]}))
    assert updated["subject"] == "Budget v2" and updated["categories"] == ["Red category"]
    text = client.get(f"/me/messages/{draft['id']}", headers={"Prefer": 'outlook.body-content-type="text"'})
    assert body(text)["body"] == {"contentType": "text", "content": "Numbers inside"}
    assert text.headers["Preference-Applied"] == 'outlook.body-content-type="text"'
    bad = client.patch(f"/me/messages/{draft['id']}", {"subjekt": "typo"})
    assert bad.status == 400 and "subjekt" in body(bad)["error"]["message"]
    assert client.delete(f"/me/messages/{draft['id']}").status == 204
    missing = client.get(f"/me/messages/{draft['id']}")
    assert missing.status == 404 and body(missing)["error"]["code"] == "ErrorItemNotFound"


def test_message_in_the_wrong_folder_path_is_404(client):
    message = inbox(client)[0]
    assert client.get(f"/me/mailFolders/inbox/messages/{message['id']}").status == 200
    assert client.get(f"/me/mailFolders/drafts/messages/{message['id']}").status == 404


def test_mime_value_and_mime_create(client):
    message = inbox(client)[0]
    response = client.get(f"/me/messages/{message['id']}/$value")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    parsed, attachments = mime_to_message(response.body)
    assert parsed["subject"] == message["subject"]
    assert [a["name"] for a in attachments] == ["q3-figures.csv"]
    raw = (b"From: Adele <adele@contoso.example>\r\nTo: megan@contoso.example\r\nSubject: From MIME\r\n"
           b"Content-Type: text/plain\r\n\r\nHello from MIME\r\n")
    created = client.post("/me/messages", body=base64.b64encode(raw), headers={"Content-Type": "text/plain"})
    assert created.status == 201
    draft = body(created)
    assert draft["subject"] == "From MIME" and draft["isDraft"]
    bad = client.post("/me/messages", body=b"%%%", headers={"Content-Type": "text/plain"})
    assert body(bad)["error"]["code"] == "ErrorMimeContentInvalidBase64String"


def test_non_draft_create_in_a_folder(client):
    created = body(client.post("/me/mailFolders/inbox/messages", {
        **DRAFT, "singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "1"}]}))
    assert created["isDraft"] is False
    assert created["id"] in [m["id"] for m in inbox(client)]


def test_move_and_copy_give_new_ids(client):
    message = inbox(client)[1]
    moved = client.post(f"/me/messages/{message['id']}/move", {"destinationId": "archive"})
    assert moved.status == 201
    moved_id = body(moved)["id"]
    assert moved_id != message["id"]
    assert client.get(f"/me/messages/{message['id']}").status == 404
    archive = body(client.get("/me/mailFolders/archive/messages"))["value"]
    assert [m["subject"] for m in archive] == [message["subject"]]
    copied = body(client.post(f"/me/messages/{moved_id}/copy", {"destinationId": "inbox"}))
    assert copied["id"] != moved_id and copied["subject"] == message["subject"]
    assert client.post(f"/me/messages/{moved_id}/move", {"destinationId": "nowhere"}).status == 404


def test_send_mail_delivers_to_directory_recipients_and_sent_items(client, megan, counts):
    response = client.post("/me/sendMail", {"message": {**DRAFT, "subject": "Delivered?",
                                                        "bccRecipients": [{"emailAddress": {
                                                            "address": "alex@contoso.example"}}]}})
    assert response.status == 202 and response.body == b""
    assert counts["sendMail"] == 1
    megan_client = client.as_(token(megan))
    received = [m for m in inbox(megan_client) if m["subject"] == "Delivered?"]
    assert len(received) == 1
    assert received[0]["isRead"] is False and received[0]["bccRecipients"] == []
    assert received[0]["from"]["emailAddress"]["address"] == "adele@contoso.example"
    alex = client.api.directory.user("alex@contoso.example")
    assert [m for m in inbox(client.as_(token(alex))) if m["subject"] == "Delivered?"]
    sent = body(client.get("/me/mailFolders/sentitems/messages", query={"$filter": "subject eq 'Delivered?'"}))
    assert len(sent["value"]) == 1 and sent["value"][0]["isRead"]
    client.post("/me/sendMail", {"message": {**DRAFT, "subject": "Unsaved"}, "saveToSentItems": False})
    assert not body(client.get("/me/mailFolders/sentitems/messages",
                               query={"$filter": "subject eq 'Unsaved'"}))["value"]
    assert counts["sendMail"] == 2
    empty = client.post("/me/sendMail", {"message": {"subject": "nobody"}})
    assert empty.status == 400 and body(empty)["error"]["code"] == "ErrorInvalidRecipients"
    assert counts["sendMail"] == 2 == counts["mailSent"]


def test_send_mail_in_mime(client, megan, counts):
    raw = (b"From: adele@contoso.example\r\nTo: Megan <megan@contoso.example>\r\nSubject: MIME sent\r\n"
           b"Content-Type: text/html\r\n\r\n<p>hi</p>\r\n")
    response = client.post("/me/sendMail", body=base64.b64encode(raw), headers={"Content-Type": "text/plain"})
    assert response.status == 202 and counts["sendMail"] == 1
    received = [m for m in inbox(client.as_(token(megan))) if m["subject"] == "MIME sent"]
    assert received and received[0]["body"]["contentType"] == "html"


def test_send_draft_then_reply_and_reply_all(client, megan, counts):
    draft = body(client.post("/me/messages", DRAFT))
    assert client.post(f"/me/messages/{draft['id']}/send").status == 202
    assert counts == {"mailSent": 1}
    assert client.get(f"/me/messages/{draft['id']}").status == 404
    megan_client = client.as_(token(megan))
    received = next(m for m in inbox(megan_client) if m["subject"] == "Budget")
    assert megan_client.post(f"/me/messages/{received['id']}/reply", {"comment": "Thanks!"}).status == 202
    reply = next(m for m in inbox(client) if m["subject"] == "RE: Budget")
    assert "Thanks!" in reply["body"]["content"] and reply["conversationId"] == received["conversationId"]
    assert megan_client.post(f"/me/messages/{received['id']}/replyAll", {"comment": "All"}).status == 202
    sent = body(megan_client.get("/me/mailFolders/sentitems/messages", query={"$top": "50"}))["value"]
    reply_all = next(m for m in sent if "All" in m["body"]["content"])
    assert [r["emailAddress"]["address"] for r in reply_all["toRecipients"]] == ["adele@contoso.example"]
    assert [r["emailAddress"]["address"] for r in reply_all["ccRecipients"]] == ["someone@elsewhere.example"]
    created = megan_client.post(f"/me/messages/{received['id']}/createReply", {})
    assert created.status == 201 and body(created)["isDraft"] and body(created)["subject"] == "RE: Budget"
    sent_message = inbox(client)[0]
    assert client.post(f"/me/messages/{sent_message['id']}/send").status == 400  # not a draft


def test_attachments_add_list_get_value_and_size_limit(client):
    draft = body(client.post("/me/messages", DRAFT))
    content = b"hello attachment"
    added = client.post(f"/me/messages/{draft['id']}/attachments", {
        "@odata.type": "#microsoft.graph.fileAttachment", "name": "hello.txt", "contentType": "text/plain",
        "contentBytes": base64.b64encode(content).decode()})
    assert added.status == 201
    attachment = body(added)
    assert attachment["size"] == len(content) and attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
    listed = body(client.get(f"/me/messages/{draft['id']}/attachments"))["value"]
    assert [a["name"] for a in listed] == ["hello.txt"]
    assert base64.b64decode(listed[0]["contentBytes"]) == content
    raw = client.get(f"/me/messages/{draft['id']}/attachments/{attachment['id']}/$value")
    assert raw.body == content and raw.headers["Content-Type"] == "text/plain"
    assert body(client.get(f"/me/messages/{draft['id']}"))["hasAttachments"] is True
    expanded = body(client.get(f"/me/messages/{draft['id']}",
                               query={"$expand": "attachments", "$select": "subject"}))
    assert [a["name"] for a in expanded["attachments"]] == ["hello.txt"] and expanded["subject"] == "Budget"
    big = base64.b64encode(b"x" * (3 * 1024 * 1024 + 1)).decode()
    too_big = client.post(f"/me/messages/{draft['id']}/attachments", {"name": "big.bin", "contentBytes": big})
    assert too_big.status == 413
    assert client.delete(f"/me/messages/{draft['id']}/attachments/{attachment['id']}").status == 204
    assert body(client.get(f"/me/messages/{draft['id']}"))["hasAttachments"] is False


def test_upload_session_in_chunks(client):
    draft = body(client.post("/me/messages", DRAFT))
    data = bytes(range(256)) * (5 * 4096)  # 5 MB
    session = client.post(f"/me/messages/{draft['id']}/attachments/createUploadSession", {
        "AttachmentItem": {"attachmentType": "file", "name": "big.bin", "size": len(data)}})
    assert session.status == 201
    url = body(session)["uploadUrl"]
    assert url.startswith("https://127.0.0.1:4443/v1.0/")
    path = url[len("https://127.0.0.1:4443"):]
    anonymous = client.as_(None)
    chunk = 4 * 1024 * 1024 - 327680
    out_of_order = anonymous.request("PUT", path, body=data[10:20],
                                     headers={"Content-Range": f"bytes 10-19/{len(data)}"})
    assert out_of_order.status == 416
    start = 0
    while start < len(data):
        end = min(start + chunk, len(data)) - 1
        answer = anonymous.request("PUT", path, body=data[start:end + 1],
                                   headers={"Content-Range": f"bytes {start}-{end}/{len(data)}"})
        start = end + 1
        if start < len(data):
            assert answer.status == 200 and body(answer)["nextExpectedRanges"] == [f"{start}-"]
    assert answer.status == 201 and "attachments(" in answer.headers["Location"]
    listed = body(client.get(f"/me/messages/{draft['id']}/attachments"))["value"]
    value = client.get(f"/me/messages/{draft['id']}/attachments/{listed[0]['id']}/$value")
    assert value.body == data
    repeated = anonymous.request("PUT", path, body=data[-10:],
                                 headers={"Content-Range": f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"})
    assert repeated.status == 201 and repeated.headers["Location"] == answer.headers["Location"]
    assert len(body(client.get(f"/me/messages/{draft['id']}/attachments"))["value"]) == 1
    assert anonymous.request("PUT", path, body=b"x", headers={"Content-Range": "bytes 0-0/1"}).status == 416
    assert client.delete(path).status == 401  # the upload URL is pre-authenticated: no bearer token on it
    assert anonymous.delete(path).status == 204
    assert anonymous.request("PUT", path, body=b"x", headers={"Content-Range": "bytes 0-0/1"}).status == 404


def test_upload_session_rules_as_documented(client):
    """3 MB minimum, 4 MB per PUT at most, no Authorization header on the upload URL."""
    draft = body(client.post("/me/messages", DRAFT))
    small = client.post(f"/me/messages/{draft['id']}/attachments/createUploadSession", {
        "AttachmentItem": {"attachmentType": "file", "name": "small.bin", "size": 1024}})
    assert small.status == 400
    assert body(small)["error"]["code"] == "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize"
    size = 7 * 1024 * 1024
    session = body(client.post(f"/me/messages/{draft['id']}/attachments/createUploadSession", {
        "AttachmentItem": {"attachmentType": "file", "name": "big.bin", "size": size}}))
    assert session["nextExpectedRanges"] == ["0-"]
    path = session["uploadUrl"][len("https://127.0.0.1:4443"):]
    six = 6 * 1024 * 1024
    too_big = client.as_(None).request("PUT", path, body=b"a" * six,
                                       headers={"Content-Range": f"bytes 0-{six - 1}/{size}"})
    assert too_big.status == 413
    with_token = client.request("PUT", path, body=b"a" * 10, headers={"Content-Range": f"bytes 0-9/{size}"})
    assert with_token.status == 401 and "innerError" in body(with_token)["error"]


def test_folders_create_rename_children_hidden_delete(client):
    created = client.post("/me/mailFolders", {"displayName": "Projects"})
    assert created.status == 201
    folder = body(created)
    assert client.post("/me/mailFolders", {"displayName": "projects"}).status == 409
    child = body(client.post(f"/me/mailFolders/{folder['id']}/childFolders", {"displayName": "2026"}))
    hidden = body(client.post(f"/me/mailFolders/{folder['id']}/childFolders",
                              {"displayName": "Secret", "isHidden": True}))
    children = body(client.get(f"/me/mailFolders/{folder['id']}/childFolders"))["value"]
    assert [f["displayName"] for f in children] == ["2026"]
    with_hidden = body(client.get(f"/me/mailFolders/{folder['id']}/childFolders",
                                  query={"includeHiddenFolders": "true"}))["value"]
    assert {f["id"] for f in with_hidden} == {child["id"], hidden["id"]}
    nested = client.get(f"/me/mailFolders/{folder['id']}/childFolders/{child['id']}")
    assert body(nested)["parentFolderId"] == folder["id"]
    renamed = body(client.patch(f"/me/mailFolders/{folder['id']}", {"displayName": "Work"}))
    assert renamed["displayName"] == "Work" and renamed["childFolderCount"] == 2
    assert client.patch("/me/mailFolders/inbox", {"displayName": "x"}).status == 400
    message = body(client.post(f"/me/mailFolders/{child['id']}/messages", DRAFT))
    assert body(client.get(f"/me/mailFolders/{folder['id']}/childFolders/{child['id']}/messages"))["value"][0][
        "id"] == message["id"]
    assert client.delete(f"/me/mailFolders/{folder['id']}").status == 204
    assert client.get(f"/me/mailFolders/{child['id']}").status == 404
    assert client.get(f"/me/messages/{message['id']}").status == 404
    refused = client.delete("/me/mailFolders/inbox")
    assert body(refused)["error"]["code"] == "ErrorDeleteDistinguishedFolder"


def test_well_known_names_are_ids(client):
    for name in ("inbox", "drafts", "sentitems", "deleteditems", "junkemail", "archive", "outbox", "INBOX"):
        assert client.get(f"/me/mailFolders/{name}").status == 200, name
    inbox_folder = body(client.get("/me/mailFolders/inbox"))
    assert body(client.get(f"/me/mailFolders/{inbox_folder['id']}"))["displayName"] == "Inbox"


def test_seed_messages_for_benchmarks(api, client):
    ids = api.seed_messages("adele@contoso.example", 250, folder="archive")
    assert len(ids) == 250 == len(set(ids))
    folder = body(client.get("/me/mailFolders/archive"))
    assert folder["totalItemCount"] == 250
    page = body(client.get("/me/mailFolders/archive/messages", query={"$top": "1000"}))
    assert len(page["value"]) == 250


def test_concurrent_senders_lose_no_message(client, api, directory, counts):
    from concurrent.futures import ThreadPoolExecutor

    senders = [u for u in directory.users if not u.shared]

    def send(index):
        sender = senders[index % len(senders)]
        answer = client.as_(token(sender)).post("/me/sendMail", {"message": {
            "subject": f"Parallel {index}", "toRecipients": [{"emailAddress": {"address": "lynne@contoso.example"}}]}})
        return answer.status

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(send, range(80))) == {202}
    assert counts["sendMail"] == 80
    lynne = client.as_(token(directory.user("lynne@contoso.example")))
    page = body(lynne.get("/me/mailFolders/inbox/messages",
                          query={"$filter": "startswith(subject,'Parallel ')", "$count": "true", "$top": "1"}))
    assert page["@odata.count"] == 80


def test_forward_create_forward_and_permanent_delete(client, megan):
    message = inbox(client)[0]  # has an attachment
    forward = client.post(f"/me/mailFolders/inbox/messages/{message['id']}/forward", {
        "comment": "FYI", "toRecipients": [{"emailAddress": {"address": "megan@contoso.example"}}]})
    assert forward.status == 202
    received = next(m for m in inbox(client.as_(token(megan))) if m["subject"] == f"FW: {message['subject']}")
    assert received["hasAttachments"] and "FYI" in received["body"]["content"]
    draft = body(client.post(f"/me/messages/{message['id']}/createForward", {}))
    assert draft["isDraft"] and draft["subject"].startswith("FW: ") and draft["hasAttachments"]
    assert client.post(f"/me/messages/{draft['id']}/permanentDelete").status == 204
    assert client.get(f"/me/messages/{draft['id']}").status == 404


def test_patch_body_updates_preview_and_flag_keeps_dates(client):
    draft = body(client.post("/me/messages", DRAFT))
    updated = body(client.patch(f"/me/messages/{draft['id']}", {
        "body": {"contentType": "text", "content": "New   text\nhere"},
        "flag": {"flagStatus": "flagged", "dueDateTime": {"dateTime": "2030-01-01T00:00:00", "timeZone": "UTC"}}}))
    assert updated["bodyPreview"] == "New text here"
    assert updated["flag"]["flagStatus"] == "flagged" and "dueDateTime" in updated["flag"]
    assert updated["changeKey"] != draft["changeKey"]
    for bad in ({"isRead": "yes"}, {"importance": "urgent"}, {"toRecipients": [{"address": "x"}]}, {"flag": "on"}):
        assert client.patch(f"/me/messages/{draft['id']}", bad).status == 400, bad


def test_folder_hidden_flag_and_unknown_property(client):
    folder = body(client.post("/me/mailFolders", {"displayName": "Quiet"}))
    assert body(client.patch(f"/me/mailFolders/{folder['id']}", {"isHidden": True}))["isHidden"] is True
    names = [f["displayName"] for f in body(client.get("/me/mailFolders", query={"$top": "50"}))["value"]]
    assert "Quiet" not in names
    hidden = body(client.get("/me/mailFolders", query={"$top": "50", "includeHiddenFolders": "true"}))["value"]
    assert "Quiet" in [f["displayName"] for f in hidden]
    assert client.patch(f"/me/mailFolders/{folder['id']}", {"colour": "red"}).status == 400
    assert client.get("/me/mailFolders/nope").status == 404
