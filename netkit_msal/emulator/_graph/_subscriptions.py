"""Change notifications: ``/subscriptions`` and the delivery of notifications, as Graph does them.

``POST /subscriptions`` validates the notification URL first (Graph's handshake: a POST to
``notificationUrl?validationToken=...`` answered 200, ``text/plain``, with the token, within 10 s;
the lifecycle URL too when it differs), checks ``expirationDateTime`` against the limit for messages
and events (10080 minutes) and ``clientState`` (128 characters at most), and echoes ``clientState``.
``PATCH`` renews (the same limit), ``DELETE`` removes, ``GET`` lists or reads the app's own,
``POST /subscriptions/{id}/reauthorize`` answers 204.

Supported resources: ``{me | users/{id}}/messages``, ``.../mailFolders('{id}')/messages`` (or
``/mailFolders/{id}/messages``), ``.../events``, ``.../calendar/events``, ``.../calendars/{id}/events``.

Delivery: every message or event the store reports changed (created, updated, deleted) becomes a
notification for each matching subscription (``resource``, ``resourceData.id``, ``clientState``...),
POSTed as ``{"value": [...]}`` by one delivery thread, in order, queued notifications for one URL
batched in one POST. Lifecycle notifications (``lifecycleEvent``) come from the admin knob
(``Emulator.send_lifecycle_event``). Expiry follows the emulator's clock: an expired subscription
is removed and gets nothing. Where it knowingly differs from Graph: notification URLs must be
loopback (http or https) and Graph requires https; a failed delivery is logged and dropped (Graph
retries for up to 4 hours).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import queue
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from .._http import Request, Response
from ._auth import is_app_only, require
from ._core import GraphFail, bad_request
from ._odata import parse_datetime
from ._store import Mailbox

logger = logging.getLogger("netkit_msal.emulator")

#: Longest subscription for Outlook messages and events, in minutes (Graph's documented limit).
MAX_MINUTES = 10080
VALIDATION_TIMEOUT = 10.0
DELIVERY_TIMEOUT = 10.0
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
_CHANGES = ("created", "updated", "deleted")
_PRINCIPAL = r"^/?(?:me|users/(?P<user>[^/]+))"
_KEY = r"(?:\('(?P<key>[^']+)'\)|/(?P<key2>[^/()]+))"
_RESOURCES = [
    (re.compile(_PRINCIPAL + r"/messages$", re.I), "message", None),
    (re.compile(_PRINCIPAL + r"/mailFolders" + _KEY + r"/messages$", re.I), "message", "folder"),
    (re.compile(_PRINCIPAL + r"/events$", re.I), "event", None),
    (re.compile(_PRINCIPAL + r"/calendar/events$", re.I), "event", "default"),
    (re.compile(_PRINCIPAL + r"/calendars" + _KEY + r"/events$", re.I), "event", "calendar"),
]


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post(url: str, body: bytes, content_type: str) -> tuple[int, bytes, str]:
    """POST to a loopback URL with a bound time; (status, body, content type)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=DELIVERY_TIMEOUT, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=DELIVERY_TIMEOUT)
    try:
        connection.request("POST", target, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.read(1 << 16), response.getheader("Content-Type") or ""
    finally:
        connection.close()


class Subscriptions:
    """Graph's subscriptions for one emulator: the ``/subscriptions`` routes and the delivery thread."""

    def __init__(self, api: Any, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.clock = clock
        self.items: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._thread: Optional[threading.Thread] = None
        self._closed = threading.Event()
        #: While true, change notifications are dropped, as Graph drops what it could not deliver
        #: (then ``send_lifecycle_event("missed")`` tells the subscriber).
        self.dropping = False

    # -- routes ------------------------------------------------------------------------------
    def handle(self, req: Request, claims: dict, parts: list[str]) -> Response:
        """``/subscriptions[/{id}[/reauthorize]]`` (``parts`` after ``subscriptions``)."""
        self.api.count("subscriptions")
        self._purge()
        app = str(claims.get("appid") or claims.get("azp") or "")
        if not parts:
            if req.method == "POST":
                return self._create(req, claims, app)
            if req.method == "GET":
                with self._lock:
                    mine = [self._render(s) for s in self.items.values() if s["applicationId"] == app]
                return Response.json({"@odata.context": f"{req.base_url}/v1.0/$metadata#subscriptions",
                                      "value": mine})
            raise GraphFail(405, "Request_BadRequest", "The HTTP method is not allowed for /subscriptions.")
        with self._lock:
            sub = self.items.get(parts[0])
        if sub is None or sub["applicationId"] != app:
            raise GraphFail(404, "ResourceNotFound", f"Subscription '{parts[0]}' was not found.")
        if parts[1:] == ["reauthorize"] and req.method == "POST":
            return Response.empty()
        if parts[1:]:
            raise bad_request(f"Resource not found for the segment '{parts[-1]}'.")
        if req.method == "GET":
            return self._entity(req, sub)
        if req.method == "DELETE":
            with self._lock:
                self.items.pop(sub["id"], None)
            return Response.empty()
        if req.method == "PATCH":
            data = _body(req)
            if "expirationDateTime" in data:
                expires = self._expiration(data["expirationDateTime"])
                with self._lock:
                    sub["_expires"] = expires
                    sub["expirationDateTime"] = _iso(expires)
            return self._entity(req, sub)
        raise GraphFail(405, "Request_BadRequest", "The HTTP method is not allowed for this subscription.")

    def _create(self, req: Request, claims: dict, app: str) -> Response:
        data = _body(req)
        for key in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise bad_request(f"The '{key}' property is required.", "InvalidRequest")
        changes = [c.strip() for c in data["changeType"].split(",") if c.strip()]
        if not changes or any(c not in _CHANGES for c in changes):
            raise bad_request(f"Invalid changeType '{data['changeType']}': use created, updated and/or deleted.",
                              "InvalidRequest")
        client_state = data.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
            raise bad_request("clientState must be text of at most 128 characters.", "InvalidRequest")
        urls = [data["notificationUrl"]]
        lifecycle = data.get("lifecycleNotificationUrl")
        if lifecycle is not None:
            if not isinstance(lifecycle, str) or not lifecycle:
                raise bad_request("lifecycleNotificationUrl must be a URL.", "InvalidRequest")
            urls.append(lifecycle)
        for url in urls:
            if not is_loopback_url(url):
                raise bad_request("Subscription validation request failed. The emulator delivers notifications "
                                  f"to loopback http(s) URLs only, not {url!r}.", "ValidationError")
        kind, user_id, container = self._resource(data["resource"], claims)
        expires = self._expiration(data["expirationDateTime"])
        for url in dict.fromkeys(urls):
            self._validate(url)
        sub_id = str(uuid.uuid4())
        sub = {
            "id": sub_id, "resource": data["resource"], "applicationId": app, "changeType": ",".join(changes),
            "clientState": client_state, "notificationUrl": data["notificationUrl"],
            "lifecycleNotificationUrl": lifecycle, "expirationDateTime": _iso(expires),
            "creatorId": str(claims.get("oid") or app), "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2", "encryptionCertificate": None, "encryptionCertificateId": None,
            "notificationQueryOptions": None, "notificationUrlAppId": None,
            "_expires": expires, "_kind": kind, "_user": user_id, "_container": container, "_changes": changes,
        }
        with self._lock:
            self.items[sub_id] = sub
        self.api.count("subscriptions.created")
        return self._entity(req, sub, 201)

    def _resource(self, resource: str, claims: dict) -> tuple[str, str, Optional[str]]:
        """(kind, user id, folder or calendar id or None) of a resource; 400/403/404 as Graph answers."""
        for pattern, kind, scope in _RESOURCES:  # noqa: B007 - kind and scope are read after the break
            found = pattern.match(resource.strip())
            if found:
                break
        else:
            raise bad_request(f"Resource '{resource}' is not supported for subscriptions here: use messages or "
                              "events of a mailbox, a mail folder or a calendar.", "InvalidRequest")
        directory = self.api.directory
        key = found.group("user")
        if key is None:
            if is_app_only(claims):
                raise bad_request("/me request is only valid with delegated authentication flow.")
            user = directory.user(str(claims.get("oid") or ""))
        else:
            user = directory.user(key)
        if user is None:
            raise GraphFail(404, "ResourceNotFound", f"The user in resource '{resource}' does not exist.")
        require(claims, "mail.read" if kind == "message" else "cal.read",
                own=not is_app_only(claims) and user.id == claims.get("oid"))
        container: Optional[str] = None
        if scope is not None:
            item_key = found.groupdict().get("key") or found.groupdict().get("key2") or ""
            with self.api.lock:
                box = self.api.store.mailbox(user)
                if scope == "folder":
                    item = box.folder(item_key)
                elif scope == "default":
                    item = box.default_calendar()
                else:
                    item = box.calendar(item_key)
            if item is None:
                raise GraphFail(404, "ResourceNotFound", f"The {'folder' if scope == 'folder' else 'calendar'} "
                                f"in resource '{resource}' does not exist.")
            container = item["id"]
        return kind, user.id, container

    def _expiration(self, value: Any) -> float:
        try:
            expires = parse_datetime(str(value)).timestamp()
        except ValueError:
            raise bad_request(f"Invalid expirationDateTime '{value}'.", "InvalidRequest") from None
        now = self.clock()
        if expires <= now:
            raise bad_request("Subscription expiration must be in the future.", "InvalidRequest")
        if expires - now > MAX_MINUTES * 60 + 60:
            raise bad_request(f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
                              "InvalidRequest")
        return expires

    def _validate(self, url: str) -> None:
        """Graph's handshake: the endpoint must echo the token, as text/plain, within 10 s."""
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        target = url + ("&" if "?" in url else "?") + "validationToken=" + quote(token, safe="")
        try:
            status, body, content_type = post(target, b"", "text/plain; charset=utf-8")
        except (OSError, http.client.HTTPException) as error:
            raise bad_request(f"Subscription validation request failed. Notification endpoint must respond with "
                              f"200 OK to validation request ({type(error).__name__}).", "ValidationError") from None
        echoed = body.decode("utf-8", "replace")
        if status != 200 or not content_type.lower().startswith("text/plain") or echoed != token:
            raise bad_request("Subscription validation request failed. Response must exactly match validationToken "
                              f"query parameter (got HTTP {status}, {content_type or 'no content type'}).",
                              "ValidationError")

    def _render(self, sub: dict) -> dict:
        return {k: v for k, v in sub.items() if not k.startswith("_")}

    def _entity(self, req: Request, sub: dict, status: int = 200) -> Response:
        return Response.json({"@odata.context": f"{req.base_url}/v1.0/$metadata#subscriptions/$entity",
                              **self._render(sub)}, status)

    def _purge(self) -> None:
        now = self.clock()
        with self._lock:
            for sub_id in [s["id"] for s in self.items.values() if s["_expires"] <= now]:
                del self.items[sub_id]

    # -- delivery ----------------------------------------------------------------------------
    def changed(self, box: Mailbox, kind: str, change: str, record: dict) -> None:
        """Store listener: a notification for each subscription that matches the change."""
        if not self.items or self.dropping:
            return
        container = record.get("parentFolderId") if kind == "message" else record.get("_calendarId")
        now = self.clock()
        entity = "Messages" if kind == "message" else "Events"
        path = f"Users/{box.user_id}/{entity}/{record.get('id')}"
        with self._lock:
            matching = [s for s in self.items.values()
                        if s["_kind"] == kind and s["_user"] == box.user_id and change in s["_changes"]
                        and s["_container"] in (None, container) and s["_expires"] > now]
            for sub in matching:
                self._enqueue(sub["notificationUrl"], {
                    "subscriptionId": sub["id"], "subscriptionExpirationDateTime": sub["expirationDateTime"],
                    "changeType": change, "resource": path, "clientState": sub["clientState"],
                    "tenantId": self.api.directory.tenant_id,
                    "resourceData": {"@odata.type": f"#Microsoft.Graph.{entity[:-1]}", "@odata.id": path,
                                     "@odata.etag": f'W/"{record.get("changeKey", "")}"', "id": record.get("id")},
                })

    def send_lifecycle_event(self, event: str, subscription_id: Optional[str] = None) -> list[str]:
        """Send a lifecycle notification to one subscription or every one with a lifecycle URL.

        ``subscriptionRemoved`` also removes the subscription, as Graph has. Returns the ids told.
        """
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {', '.join(LIFECYCLE_EVENTS)}, not {event!r}")
        self._purge()
        with self._lock:
            if subscription_id is not None and subscription_id not in self.items:
                raise KeyError(f"no subscription {subscription_id!r}")
            targets = [s for s in self.items.values()
                       if s["lifecycleNotificationUrl"] and subscription_id in (None, s["id"])]
            for sub in targets:
                if event == "subscriptionRemoved":
                    del self.items[sub["id"]]
                self._enqueue(sub["lifecycleNotificationUrl"], {
                    "subscriptionId": sub["id"], "subscriptionExpirationDateTime": sub["expirationDateTime"],
                    "tenantId": self.api.directory.tenant_id, "clientState": sub["clientState"],
                    "lifecycleEvent": event})
        return [s["id"] for s in targets]

    def _enqueue(self, url: str, item: dict) -> None:
        self._queue.put((url, item))
        if self._thread is None and not self._closed.is_set():
            self._thread = threading.Thread(target=self._deliver, name="emulator-graph-notifications", daemon=True)
            self._thread.start()

    def _deliver(self) -> None:
        while not self._closed.is_set():
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            groups: list[tuple[str, list[dict]]] = []
            for url, item in batch:  # consecutive items for one URL go in one POST, order kept
                if groups and groups[-1][0] == url:
                    groups[-1][1].append(item)
                else:
                    groups.append((url, [item]))
            for url, items in groups:
                self.api.count("notifications")
                try:
                    status, _, _ = post(url, json.dumps({"value": items}).encode(), "application/json")
                except (OSError, http.client.HTTPException) as error:
                    logger.info("emulator: notification to %s failed: %s", urlsplit(url).netloc, type(error).__name__)
                    continue
                if status >= 300:
                    logger.info("emulator: notification to %s answered HTTP %d", urlsplit(url).netloc, status)

    def close(self) -> None:
        """Stop the delivery thread (it starts again with the next notification)."""
        self._closed.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=DELIVERY_TIMEOUT + 1)
        self._closed.clear()

    def active(self) -> list[dict]:
        """The subscriptions in force, as Graph renders them."""
        self._purge()
        with self._lock:
            return [self._render(s) for s in self.items.values()]


def _body(req: Request) -> dict:
    try:
        data = req.json()
    except ValueError:
        raise bad_request("Unable to read JSON request payload.", "BadRequest") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data

