"""The emulator's delta queries and subscriptions, read through msgraph-sdk (Microsoft's own client)
and raw HTTP: Graph's shapes and rules, independent of our notifier."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from notifier_support import WAIT, new_mail

from netkit_msal import GraphError, OAuth2Provider, run_sync


def _when(minutes: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def graph(emulator):
    provider = OAuth2Provider(emulator.params("service", cache=False))
    yield provider.graph_client()
    provider.close()


def test_message_delta_through_msgraph_sdk(emulator, office, graph):
    folder = run_sync(graph.users.by_user_id(office.user_id).mail_folders.by_mail_folder_id("inbox").get())
    delta = graph.users.by_user_id(office.user_id).mail_folders.by_mail_folder_id(folder.id).messages.delta
    first = run_sync(delta.get())
    link = first.odata_delta_link or first.odata_next_link
    while first.odata_next_link:
        first = run_sync(delta.with_url(first.odata_next_link).get())
        link = first.odata_delta_link or first.odata_next_link
    assert link and "$deltatoken=" in link
    created = new_mail(office, "delta via sdk")
    assert office.mail.delete(new_mail(office, "gone before the round")).success
    round_two = run_sync(delta.with_url(link).get())
    assert [m.id for m in round_two.value] == [created]


def test_message_delta_pages_change_types_and_removed(emulator, office):
    transport = office._transport
    base = f"/users/{office.user_id}/mailFolders/inbox/messages/delta"
    before = emulator.stats()["delta"]
    page = transport.json("GET", base, params={"$select": "id,subject"}, headers={"Prefer": "odata.maxpagesize=2"})
    assert len(page["value"]) == 2 and "@odata.nextLink" in page and "@odata.deltaLink" not in page
    assert set(page["value"][0]) == {"@odata.type", "@odata.etag", "id", "subject"}
    while "@odata.nextLink" in page:
        page = transport.json("GET", page["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"})
    links = {}
    for change in ("created", "updated", "deleted"):
        body = transport.json("GET", base, params={"changeType": change, "$select": "id"},
                              headers={"Prefer": "odata.maxpagesize=999"})
        links[change] = body["@odata.deltaLink"]
    assert emulator.stats()["delta"] > before
    kept, dropped = new_mail(office, "kept"), new_mail(office, "dropped")
    existing = next(m["id"] for m in page["value"])
    assert office.mail.update(existing, {"isRead": True}).success
    assert office.mail.delete(existing).success is True
    restored = new_mail(office, "new")
    assert office.mail.delete(dropped).success
    got = {change: transport.json("GET", link)["value"] for change, link in links.items()}
    assert [m["id"] for m in got["created"]] == [kept, restored]
    assert got["updated"] == []  # the updated message was deleted since: its net change is a deletion
    assert got["deleted"] == [{"@odata.type": "#microsoft.graph.message", "id": existing,
                               "@removed": {"reason": "deleted"}}]
    with pytest.raises(GraphError) as lost:
        transport.json("GET", base, params={"$deltatoken": "bm9wZTox"})
    assert lost.value.status == 410 and lost.value.error_code == "SyncStateNotFound"


def test_calendar_view_delta(office):
    transport = office._transport
    now = datetime.now(timezone.utc)
    window = {"startDateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "endDateTime": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    path = f"/users/{office.user_id}/calendarView/delta"
    body = transport.json("GET", path, params=window, headers={"Prefer": "odata.maxpagesize=999"})
    assert body["value"] and all(e["@odata.type"] == "#microsoft.graph.event" for e in body["value"])
    link = body["@odata.deltaLink"]
    assert "startDateTime=" in link and "endDateTime=" in link
    gone = body["value"][0]["id"]
    assert office.calendar.delete_event(gone).success
    assert transport.json("GET", link)["value"] == [
        {"@odata.type": "#microsoft.graph.event", "id": gone, "@removed": {"reason": "deleted"}}]
    with pytest.raises(GraphError) as missing:
        transport.json("GET", path)
    assert missing.value.status == 400


class _Endpoint(BaseHTTPRequestHandler):
    """A webhook that answers the handshake as told (``mode``) and records notifications."""

    mode = "echo"
    received: list = []
    arrived = threading.Event()

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        token = parse_qs(urlsplit(self.path).query).get("validationToken")
        if token:
            answer = token[0] if self.mode == "echo" else "something else"
            data = answer.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
        else:
            import json

            type(self).received.extend(json.loads(body)["value"])
            type(self).arrived.set()
            data = b""
            self.send_response(202)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def endpoint():
    _Endpoint.mode, _Endpoint.received = "echo", []
    _Endpoint.arrived = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_subscription_through_msgraph_sdk(emulator, office, graph, endpoint):
    from msgraph.generated.models.subscription import Subscription

    created = run_sync(graph.subscriptions.post(Subscription(
        change_type="created", notification_url=endpoint, resource=f"/users/{office.user_id}/messages",
        expiration_date_time=datetime.now(timezone.utc) + timedelta(hours=2), client_state="s3cret")))
    assert created.id and created.client_state == "s3cret"
    try:
        mail_id = new_mail(office, "pushed")
        assert _Endpoint.arrived.wait(WAIT)
        note = _Endpoint.received[0]
        assert note["subscriptionId"] == created.id and note["changeType"] == "created"
        assert note["clientState"] == "s3cret" and note["resourceData"]["id"] == mail_id
        assert note["resource"].endswith(f"/Messages/{mail_id}") and note["tenantId"] == emulator.tenant_id
        listed = run_sync(graph.subscriptions.get())
        assert created.id in [s.id for s in listed.value]
    finally:
        run_sync(graph.subscriptions.by_subscription_id(created.id).delete())
    assert created.id not in [s["id"] for s in emulator.subscriptions()]


def test_subscription_rules(emulator, office, endpoint):
    transport = office._transport
    body = {"changeType": "created,updated", "notificationUrl": endpoint, "expirationDateTime": _when(60),
            "resource": f"/users/{office.user_id}/mailFolders('inbox')/messages", "clientState": "x"}
    for wrong, code in (({"expirationDateTime": _when(10080 + 30)}, 400), ({"expirationDateTime": _when(-5)}, 400),
                        ({"notificationUrl": "https://hooks.example/x"}, 400), ({"changeType": "moved"}, 400),
                        ({"resource": f"/users/{office.user_id}/mailFolders('nope')/messages"}, 404),
                        ({"clientState": "x" * 129}, 400)):
        with pytest.raises(GraphError) as refused:
            transport.json("POST", "/subscriptions", json_body={**body, **wrong})
        assert refused.value.status == code, wrong
    _Endpoint.mode = "wrong"
    with pytest.raises(GraphError) as refused:
        transport.json("POST", "/subscriptions", json_body=body)
    assert refused.value.error_code == "ValidationError"
    _Endpoint.mode = "echo"
    sub = transport.json("POST", "/subscriptions", json_body=body)
    renewed = transport.json("PATCH", f"/subscriptions/{sub['id']}", json_body={"expirationDateTime": _when(10000)})
    assert renewed["expirationDateTime"] > sub["expirationDateTime"]
    emulator.advance_clock(10001 * 60)
    try:
        with pytest.raises(GraphError) as expired:
            transport.json("GET", f"/subscriptions/{sub['id']}")
        assert expired.value.status == 404
    finally:
        emulator.advance_clock(-10001 * 60)


def test_lifecycle_knob_over_the_admin_route(emulator, office, endpoint):
    import requests

    sub = office._transport.json("POST", "/subscriptions", json_body={
        "changeType": "created", "notificationUrl": endpoint, "lifecycleNotificationUrl": endpoint,
        "resource": f"/users/{office.user_id}/events", "expirationDateTime": _when(60)})
    answer = requests.post(f"{emulator.url}/_emulator/subscriptions/lifecycle", verify=emulator.ca_file,
                           json={"event": "subscriptionRemoved", "subscriptionId": sub["id"]}, timeout=WAIT)
    assert answer.json() == {"subscriptions": [sub["id"]]}
    assert _Endpoint.arrived.wait(WAIT)
    assert _Endpoint.received[0]["lifecycleEvent"] == "subscriptionRemoved"
    assert sub["id"] not in [s["id"] for s in emulator.subscriptions()]
    bad = requests.post(f"{emulator.url}/_emulator/subscriptions/lifecycle", verify=emulator.ca_file,
                        json={"event": "exploded"}, timeout=WAIT)
    assert bad.status_code == 400
