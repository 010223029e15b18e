"""Graph's query rules as Graph answers them: unknown properties, declared ones, InefficientFilter, text booleans."""

from __future__ import annotations

import pytest
from graph_emu_support import body

EVENT = {"subject": "Rules", "start": {"dateTime": "2031-03-03T10:00:00", "timeZone": "UTC"},
         "end": {"dateTime": "2031-03-03T11:00:00", "timeZone": "UTC"}}


@pytest.mark.parametrize("option", ["$select", "$filter", "$orderby"])
def test_unknown_message_property_is_refused_as_graph_does(client, option):
    value = {"$select": "bogus", "$filter": "bogus eq 'x'", "$orderby": "bogus desc"}[option]
    answer = client.get("/me/messages", query={option: value})
    error = body(answer)["error"]
    assert answer.status == 400 and error["code"] == "RequestBroker--ParseUri"
    assert error["message"] == "Could not find a property named 'bogus' on type 'microsoft.graph.message'."


def test_unknown_nested_and_event_properties_are_refused(client):
    nested = client.get("/me/messages", query={"$filter": "from/emailAddress/bogus eq 'x'"})
    assert nested.status == 400 and "named 'bogus'" in body(nested)["error"]["message"]
    assert client.get("/me/events", query={"$filter": "nothing eq 1"}).status == 400
    lambda_ok = client.get("/me/messages", query={
        "$filter": "toRecipients/any(r: r/emailAddress/address eq 'adele@contoso.example')"})
    assert lambda_ok.status == 200


def test_every_declared_property_can_be_selected(client):
    message = body(client.get("/me/messages", query={"$top": "1"}))["value"][0]
    picked = body(client.get(f"/me/messages/{message['id']}",
                             query={"$select": "uniqueBody,internetMessageHeaders,conversationIndex"}))
    assert picked["uniqueBody"] == message["body"] and picked["internetMessageHeaders"] == []
    assert picked["conversationIndex"] == message["conversationIndex"]
    event = body(client.post("/me/events", EVENT))
    chosen = body(client.get(f"/me/events/{event['id']}", query={"$select": "originalStart,transactionId"}))
    assert set(chosen) - {"@odata.context", "@odata.etag"} == {"id", "originalStart", "transactionId"}
    users = body(client.get("/users", query={"$select": "displayName,proxyAddresses"}))["value"]
    assert users and all(set(u) == {"displayName", "proxyAddresses"} for u in users)


def test_filter_with_orderby_follows_outlooks_rule(client):
    refused = client.get("/me/messages", query={"$filter": "isRead eq false", "$orderby": "receivedDateTime desc"})
    assert refused.status == 400
    assert body(refused)["error"] == {**body(refused)["error"], "code": "InefficientFilter",
                                      "message": "The restriction or sort order is too complex for this operation."}
    accepted = client.get("/me/messages", query={
        "$filter": "receivedDateTime ge 2000-01-01T00:00:00Z and isRead eq false", "$orderby": "receivedDateTime desc"})
    assert accepted.status == 200 and body(accepted)["value"]


def test_booleans_sent_as_text_are_read_as_booleans(client):
    message = body(client.get("/me/messages", query={"$top": "1"}))["value"][0]
    assert body(client.patch(f"/me/messages/{message['id']}", {"isRead": "True"}))["isRead"] is True
    assert body(client.patch(f"/me/messages/{message['id']}", {"isRead": "false"}))["isRead"] is False
    assert client.patch(f"/me/messages/{message['id']}", {"isRead": "maybe"}).status == 400
    event = body(client.post("/me/events", {**EVENT, "isReminderOn": "false"}))
    assert event["isReminderOn"] is False
