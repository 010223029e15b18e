"""Push mode of the notifiers: a Graph subscription and the local receiver it posts to.

``start()`` listens (``_receiver``), records delta links (for resynchronising later), then creates
the subscription: notification and lifecycle URL ``{endPoint}/4dnk-graph-notification?state=...``,
a fresh ``clientState`` secret, ``expirationDateTime`` ``lifetime`` minutes ahead (4D: 4200). A
monitor thread renews it ``renew_margin`` seconds before it expires (4D: 3600) and handles Graph's
lifecycle notifications: ``reauthorizationRequired`` renews, ``subscriptionRemoved`` subscribes
again and resynchronises, ``missed`` resynchronises; each scheduled renewal resynchronises too.
Resynchronising runs a delta round and reports what the notifications did not already report (a
notification arriving just after the round may be reported twice). ``stop()`` deletes the subscription.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional
from urllib.parse import quote, urlsplit

from .._exceptions import GraphError, NetKitError
from .._iso import parse_iso_datetime
from ._notifier_pull import DeltaStreams, Emit
from ._transport import Transport

if TYPE_CHECKING:
    from ._receiver import Receiver

log = logging.getLogger("netkit_msal.office365.notifier")

#: The receiver's path under ``endPoint`` (4D's).
PATH = "/4dnk-graph-notification"


def iso_in(seconds: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> float:
    """Epoch seconds of Graph's ``2026-01-05T10:00:00.0000000Z``; 0 when unreadable."""
    try:
        parsed = parse_iso_datetime(text)
    except ValueError:
        return 0.0
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


class PushSource:
    """One Graph subscription for one notifier, kept alive until ``stop()``."""

    def __init__(self, transport: Transport, resource: str, changes: tuple[str, ...], end_point: str,
                 listen: tuple[str, int], streams: DeltaStreams, emit: Emit, *, lifetime: int,
                 renew_margin: float) -> None:
        self._transport = transport
        self._resource = resource
        self._changes = changes
        self._end_point = end_point.rstrip("/")
        self._listen = listen
        self._streams = streams
        self._emit = emit
        self._lifetime = lifetime
        self._renew_margin = renew_margin
        self._state = secrets.token_hex(16)
        self._receiver: Optional[Receiver] = None
        self._subscription: Optional[str] = None
        self._expires = 0.0
        self.expiration = ""
        self._inbox: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._seen: set[tuple[str, str]] = set()
        self._seen_lock = threading.Lock()
        #: Renewals and re-subscriptions done, lifecycle events and renewals handled (for the curious).
        self.renewals = 0
        self.handled: list[str] = []

    @property
    def end_point(self) -> str:
        return self._end_point

    @property
    def notification_url(self) -> str:
        return f"{self._end_point}{PATH}?state={self._state}"

    def start(self) -> None:
        from . import _receiver  # http.server, only once a push notifier starts

        self._receiver = _receiver.acquire(*self._listen, PATH)
        parts = urlsplit(self._end_point)
        if parts.port == 0:  # "http://127.0.0.1:0": the port the receiver got
            host = parts.netloc.rsplit(":", 1)[0]
            self._end_point = parts._replace(netloc=f"{host}:{self._receiver.address[1]}").geturl()
        try:
            self._streams.start()
            self._subscribe()
        except BaseException:
            self._release()
            raise
        self._thread = threading.Thread(target=self._monitor, name="netkit-notifier-push", daemon=True)
        self._thread.start()

    def _subscribe(self) -> None:
        assert self._receiver is not None
        secret = secrets.token_urlsafe(32)
        self._receiver.register(self._state, secret, self._incoming)
        body = {"changeType": ",".join(self._changes), "notificationUrl": self.notification_url,
                "lifecycleNotificationUrl": self.notification_url, "resource": self._resource,
                "expirationDateTime": iso_in(self._lifetime * 60), "clientState": secret}
        answer = self._transport.json("POST", "/subscriptions", json_body=body) or {}
        self._subscription = str(answer.get("id") or "")
        self._set_expiration(str(answer.get("expirationDateTime") or ""))

    def _set_expiration(self, text: str) -> None:
        self.expiration = text
        self._expires = parse_iso(text) if text else time.time() + self._lifetime * 60

    def _incoming(self, item: dict) -> None:
        """From the receiver, which checked the subscription's own clientState (a fresh secret per
        subscription): queue lifecycle events, emit changes."""
        event = item.get("lifecycleEvent")
        if event:
            self._inbox.put((str(event), item.get("subscriptionId")))
            return
        change = item.get("changeType")
        item_id = (item.get("resourceData") or {}).get("id")
        if change in self._changes and isinstance(item_id, str) and not self._stop.is_set():
            with self._seen_lock:
                self._seen.add((change, item_id))
            self._emit(change, [item_id])

    def _monitor(self) -> None:
        while not self._stop.is_set():
            wait = max(0.0, self._expires - self._renew_margin - time.time())
            try:
                event, about = self._inbox.get(timeout=min(wait, 300.0))
            except queue.Empty:
                event, about = "renewal" if time.time() >= self._expires - self._renew_margin else None, None
            if event is None or self._stop.is_set():
                continue
            if about is not None and about != self._subscription:
                log.debug("notifier: lifecycle event %s for an older subscription ignored", event)
                continue
            try:
                self._handle(event)
            except NetKitError as error:
                log.warning("notifier: handling %s failed: %s", event, error.message)
                if event in ("renewal", "reauthorizationRequired"):
                    self._stop.wait(min(60.0, max(1.0, self._expires - time.time()) / 10))

    def _handle(self, event: str) -> None:
        if event in ("renewal", "reauthorizationRequired"):
            self._renew()
            if event == "renewal":  # catch up on what Graph never delivered (and bound the ids kept)
                self._resync()
            self.handled.append(event)
        elif event == "subscriptionRemoved":
            self._subscribe()
            self.renewals += 1
            self._resync()
            self.handled.append(event)
        elif event == "missed":
            self._resync()
            self.handled.append(event)
        else:
            log.info("notifier: lifecycle event %r ignored", event)

    def _renew(self) -> None:
        path = f"/subscriptions/{quote(str(self._subscription), safe='')}"
        try:
            answer = self._transport.json("PATCH", path, json_body={
                "expirationDateTime": iso_in(self._lifetime * 60)}) or {}
        except GraphError as error:
            if error.status != 404:
                raise
            self._subscribe()  # gone (expired or removed): subscribe again and catch up
            self.renewals += 1
            self._resync()
            return
        self._set_expiration(str(answer.get("expirationDateTime") or ""))
        self.renewals += 1

    def _resync(self) -> None:
        """A delta round; reports what notifications did not already report."""
        rounds = self._streams.poll()
        with self._seen_lock:
            seen, self._seen = self._seen, set()
        for change, ids in rounds:
            fresh = [i for i in ids if (change, i) not in seen]
            if fresh and not self._stop.is_set():
                self._emit(change, fresh)

    def stop(self) -> None:
        """Stop the monitor, delete the subscription, stop listening; raises ``NetKitError`` if the
        deletion failed (the rest is done anyway)."""
        self._stop.set()
        self._inbox.put(("stop", None))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        error: Optional[NetKitError] = None
        if self._subscription:
            try:
                self._transport.request("DELETE", f"/subscriptions/{quote(self._subscription, safe='')}")
            except GraphError as failed:
                if failed.status != 404:
                    error = failed
            except NetKitError as failed:
                error = failed
            self._subscription = None
        self._release()
        self.expiration = ""
        if error is not None:
            raise error

    def _release(self) -> None:
        from . import _receiver

        if self._receiver is not None:
            self._receiver.unregister(self._state)
            _receiver.release(self._receiver)
            self._receiver = None
