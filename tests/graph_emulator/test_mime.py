"""Messages to and from MIME with the standard library."""

from __future__ import annotations

import base64
import email
from email import policy

import pytest

from netkit_msal.emulator._graph._mime import decode_base64_mime, html_to_text, message_to_mime, mime_to_message

MESSAGE = {
    "subject": "Figures für Q3",
    "from": {"emailAddress": {"name": "Megan Bowen", "address": "megan@contoso.example"}},
    "sender": {"emailAddress": {"name": "Megan Bowen", "address": "megan@contoso.example"}},
    "toRecipients": [{"emailAddress": {"name": "Adele Vance", "address": "adele@contoso.example"}}],
    "ccRecipients": [{"emailAddress": {"name": "", "address": "alex@contoso.example"}}],
    "bccRecipients": [], "replyTo": [],
    "sentDateTime": "2026-01-05T10:00:00Z",
    "internetMessageId": "<abc@contoso.example>",
    "importance": "high",
    "body": {"contentType": "html", "content": "<p>Hello <b>Adele</b></p><p>See attached.</p>"},
}
ATTACHMENTS = [{"name": "figures.csv", "contentType": "text/csv", "_bytes": b"a,b\n1,2\n", "isInline": False,
                "contentId": None}]


def test_round_trip_keeps_headers_body_and_attachments():
    raw = message_to_mime(MESSAGE, ATTACHMENTS)
    assert b"\r\n" in raw
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Figures für Q3"
    assert parsed["Message-ID"] == "<abc@contoso.example>"
    message, attachments = mime_to_message(raw)
    assert message["subject"] == MESSAGE["subject"]
    assert message["from"]["emailAddress"]["address"] == "megan@contoso.example"
    assert [r["emailAddress"]["address"] for r in message["ccRecipients"]] == ["alex@contoso.example"]
    assert message["body"]["contentType"] == "html" and "<b>Adele</b>" in message["body"]["content"]
    assert message["importance"] == "high"
    assert message["internetMessageId"] == "<abc@contoso.example>"
    assert attachments == [{"name": "figures.csv", "contentType": "text/csv", "isInline": False,
                            "contentId": None, "_bytes": b"a,b\n1,2\n"}]


def test_plain_text_mime_gives_a_text_body():
    raw = b"From: a@x.example\r\nTo: b@y.example\r\nSubject: Hi\r\n\r\nJust text.\r\n"
    message, attachments = mime_to_message(raw)
    assert message["body"] == {"contentType": "text", "content": "Just text.\n"}
    assert attachments == []


def test_base64_body_decoding():
    assert decode_base64_mime(base64.b64encode(b"Subject: x\r\n\r\nbody") + b"\n") == b"Subject: x\r\n\r\nbody"
    for bad in (b"", b"not base64 !!!"):
        with pytest.raises(ValueError):
            decode_base64_mime(bad)


def test_html_to_text():
    assert html_to_text("<html><head><style>p{}</style></head><body><p>One &amp; two</p>three<br>four</body>"
                        "</html>") == "One & two\nthree\nfour"
