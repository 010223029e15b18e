"""Pull mode of the notifiers: Graph delta queries, polled every ``timer`` seconds.

Mail: one delta stream per change type (``changeType=created|updated|deleted``), as 4D does, so the
kind of each change is Graph's own word. Events: Graph's calendar view delta has no ``changeType``,
so one stream and the set of ids already seen tell a creation (new id) from a modification (known
id); ``@removed`` is a deletion. The first round only records where the streams stand (and, for
events, the ids): nothing that exists already is reported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from .._exceptions import GraphError, NetKitError
from ._transport import Transport

log = logging.getLogger("netkit_msal.office365.notifier")

#: Graph's change types, in the order a round reports them.
CHANGES = ("created", "updated", "deleted")
#: Page size asked of Graph for delta rounds (its maximum for messages is 1000).
PAGE = {"Prefer": "odata.maxpagesize=999"}
#: How far ahead the calendar view of an event notifier reaches (4D: one year).
EVENT_WINDOW = timedelta(days=365)

Emit = Callable[[str, list[str]], None]


class DeltaStreams:
    """The delta links of one notifier and what a round of them reports."""

    def __init__(self, transport: Transport, kind: str, path: str, changes: tuple[str, ...]) -> None:
        self._transport = transport
        self._kind = kind  # "mail" or "event"
        self._path = path
        self._changes = changes
        self._links: dict[str, str] = {}
        self._known: set[str] = set()

    def start(self) -> None:
        """The first round: record the delta links (and event ids); raises ``NetKitError``."""
        if self._kind == "mail":
            for change in self._changes:
                self._links[change] = self._initial({"changeType": change, "$select": "id"})
        else:
            now = datetime.now(timezone.utc).replace(microsecond=0)
            window = {"startDateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "endDateTime": (now + EVENT_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")}
            self._known.clear()
            self._links["all"] = self._initial(window, self._known)

    def _initial(self, params: dict[str, str], known: Optional[set[str]] = None) -> str:
        url = self._transport.url(self._path, params)
        while True:
            body = self._transport.json("GET", url, headers=PAGE) or {}
            if known is not None:
                known.update(str(e["id"]) for e in body.get("value") or [] if "@removed" not in e and e.get("id"))
            if body.get("@odata.deltaLink"):
                return str(body["@odata.deltaLink"])
            if not body.get("@odata.nextLink"):
                raise GraphError(f"Graph GET {self._path}: a delta round ended with no deltaLink",
                                 error_code="noDeltaLink")
            url = str(body["@odata.nextLink"])

    def _round(self, key: str) -> list[dict[str, Any]]:
        """Every entry since the stream's link; the link moves on. A lost sync state starts again."""
        url = self._links[key]
        entries: list[dict[str, Any]] = []
        try:
            while True:
                body = self._transport.json("GET", url, headers=PAGE) or {}
                entries.extend(e for e in body.get("value") or [] if isinstance(e, dict) and e.get("id"))
                if body.get("@odata.nextLink"):
                    url = str(body["@odata.nextLink"])
                    continue
                if body.get("@odata.deltaLink"):
                    self._links[key] = str(body["@odata.deltaLink"])
                return entries
        except GraphError as error:
            if error.status != 410:
                raise
            log.warning("notifier: Graph lost the delta state (HTTP 410); changes in between are not reported")
            self.start()
            return []

    def poll(self) -> list[tuple[str, list[str]]]:
        """One round: ``[(change, ids)]`` with Graph's change types, ids in Graph's order."""
        found: dict[str, list[str]] = {change: [] for change in CHANGES}
        if self._kind == "mail":
            for change in self._changes:
                for entry in self._round(change):
                    found["deleted" if "@removed" in entry else change].append(str(entry["id"]))
        else:
            for entry in self._round("all"):
                item_id = str(entry["id"])
                if "@removed" in entry:
                    self._known.discard(item_id)
                    found["deleted"].append(item_id)
                elif item_id in self._known:
                    found["updated"].append(item_id)
                else:
                    self._known.add(item_id)
                    found["created"].append(item_id)
        return [(change, list(dict.fromkeys(ids))) for change, ids in found.items()
                if ids and change in self._changes]


class PullSource:
    """Polls the delta streams on a thread of its own every ``timer`` seconds."""

    def __init__(self, streams: DeltaStreams, emit: Emit, timer: float) -> None:
        self._streams = streams
        self._emit = emit
        self._timer = timer
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.expiration = ""

    def start(self) -> None:
        self._streams.start()
        self._thread = threading.Thread(target=self._run, name="netkit-notifier-pull", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = self._timer
        while not self._stop.wait(delay):
            delay = self._timer
            try:
                rounds = self._streams.poll()
            except GraphError as error:
                if error.retry_after:  # throttled beyond the transport's own retries: wait as told
                    delay = max(self._timer, error.retry_after)
                log.warning("notifier: delta round failed, next in %.0f s: %s", delay, error.message)
                continue
            except NetKitError as error:
                log.warning("notifier: delta round failed: %s", error.message)
                continue
            for change, ids in rounds:
                if self._stop.is_set():
                    return
                self._emit(change, ids)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
