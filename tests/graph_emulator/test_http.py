"""The Graph emulator over real HTTPS: plain ``requests`` and the real msgraph-sdk (kiota)."""

from __future__ import annotations

import asyncio
import base64
import ssl
import time

import pytest
import requests

from netkit_msal.emulator._directory import GRAPH, SECRET_CLIENT_ID

SCOPES = tuple(f"{GRAPH}/{s}" for s in ("User.Read", "User.ReadBasic.All", "Mail.ReadWrite", "Mail.Send",
                                        "Calendars.ReadWrite"))


@pytest.fixture(scope="module")
def session(emulator):
    http = requests.Session()
    http.trust_env = False
    http.verify = emulator.ca_file
    yield http
    http.close()


def auth(emulator, user="adele", scopes=SCOPES, **kwargs):
    upn = f"{user}@{emulator.domain}" if user else None
    return {"Authorization": f"Bearer {emulator.mint_access_token(upn, scopes=scopes, **kwargs)}"}


def test_me_users_paging_and_errors_over_https(emulator, session):
    me = session.get(f"{emulator.graph_url}/me", headers=auth(emulator))
    assert me.status_code == 200 and me.json()["userPrincipalName"] == f"adele@{emulator.domain}"
    names, url = [], f"{emulator.graph_url}/users?$top=2&$select=displayName"
    while url:
        page = session.get(url, headers=auth(emulator)).json()
        names += [u["displayName"] for u in page["value"]]
        url = page.get("@odata.nextLink")
        assert url is None or url.startswith(emulator.graph_url)
    assert len(names) == len(emulator.users)
    missing = session.get(f"{emulator.graph_url}/me")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.headers["Content-Type"].startswith("application/json")
    expired = session.get(f"{emulator.graph_url}/me", headers=auth(emulator, lifetime=-600))
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    outlook = session.get(f"{emulator.graph_url}/me",
                          headers=auth(emulator, scopes=("https://outlook.office.com/IMAP.AccessAsUser.All",)))
    assert outlook.status_code == 401
    forbidden = session.get(f"{emulator.graph_url}/me/messages", headers=auth(emulator, scopes=(f"{GRAPH}/User.Read",)))
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "ErrorAccessDenied"


def test_app_only_token_over_https(emulator, session):
    headers = auth(emulator, None, scopes=(f"{GRAPH}/.default",), client_id=SECRET_CLIENT_ID)
    assert session.get(f"{emulator.graph_url}/me", headers=headers).status_code == 400
    inbox = session.get(f"{emulator.graph_url}/users/megan@{emulator.domain}/mailFolders/inbox/messages",
                        headers=headers)
    assert inbox.status_code == 200 and inbox.json()["value"]


def test_send_mail_counts_and_upload_url_needs_no_token(emulator, session):
    before = emulator.stats().get("sendMail", 0)
    sent = session.post(f"{emulator.graph_url}/me/sendMail", headers=auth(emulator), json={"message": {
        "subject": "Over HTTPS", "body": {"contentType": "text", "content": "hi"},
        "toRecipients": [{"emailAddress": {"address": f"lynne@{emulator.domain}"}}]}})
    assert sent.status_code == 202
    assert emulator.stats()["sendMail"] == before + 1
    lynne = auth(emulator, "lynne")
    found = session.get(f"{emulator.graph_url}/me/mailFolders/inbox/messages", headers=lynne,
                        params={"$filter": "subject eq 'Over HTTPS'"}).json()["value"]
    assert len(found) == 1
    draft = session.post(f"{emulator.graph_url}/me/messages", headers=auth(emulator),
                         json={"subject": "With upload"}).json()
    data = b"z" * (3 * 1024 * 1024 + 10)
    upload = session.post(f"{emulator.graph_url}/me/messages/{draft['id']}/attachments/createUploadSession",
                          headers=auth(emulator),
                          json={"AttachmentItem": {"attachmentType": "file", "name": "z.bin", "size": len(data)}})
    url = upload.json()["uploadUrl"]
    assert url.startswith(emulator.graph_url)
    half = len(data) // 2
    first = session.put(url, data=data[:half], headers={"Content-Range": f"bytes 0-{half - 1}/{len(data)}"})
    assert first.status_code == 200
    last = session.put(url, data=data[half:], headers={"Content-Range": f"bytes {half}-{len(data) - 1}/{len(data)}"})
    assert last.status_code == 201
    attachments = session.get(f"{emulator.graph_url}/me/messages/{draft['id']}/attachments",
                              headers=auth(emulator)).json()["value"]
    assert base64.b64decode(attachments[0]["contentBytes"]) == data


class _MintedCredential:
    """A tiny azure-core TokenCredential returning emulator-minted tokens (the product one comes later)."""

    def __init__(self, emulator, user):
        self.emulator = emulator
        self.user = user

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        if self.user:
            minted = self.emulator.mint_access_token(self.user, scopes=SCOPES)
        else:
            minted = self.emulator.mint_access_token(None, scopes=scopes, client_id=SECRET_CLIENT_ID)
        return AccessToken(minted, int(time.time()) + 3600)


def _graph_client(emulator, user):
    import httpx
    import msgraph.graph_request_adapter
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    scopes = [f"{GRAPH}/.default"]
    provider = AzureIdentityAuthenticationProvider(_MintedCredential(emulator, user), scopes=scopes,
                                                   allowed_hosts=["127.0.0.1"])
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(base_url=emulator.graph_url, verify=ssl.create_default_context(
            cafile=emulator.ca_file)),
        options=msgraph.graph_request_adapter.options)
    adapter = GraphRequestAdapter(provider, client=http)
    adapter.base_url = emulator.graph_url
    return GraphServiceClient(request_adapter=adapter)


def test_msgraph_sdk_me_users_page_iterator_and_messages(emulator):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder
    from msgraph_core.tasks.page_iterator import PageIterator

    client = _graph_client(emulator, f"adele@{emulator.domain}")

    async def scenario():
        me = await client.me.get()
        assert me.user_principal_name == f"adele@{emulator.domain}"
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=2, select=["displayName", "id"])
        first = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
        assert first.odata_next_link
        names = []
        iterator = PageIterator(first, client.request_adapter)

        def collect(user):
            names.append(user.display_name)
            return True
        await iterator.iterate(collect)
        assert len(names) == len(emulator.users)
        messages = await client.me.mail_folders.by_mail_folder_id("inbox").messages.get()
        assert messages.value and messages.value[0].subject
        mime = await client.me.messages.by_message_id(messages.value[0].id).content.get()
        assert f"Subject: {messages.value[0].subject}".encode() in mime
        created = await client.me.messages.post(Message(subject="From the SDK"))
        assert created.is_draft
        await client.me.messages.by_message_id(created.id).delete()
        with pytest.raises(ODataError) as caught:
            await client.me.messages.by_message_id(created.id).get()
        assert caught.value.response_status_code == 404
        assert caught.value.error.code == "ErrorItemNotFound"

    asyncio.run(scenario())


def test_msgraph_sdk_mail_batch_calendar_and_app_only(emulator):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.recipient import Recipient
    from msgraph.generated.users.item.messages.item.move.move_post_request_body import MovePostRequestBody
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_item import BatchRequestItem

    client = _graph_client(emulator, f"diego@{emulator.domain}")
    app = _graph_client(emulator, None)
    domain = emulator.domain

    async def scenario():
        to = [Recipient(email_address=EmailAddress(address=f"alex@{domain}"))]
        await client.me.send_mail.post(SendMailPostRequestBody(message=Message(
            subject="SDK sendMail", body=ItemBody(content_type=BodyType.Html, content="<p>hi</p>"),
            to_recipients=to), save_to_sent_items=True))
        # App-only: read Alex's inbox through /users/{upn}.
        inbox = await app.users.by_user_id(f"alex@{domain}").mail_folders.by_mail_folder_id("inbox").messages.get()
        received = [m for m in inbox.value if m.subject == "SDK sendMail"]
        assert len(received) == 1 and received[0].from_.email_address.address == f"diego@{domain}"
        draft = await client.me.messages.post(Message(subject="To archive", to_recipients=to))
        moved = await client.me.messages.by_message_id(draft.id).move.post(
            MovePostRequestBody(destination_id="archive"))
        assert moved.id != draft.id
        archive = await client.me.mail_folders.by_mail_folder_id("archive").messages.get()
        assert [m.id for m in archive.value] == [moved.id]
        await client.me.messages.by_message_id(moved.id).delete()

        batch = BatchRequestContent()
        me_item = BatchRequestItem(request_information=client.me.to_get_request_information())
        folders_item = BatchRequestItem(request_information=client.me.mail_folders.to_get_request_information())
        batch.add_request(None, me_item)
        batch.add_request(None, folders_item)
        answers = await client.batch.post(batch_request_content=batch)
        assert {r.status for r in answers.responses.values()} == {200}

        paris = RequestConfiguration()
        paris.headers.add("Prefer", 'outlook.timezone="Europe/Paris"')
        event = await client.me.events.post(Event(
            subject="SDK event", start=DateTimeTimeZone(date_time="2031-05-01T10:00:00", time_zone="UTC"),
            end=DateTimeTimeZone(date_time="2031-05-01T11:00:00", time_zone="UTC")), request_configuration=paris)
        assert event.start.time_zone == "Europe/Paris" and event.start.date_time.startswith("2031-05-01T12:00")
        query = client.me.calendar_view.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time="2031-05-01T00:00:00Z", end_date_time="2031-05-02T00:00:00Z")
        view = await client.me.calendar_view.get(request_configuration=RequestConfiguration(query_parameters=query))
        assert [e.subject for e in view.value] == ["SDK event"]

    asyncio.run(scenario())


@pytest.mark.xfail(strict=True, reason="msgraph-core's LargeFileUploadTask sends the bearer token to the "
                   "pre-authenticated Outlook upload URL and cannot read Outlook's open nextExpectedRanges "
                   "('4194304-'): microsoftgraph/msgraph-sdk-python-core#691, the same failure as against Graph")
def test_msgraph_sdk_large_file_upload_task(emulator):
    import io

    from msgraph.generated.models.attachment_item import AttachmentItem
    from msgraph.generated.models.attachment_type import AttachmentType
    from msgraph.generated.models.message import Message
    from msgraph.generated.users.item.messages.item.attachments.create_upload_session.create_upload_session_post_request_body import (  # noqa: E501
        CreateUploadSessionPostRequestBody,
    )
    from msgraph_core.tasks.large_file_upload import LargeFileUploadTask

    client = _graph_client(emulator, f"megan@{emulator.domain}")
    data = bytes(range(256)) * 16384  # 4 MB

    async def scenario():
        draft = await client.me.messages.post(Message(subject="Large attachment"))
        attachments = client.me.messages.by_message_id(draft.id).attachments
        session = await attachments.create_upload_session.post(CreateUploadSessionPostRequestBody(
            attachment_item=AttachmentItem(attachment_type=AttachmentType.File, name="big.bin", size=len(data))))
        task = LargeFileUploadTask(session, client.request_adapter, io.BytesIO(data), max_chunk_size=1024 * 1024)
        await task.upload()
        listed = await attachments.get()
        assert [(a.name, a.size) for a in listed.value] == [("big.bin", len(data))]
        assert listed.value[0].content_bytes == data

    asyncio.run(scenario())


def test_persisted_mailboxes_survive_an_emulator_restart(tmp_path):
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path, persist=True) as first:
        http = requests.Session()
        http.trust_env = False
        http.verify = first.ca_file
        created = http.post(f"{first.graph_url}/me/mailFolders", headers=auth(first),
                            json={"displayName": "Kept"}).json()
        http.close()
    with Emulator(state_dir=tmp_path, persist=True) as second:
        http = requests.Session()
        http.trust_env = False
        http.verify = second.ca_file
        folder = http.get(f"{second.graph_url}/me/mailFolders/{created['id']}", headers=auth(second))
        http.close()
    assert folder.status_code == 200 and folder.json()["displayName"] == "Kept"


def test_batch_is_throttled_per_inner_request(emulator, session):
    """Graph answers a throttled $batch 200 and gives each throttled inner request its own 429 + Retry-After."""
    emulator.inject_fault("graph", status=429, count=2, retry_after=7)
    try:
        answer = session.post(f"{emulator.graph_url}/$batch", headers=auth(emulator), json={"requests": [
            {"id": str(n), "method": "GET", "url": "/me/messages?$top=1&$select=id"} for n in range(1, 5)]})
    finally:
        emulator.clear_faults()
    assert answer.status_code == 200
    statuses = {r["id"]: r for r in answer.json()["responses"]}
    throttled = [r for r in statuses.values() if r["status"] == 429]
    assert len(throttled) == 2 and all(r["headers"]["Retry-After"] == "7" for r in throttled)
    assert all(r["body"]["error"]["code"] == "TooManyRequests" for r in throttled)
    assert sorted(r["status"] for r in statuses.values()) == [200, 200, 429, 429]


def test_count_segments_answer_plain_text(emulator, session):
    messages = session.get(f"{emulator.graph_url}/me/mailFolders/inbox/messages/$count", headers=auth(emulator))
    assert messages.status_code == 200 and messages.headers["Content-Type"].startswith("text/plain")
    listed = session.get(f"{emulator.graph_url}/me/mailFolders/inbox/messages", headers=auth(emulator),
                         params={"$count": "true", "$top": "1"}).json()
    assert int(messages.text) == listed["@odata.count"]
    unread = session.get(f"{emulator.graph_url}/me/messages/$count", headers=auth(emulator),
                         params={"$filter": "isRead eq false"})
    assert unread.status_code == 200 and 0 <= int(unread.text) <= int(messages.text) + 100
    users = session.get(f"{emulator.graph_url}/users/$count", headers=auth(emulator))
    assert users.status_code == 400 and users.json()["error"]["code"] == "Request_BadRequest"
    eventual = session.get(f"{emulator.graph_url}/users/$count", headers={**auth(emulator),
                                                                          "ConsistencyLevel": "eventual"})
    assert eventual.status_code == 200 and int(eventual.text) == len(emulator.directory.users)
    entity = session.get(f"{emulator.graph_url}/me/mailFolders/inbox/$count", headers=auth(emulator))
    assert entity.status_code == 400
