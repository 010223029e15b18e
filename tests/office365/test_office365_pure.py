"""Pure parts of Office365, no network: options, status/list objects, retry policy, mail conversions."""

from __future__ import annotations

import base64
import sys
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from netkit_msal import ConfigError, GraphError
from netkit_msal.office365._convert import (
    OutAttachment,
    graph_message_in,
    graph_to_jmap,
    jmap_to_graph,
    mime_bytes,
    mime_to_graph,
)
from netkit_msal.office365._options import ODATA_CHECKS, odata_query, segment, validate
from netkit_msal.office365._status import GraphList, Status
from netkit_msal.office365._times import instant
from netkit_msal.office365._transport import (
    RetryPolicy,
    Transport,
    encode_query,
    graph_error,
    parse_retry_after,
    retry_delay,
)

# --- options -----------------------------------------------------------------------------------

def test_unknown_option_names_key_and_close_spelling():
    with pytest.raises(ConfigError) as caught:
        validate({"fodlerId": "inbox"}, {"folderId": str, **ODATA_CHECKS}, "get_mails options")
    assert caught.value.key == "fodlerId" and caught.value.suggestion == "folderId"
    assert "fodlerId" in str(caught.value) and "folderId" in str(caught.value)


def test_case_slip_gets_suggestion():
    with pytest.raises(ConfigError) as caught:
        validate({"orderby": "x"}, ODATA_CHECKS, "o")
    assert caught.value.suggestion == "orderBy"


@pytest.mark.parametrize("options, key", [
    ({"top": 0}, "top"), ({"top": True}, "top"), ({"top": "five"}, "top"), ({"top": "-5"}, "top"),
    ({"select": 3}, "select"), ({"filter": 1}, "filter"),
])
def test_wrong_types_name_key(options, key):
    with pytest.raises(ConfigError) as caught:
        validate(options, ODATA_CHECKS, "o")
    assert caught.value.key == key


def test_options_must_be_mapping():
    with pytest.raises(ConfigError):
        validate(["top"], ODATA_CHECKS, "o")


def test_odata_query_quotes_search_and_joins_select():
    values = validate({"search": "hello", "select": ["id", "subject"], "top": 5, "orderBy": "subject desc"},
                      ODATA_CHECKS, "o")
    assert odata_query(values) == {"$search": '"hello"', "$select": "id,subject", "$top": "5",
                                   "$orderby": "subject desc"}
    assert odata_query(validate({"search": '"a:b"'}, ODATA_CHECKS, "o")) == {"$search": '"a:b"'}


def test_segment_refuses_empty_and_quotes_slash():
    for empty in ("", "   "):
        with pytest.raises(ConfigError) as caught:
            segment("eventId", empty)
        assert caught.value.key == "eventId"
    with pytest.raises(ConfigError):
        segment("eventId", None)
    assert segment("id", "a/b=") == "a%2Fb%3D"


def test_top_as_numeric_text_is_a_number():
    """4D sends ``top`` given as text as is; ported code may write "50"."""
    assert validate({"top": " 50 "}, ODATA_CHECKS, "o") == {"top": 50}


def test_instant():
    aware = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert instant("d", aware) == "2026-01-02T01:04:05.000000Z"
    with pytest.raises(ConfigError):
        instant("d", "yesterday")
    assert instant("d", "2026-01-02T00:00:00Z") == "2026-01-02T00:00:00Z"


def test_encode_query_keeps_dollar_and_spaces_as_percent20():
    assert encode_query({"$filter": "isRead eq false"}) == "$filter=isRead%20eq%20false"


# --- status and list objects -------------------------------------------------------------------

def test_status_item_and_attribute_access():
    status = Status.ok(202, "Mail sent", id="x")
    assert status.success and status["success"] and status.statusText == status.status_text == "Mail sent"
    assert status.id == "x" and status.errors == [] and status.status == 202
    status.raise_for_status()
    failed = Status.failed(GraphError("Graph GET /me: HTTP 404", status=404, error_code="ErrorItemNotFound"))
    assert not failed.success and failed.status == 404
    assert failed.errors[0]["errorCode"] == "ErrorItemNotFound" and failed.errors[0]["componentSignature"] == "4DNK"
    with pytest.raises(GraphError):
        failed.raise_for_status()
    with pytest.raises(AttributeError):
        failed.nothing  # noqa: B018


def _pages(n_pages: int, per_page: int, fail_on=None):
    calls = []

    def fetch(url):
        calls.append(url)
        index = int(url.rsplit("=", 1)[1])
        if fail_on is not None and index == fail_on:
            raise GraphError("Graph GET /x: HTTP 503", status=503)
        items = [f"item{index}-{i}" for i in range(per_page)]
        return items, (f"page={index + 1}" if index + 1 < n_pages else None)

    return fetch, calls


def test_list_paging_forward_back_and_iteration():
    fetch, calls = _pages(3, 2)
    pages = GraphList(fetch, "page=0", "mails")
    assert pages.page == 1 and not pages.isLastPage and pages.mails == pages["mails"] == ["item0-0", "item0-1"]
    assert pages.previous() is False
    assert pages.next() and pages.page == 2 and pages.mails[0] == "item1-0"
    assert pages.next() and pages.isLastPage and pages["isLastPage"]
    assert pages.next() is False and pages.page == 3
    assert pages.previous() and pages.page == 2 and pages.mails[0] == "item1-0"
    assert pages.previous() and pages.page == 1
    everything = [f"item{p}-{i}" for p in range(3) for i in range(2)]
    assert list(pages) == everything and pages.page == 3 and pages.success
    calls.clear()
    assert list(pages) == everything and calls[0] == "page=0"  # again, from page 1


def test_list_next_failure_is_reported_and_iteration_raises():
    fetch, _ = _pages(3, 1, fail_on=1)
    pages = GraphList(fetch, "page=0", "users")
    assert pages.next() is False
    assert not pages.success and pages.page == 1 and pages.errors[0]["status"] == 503
    with pytest.raises(GraphError):
        list(pages)


def test_list_first_page_failure_raises():
    fetch, _ = _pages(3, 1, fail_on=0)
    with pytest.raises(GraphError):
        GraphList(fetch, "page=0", "events")


# --- retry policy ------------------------------------------------------------------------------

POLICY = RetryPolicy(max_retries=3, max_wait=10.0, backoff=0.5)


def test_throttling_is_retried_for_every_method_honouring_retry_after():
    assert retry_delay(POLICY, 0, 429, {"Retry-After": "2"}, idempotent=False) == 2.0
    assert retry_delay(POLICY, 0, 503, {}, idempotent=False) == 0.5
    assert retry_delay(POLICY, 2, 503, {}, idempotent=True) == 2.0


def test_retries_are_bounded_in_count_and_total_wait():
    assert retry_delay(POLICY, 3, 429, {"Retry-After": "1"}, idempotent=True) is None
    assert retry_delay(POLICY, 0, 429, {"Retry-After": "11"}, idempotent=True) is None
    assert retry_delay(POLICY, 1, 429, {"Retry-After": "3"}, idempotent=True, waited=8.0) is None


def test_post_not_retried_when_it_may_have_been_accepted():
    assert retry_delay(POLICY, 0, None, {}, idempotent=False) is None
    assert retry_delay(POLICY, 0, 500, {}, idempotent=False) is None
    assert retry_delay(POLICY, 0, 504, {}, idempotent=False) is None
    assert retry_delay(POLICY, 0, None, {}, idempotent=True) == 0.5
    assert retry_delay(POLICY, 0, 502, {}, idempotent=True) == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_client_errors_not_retried(status):
    assert retry_delay(POLICY, 0, status, {"Retry-After": "1"}, idempotent=True) is None


def test_parse_retry_after():
    now = 1_000_000.0
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(format_datetime(datetime.fromtimestamp(now + 5, timezone.utc), usegmt=True), now) == 5.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None
    assert parse_retry_after("-4") == 0.0


def test_graph_error_from_body():
    body = b'{"error": {"code": "ErrorItemNotFound", "message": "Not found.", "innerError": {"request-id": "r1"}}}'
    error = graph_error("GET", "/v1.0/me/messages/x", 404, body, {})
    assert error.status == 404 and error.error_code == "ErrorItemNotFound" and error.request_id == "r1"
    assert "ErrorItemNotFound" in str(error) and "/me/messages/x" in str(error)
    error = graph_error("GET", "/v1.0/me", 429, b"not json", {"Retry-After": "7", "request-id": "r2"})
    assert error.retry_after == 7.0 and error.request_id == "r2" and error.error_code is None


# --- mail types --------------------------------------------------------------------------------

def test_graph_message_validated_deeply():
    message = {"subject": "s", "toRecipients": [{"emailAddress": {"address": "a@b.c"}}],
               "attachments": [{"name": "f.txt", "contentBytes": b"hi"}]}
    out, attachments = graph_message_in(message)
    assert "attachments" not in out and attachments[0].content == b"hi"
    with pytest.raises(ConfigError) as caught:
        graph_message_in({"subjet": "x"})
    assert caught.value.suggestion == "subject"
    with pytest.raises(ConfigError) as caught:
        graph_message_in({"toRecipients": [{"emailAddress": {"adress": "a@b.c"}}]})
    assert caught.value.key == "adress" and caught.value.suggestion == "address"
    with pytest.raises(ConfigError):
        graph_message_in({"toRecipients": "a@b.c"})
    with pytest.raises(ConfigError):
        graph_message_in({"body": {"contentType": "text", "contnet": "x"}})
    with pytest.raises(ConfigError):
        graph_message_in({"attachments": [{"name": "x", "contentBytes": "***"}]})


def test_jmap_to_graph_as_4d_writes_it():
    mail = {
        "from": "Adele Vance <adele@contoso.example>",
        "to": "megan@contoso.example, Alex <alex@contoso.example>",
        "cc": [{"name": "Diego", "email": "diego@contoso.example"}],
        "subject": "Hello",
        "textBody": [{"partId": "p1", "type": "text/plain"}],
        "bodyValues": {"p1": {"value": "Hi there"}},
        "keywords": {"$seen": True, "$flagged": True},
        "headers": [{"name": "X-Tag", "value": "1"}, {"name": "Importance", "value": "High"}],
        "attachments": [{"name": "a.txt", "type": "text/plain", "content": "abc", "disposition": "inline",
                         "cid": "c1"}],
    }
    message, attachments = jmap_to_graph(mail)
    assert message["from"] == {"emailAddress": {"address": "adele@contoso.example", "name": "Adele Vance"}}
    assert [r["emailAddress"]["address"] for r in message["toRecipients"]] == \
        ["megan@contoso.example", "alex@contoso.example"]
    assert message["ccRecipients"][0]["emailAddress"]["name"] == "Diego"
    assert message["body"] == {"contentType": "text", "content": "Hi there"}
    assert message["isRead"] is True and message["flag"] == {"flagStatus": "flagged"}
    assert message["importance"] == "high" and message["internetMessageHeaders"] == [{"name": "X-Tag", "value": "1"}]
    assert attachments == [OutAttachment("a.txt", "text/plain", b"abc", "c1", True)]
    html, _ = jmap_to_graph({"htmlBody": "<b>x</b>", "textBody": "x"})
    assert html["body"] == {"contentType": "html", "content": "<b>x</b>"}


@pytest.mark.parametrize("mail, key", [
    ({"subjcet": "x"}, "subjcet"),
    ({"to": {"mail": "a@b"}}, "mail"),
    ({"textBody": [{"partId": "9"}], "bodyValues": {}}, "mail.bodyValues"),
    ({"headers": [{"name": "Received", "value": "x"}]}, "mail.headers"),
    ({"attachments": [{"name": "a"}]}, "mail.attachments[0].content"),
    ({"attachments": [{"name": "a", "contnet": b"x"}]}, "contnet"),
])
def test_jmap_bad_input_names_key(mail, key):
    with pytest.raises(ConfigError) as caught:
        jmap_to_graph(mail)
    assert caught.value.key == key


def test_graph_to_jmap():
    message = {
        "id": "m1", "conversationId": "c1", "parentFolderId": "inbox", "isRead": False, "isDraft": False,
        "subject": "S", "receivedDateTime": "2026-01-01T00:00:00Z", "hasAttachments": True,
        "from": {"emailAddress": {"address": "a@b.c", "name": "A"}},
        "toRecipients": [{"emailAddress": {"address": "d@e.f", "name": "D"}}],
        "body": {"contentType": "html", "content": "<p>x</p>"}, "internetMessageId": "<id@x>",
    }
    mail = graph_to_jmap(message)
    assert mail["from"] == [{"name": "A", "email": "a@b.c"}] and mail["to"] == [{"name": "D", "email": "d@e.f"}]
    assert mail["keywords"] == {"$seen": False, "$draft": False} and mail["mailboxIds"] == {"inbox": True}
    assert mail["htmlBody"] == [{"partId": "1", "type": "text/html"}] and mail["bodyValues"]["1"]["value"] == "<p>x</p>"
    assert mail["messageId"] == ["<id@x>"] and mail["hasAttachment"] is True and mail["threadId"] == "c1"
    # a JMAP mail read can be written back
    back, _ = jmap_to_graph(mail)
    assert back["subject"] == "S" and back["body"]["contentType"] == "html"
    assert graph_to_jmap({"id": "x", "subject": "only"}) == {"id": "x", "subject": "only"}


def test_mime_in_and_out():
    msg = EmailMessage()
    msg["From"] = "Adele <adele@contoso.example>"
    msg["To"] = "megan@contoso.example, alex@contoso.example"
    msg["Subject"] = "Report"
    msg.set_content("plain")
    msg.add_alternative("<p>html</p>", subtype="html")
    msg.add_attachment(b"\x00\x01" * 10, maintype="application", subtype="octet-stream", filename="d.bin")
    data = mime_bytes(msg)
    assert mime_bytes(data) == data and mime_bytes(data.decode()) == data
    message, attachments = mime_to_graph(data)
    assert message["subject"] == "Report" and message["from"]["emailAddress"]["address"] == "adele@contoso.example"
    assert len(message["toRecipients"]) == 2 and message["body"]["contentType"] == "html"
    assert attachments[0].name == "d.bin" and attachments[0].content == b"\x00\x01" * 10
    for bad in (b"  ", 42):
        with pytest.raises(ConfigError):
            mime_bytes(bad)


def test_mime_from_without_address_is_left_for_graph_to_fill():
    """'From: ' (or Sender: <>) is left out, so Graph sends as the mailbox's user."""
    message, _ = mime_to_graph(b"From: \r\nSender: <>\r\nTo: a@b.example, \r\nSubject: s\r\n\r\nhi")
    assert "from" not in message and "sender" not in message
    assert message["toRecipients"] == [{"emailAddress": {"address": "a@b.example"}}]


def test_mime_header_the_stdlib_cannot_parse_is_read_as_raw_text():
    """Up to 3.12 CPython's address parser raises IndexError on 'From: <': the header stays readable as its
    raw text. From 3.13 on the parser reads it as an empty address, '<>'. Either way Graph gets no sender."""
    from netkit_msal.office365._convert import parse_mime

    data = b"From: <\r\nTo: <\r\nSubject: s\r\n\r\nhi"
    parsed = parse_mime(data)["From"]
    if sys.version_info >= (3, 13):
        assert parsed == "<>" and [(a.username, a.domain) for a in parsed.addresses] == [("", "")]
    else:
        assert parsed == "<" and type(parsed) is str
    message, _ = mime_to_graph(data)
    assert "from" not in message and message["subject"] == "s" and message["body"]["content"] == "hi"


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "idna"],
                         ids=["unknown", "not-a-text-codec", "codec-without-replace"])
def test_mime_body_in_a_charset_python_cannot_decode_is_read_as_utf8(charset):
    data = f"Content-Type: text/plain; charset={charset}\r\n\r\n".encode() + "h\u00e9 ".encode() + b"\xff"
    message, _ = mime_to_graph(data)
    assert message["body"] == {"contentType": "text", "content": "h\u00e9 \ufffd"}


def test_mime_that_cannot_be_made_bytes_names_the_mail():
    unencodable = EmailMessage()
    unencodable.set_payload("h\u00e9")  # non-ASCII text with no charset: as_bytes() raises UnicodeEncodeError
    for mail in (unencodable, "Subject: \ud800\r\n\r\nx"):  # and text holding a lone surrogate
        with pytest.raises(ConfigError) as caught:
            mime_bytes(mail, "reply")
        assert caught.value.key == "reply"
    assert mime_bytes("Subject: \udce9\r\n\r\nx") == b"Subject: \xe9\r\n\r\nx"  # surrogateescape'd bytes


def test_jmap_attachment_path_that_is_not_a_path_names_it():
    for path in ("bad\x00path", "bad\ud800path"):
        with pytest.raises(ConfigError) as caught:
            jmap_to_graph({"attachments": [{"name": "ok", "content": b"x"}, {"name": "a", "path": path}]})
        assert caught.value.key == "mail.attachments[1].path"
        assert "mail.attachments[1].path" in str(caught.value)


def test_out_attachment_json():
    item = OutAttachment("a.txt", "text/plain", b"abc", "cid1", True).graph_json()
    assert base64.b64decode(item["contentBytes"]) == b"abc" and item["contentId"] == "cid1"


# --- bad input, property based: only ConfigError, always naming a key ---------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.binary(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_keys = st.sampled_from(["from", "to", "cc", "subject", "textBody", "htmlBody", "bodyValues", "attachments",
                         "start", "end",
                         "keywords", "headers", "toRecipients", "body", "subjet", "folderId", "top", "select",
                         "search", "filter", "orderBy", "x"]) | st.text(max_size=6)
_objects = st.dictionaries(_keys, _values, max_size=4)


@settings(max_examples=300, deadline=None)
@given(_objects)
def test_mail_objects_fail_only_with_config_error_naming_a_key(obj):
    from netkit_msal.office365._calendar import _event_in

    for convert in (jmap_to_graph, graph_message_in, _event_in):
        try:
            convert(obj)
        except ConfigError as error:
            assert error.key is not None
    try:
        validate(obj, ODATA_CHECKS, "o")
    except ConfigError as error:
        assert error.key is not None


def test_graph_scopes_choice():
    from types import SimpleNamespace

    from netkit_msal._scopes import graph_scopes

    graph = "https://graph.microsoft.com"

    def config(permission, *scopes):
        return SimpleNamespace(permission=permission, graph_resource=graph, scope=scopes)

    assert graph_scopes(config("service", f"{graph}/.default")) == [f"{graph}/.default"]
    # delegated: the configured Graph scopes, i.e. the token the user signed in for
    assert graph_scopes(config("signedIn", f"{graph}/Mail.Read", f"{graph}/User.Read")) == [
        f"{graph}/Mail.Read", f"{graph}/User.Read"]
    mixed = config("signedIn", f"{graph}/Mail.Read", "https://outlook.office.com/IMAP.AccessAsUser.All")
    assert graph_scopes(mixed) == [f"{graph}/Mail.Read"]
    assert graph_scopes(config("signedIn", "https://outlook.office.com/SMTP.Send")) == [f"{graph}/.default"]


# --- $batch orchestration (the HTTP part is exercised against the emulator) ---------------------

class _NoSession:
    def http_session(self):
        return None


class ScriptedBatch(Transport):
    """A Transport whose one-batch call is scripted: item i answers 429 ``throttled[i]`` times."""

    def __init__(self, throttled: dict[int, int], policy: RetryPolicy) -> None:
        super().__init__(_NoSession(), "https://graph.test/v1.0", None, retry=policy, workers=2)
        self.throttled = throttled
        self.sent: list[list[int]] = []

    def _batch_once(self, chunk, requests_):
        self.sent.append(list(chunk))
        answers = []
        for index in chunk:
            if self.throttled.get(index, 0) > 0:
                self.throttled[index] -= 1
                answers.append({"status": 429, "headers": {"Retry-After": "0"}, "body": None})
            else:
                answers.append({"status": 200, "headers": {}, "body": {"n": index}})
        return answers


def test_batch_splits_by_20_keeps_order_and_resends_only_throttled_items():
    transport = ScriptedBatch({3: 1, 41: 2}, RetryPolicy(max_retries=3, max_wait=1.0, backoff=0.0))
    answers = transport.batch([{"method": "GET", "url": f"/me/messages/{i}"} for i in range(45)])
    assert [a["body"]["n"] for a in answers] == list(range(45))
    assert sorted(len(chunk) for chunk in transport.sent[:3]) == [5, 20, 20]
    assert transport.sent[3:] == [[3, 41], [41]]
    transport.close()


def test_batch_gives_up_within_the_policy():
    transport = ScriptedBatch({0: 10}, RetryPolicy(max_retries=2, max_wait=1.0, backoff=0.0))
    answers = transport.batch([{"method": "GET", "url": "/me"}, {"method": "GET", "url": "/me/messages"}])
    assert answers[0]["status"] == 429 and answers[1]["status"] == 200
    assert len(transport.sent) == 3


@pytest.mark.parametrize("message, key", [
    ({"subject": b""}, "mail.subject"),
    ({"flag": {"flagStatus": {1, 2}}}, "mail.flag.flagStatus"),
    ({"categories": ["a", object()]}, "mail.categories[1]"),
])
def test_graph_fields_that_are_not_json_name_their_key(message, key):
    from netkit_msal.office365._convert import graph_message_in

    with pytest.raises(ConfigError) as caught:
        graph_message_in(message)
    assert caught.value.key == key and key in str(caught.value)
