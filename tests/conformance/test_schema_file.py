"""The committed schema.json is exactly what Microsoft's metadata gives, and the checker can fail."""

from __future__ import annotations

from pathlib import Path

from graph_schema_check import problems

from netkit_msal.emulator._graph import _schema_gen

METADATA = Path(__file__).with_name("graph-v1.0-metadata.xml.gz")


def test_committed_schema_matches_microsofts_metadata():
    fresh = _schema_gen.dumps(_schema_gen.generate(_schema_gen.read_metadata(METADATA)))
    committed = _schema_gen.SCHEMA_FILE.read_text("utf-8")
    assert committed == fresh, ("netkit_msal/emulator/_graph/schema.json drifted from the metadata: run "
                                "python -m netkit_msal.emulator._graph._schema_gen " + str(METADATA))


def test_checker_finds_what_the_metadata_forbids():
    assert problems({"id": "x", "subject": "s", "isRead": True}, "message") == []
    assert problems({"id": "x", "bogus": 1}, "message") == ["$: property 'bogus' is not declared on message"]
    assert problems({"isRead": "true"}, "message")
    assert problems({"importance": "urgent"}, "message")
    assert problems({"receivedDateTime": "2026-01-05 10:00"}, "message")
    assert problems({"conversationIndex": "not base64!"}, "message")
    assert problems({"toRecipients": {"emailAddress": {}}}, "message")
    assert problems({"cancelledOccurrences": None}, "event")
    assert problems({"recurrence": {"pattern": {"type": "hourly"}}}, "event")
    assert problems({"@odata.type": "#microsoft.graph.fileAttachment", "contentBytes": "AAAA"}, "fileAttachment") == []
    assert problems({"@odata.type": "#microsoft.graph.event"}, "message")
