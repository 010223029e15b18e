"""OData query options as pure functions: $filter, $orderby, $select, $search."""

from __future__ import annotations

import pytest

from netkit_msal.emulator._graph._odata import (
    ODataError,
    compile_filter,
    get_path,
    order_by,
    parse_directory_search,
    parse_message_search,
    parse_orderby,
    parse_select,
    select,
)

MESSAGES = [
    {"id": "1", "subject": "Quarterly figures", "isRead": False, "importance": "high",
     "receivedDateTime": "2026-01-05T10:00:00Z", "categories": ["Red category"],
     "from": {"emailAddress": {"name": "Megan Bowen", "address": "megan@contoso.example"}},
     "toRecipients": [{"emailAddress": {"address": "adele@contoso.example"}}],
     "body": {"contentType": "html", "content": "<b>Sales</b> are up"}},
    {"id": "2", "subject": "Lunch", "isRead": True, "importance": "normal",
     "receivedDateTime": "2026-01-06T12:30:00Z", "categories": [],
     "from": {"emailAddress": {"name": "Alex Wilber", "address": "alex@contoso.example"}},
     "toRecipients": [{"emailAddress": {"address": "adele@contoso.example"}},
                      {"emailAddress": {"address": "lynne@contoso.example"}}],
     "body": {"contentType": "text", "content": "Noon at the cafeteria"}},
    {"id": "3", "subject": "O'Brien's report", "isRead": False, "importance": "low",
     "receivedDateTime": "2026-01-04T08:00:00Z", "categories": ["Blue category"], "from": None,
     "toRecipients": [], "body": {"contentType": "text", "content": ""}},
]


def ids(expression: str) -> list[str]:
    predicate = compile_filter(expression)
    return [m["id"] for m in MESSAGES if predicate(m)]


@pytest.mark.parametrize("expression, expected", [
    ("isRead eq false", ["1", "3"]),
    ("isRead ne false", ["2"]),
    ("subject eq 'lunch'", ["2"]),  # string comparison is case-insensitive, as Graph's
    ("startswith(subject, 'Quart')", ["1"]),
    ("endswith(subject,'report')", ["3"]),
    ("contains(subject, 'fig')", ["1"]),
    ("from/emailAddress/address eq 'megan@contoso.example'", ["1"]),
    ("isRead eq false and importance eq 'high'", ["1"]),
    ("importance eq 'low' or importance eq 'high'", ["1", "3"]),
    ("not (isRead eq true) and (importance eq 'low' or startswith(subject,'Q'))", ["1", "3"]),
    ("receivedDateTime ge 2026-01-05T00:00:00Z", ["1", "2"]),
    ("receivedDateTime lt 2026-01-05", ["3"]),
    ("subject eq 'O''Brien''s report'", ["3"]),
    ("categories/any(c:c eq 'Red category')", ["1"]),
    ("toRecipients/any(r: r/emailAddress/address eq 'lynne@contoso.example')", ["2"]),
    ("from eq null", ["3"]),
])
def test_filter(expression, expected):
    assert ids(expression) == expected


@pytest.mark.parametrize("expression", [
    "", "isRead eq", "isRead equals false", "startswith(subject 'x')", "(isRead eq true", "subject eq 'open",
    "isRead eq true extra",
])
def test_filter_syntax_errors_are_odata_errors(expression):
    with pytest.raises(ODataError):
        compile_filter(expression)


def test_orderby_multiple_keys_and_nested_paths():
    assert [m["id"] for m in order_by(MESSAGES, parse_orderby("isRead, receivedDateTime desc"))] == ["1", "3", "2"]
    ordered = order_by(MESSAGES, parse_orderby("from/emailAddress/name asc"))
    assert [m["id"] for m in ordered] == ["3", "2", "1"]  # missing values first when ascending
    with pytest.raises(ODataError):
        parse_orderby("subject sideways")


def test_select_keeps_id_and_annotations_and_rejects_unknown_names():
    names = parse_select("Subject, isRead", ("id", "subject", "isRead"), "message")
    assert names == ["subject", "isRead"]
    item = {"@odata.etag": "W/1", "id": "1", "subject": "s", "isRead": True, "body": {}}
    assert select(item, names) == {"@odata.etag": "W/1", "id": "1", "subject": "s", "isRead": True}
    assert select(item, None) is item
    with pytest.raises(ODataError, match="nope"):
        parse_select("subject,nope", ("id", "subject"), "message")


def test_get_path_is_case_insensitive():
    assert get_path(MESSAGES[0], "From/EmailAddress/Address") == "megan@contoso.example"
    assert get_path(MESSAGES[2], "from/emailAddress/address") is None


def test_directory_search_matches_word_prefixes_with_and_or():
    users = [{"displayName": "Adele Vance", "mail": "adele@contoso.example"},
             {"displayName": "Megan Bowen", "mail": "megan@contoso.example"}]
    found = parse_directory_search('"displayName:bow"')
    assert [u["displayName"] for u in users if found(u)] == ["Megan Bowen"]
    either = parse_directory_search('"displayName:adele" OR "mail:megan"')
    assert sum(map(either, users)) == 2
    both = parse_directory_search('"displayName:adele" AND "mail:megan"')
    assert sum(map(both, users)) == 0
    with pytest.raises(ODataError):
        parse_directory_search("displayName:adele")  # clauses must be quoted


def test_message_search_terms_fields_and_phrases():
    def hits(text):
        test = parse_message_search(text)
        return [m["id"] for m in MESSAGES if test(m)]

    assert hits('"sales"') == ["1"]
    assert hits("from:alex") == ["2"]
    assert hits('subject:"report"') == ["3"]
    assert hits("noon cafeteria") == ["2"]
    assert hits("noon figures") == []
