"""The local receiver of Graph's change notifications: ``{endPoint}/4dnk-graph-notification``.

Imported when a push notifier starts (``http.server`` is not needed before).

One receiver per listening address serves every push notifier on it (a mail and a calendar notifier
share a port, as in 4D). Each notifier registers a ``state`` (in its notification URL's query) with
the ``clientState`` secret of its subscription. The receiver answers Graph's validation handshake
(``?validationToken=...`` -> 200 ``text/plain`` with the token) for registered states only, and
hands each notification whose ``clientState`` matches to its notifier; a notification with a wrong
or missing ``clientState`` (forged, or from an older subscription) is dropped. It answers 202 at
once: notifiers only queue what they get, callbacks run elsewhere.
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from .._exceptions import PortInUseError

log = logging.getLogger("netkit_msal.office365.notifier")

#: Largest notification body accepted (Graph batches up to a few hundred small items).
MAX_BODY = 4 << 20

Sink = Callable[[dict], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 15

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        if parts.path.rstrip("/") != self.server.receiver.path:
            return self._answer(404, b"not found")
        query = parse_qs(parts.query, keep_blank_values=True)
        state = (query.get("state") or [""])[0]
        receiver = self.server.receiver
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return self._answer(400, b"bad Content-Length")
        if length > MAX_BODY:
            return self._answer(413, b"too large")
        body = self.rfile.read(length) if length else b""
        if "validationToken" in query:
            if not receiver.knows(state):
                return self._answer(404, b"unknown state")
            return self._answer(200, query["validationToken"][0].encode("utf-8"), "text/plain; charset=utf-8")
        try:
            items = json.loads(body or b"null")["value"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            return self._answer(400, b"not a notification collection")
        self._answer(202, b"")
        receiver.deliver(state, items)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(405, b"POST only")

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("receiver: " + format, *args)


class Receiver:
    """An HTTP server on one local address, routing notifications by ``state`` to notifiers."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.path = path
        try:
            self._server = _Server((host, port), self)
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUseError(f"cannot listen on {host}:{port} for Graph notifications: "
                                     f"{'port in use' if error.errno == errno.EADDRINUSE else 'not allowed'}") from None
            raise PortInUseError(f"cannot listen on {host}:{port} for Graph notifications: {error.strerror} "
                                 "(give the notifier a local address in 'listen')") from None
        self.address = (host, self._server.server_address[1])
        self._sinks: dict[str, tuple[str, Sink]] = {}
        self._lock = threading.Lock()
        self.users = 0
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"netkit-notification-receiver-{self.address[1]}", daemon=True)
        self._thread.start()

    def register(self, state: str, client_state: str, sink: Sink) -> None:
        """Accept notifications for ``state`` carrying ``client_state`` (a new secret replaces the old)."""
        with self._lock:
            self._sinks[state] = (client_state, sink)

    def unregister(self, state: str) -> None:
        with self._lock:
            self._sinks.pop(state, None)

    def knows(self, state: str) -> bool:
        with self._lock:
            return state in self._sinks

    def deliver(self, state: str, items: list[Any]) -> None:
        with self._lock:
            entry = self._sinks.get(state)
        if entry is None:
            log.debug("receiver: %d notification(s) for an unknown state dropped", len(items))
            return
        secret, sink = entry
        for item in items:
            given = item.get("clientState") if isinstance(item, dict) else None
            if not isinstance(given, str) or not hmac.compare_digest(given.encode(), secret.encode()):
                log.warning("receiver: a notification without the subscription's clientState was dropped")
                continue
            sink(item)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


_receivers: dict[tuple[str, int], Receiver] = {}
_registry_lock = threading.Lock()


def acquire(host: str, port: int, path: str) -> Receiver:
    """The receiver listening on ``host:port`` for ``path``, started when none is (``PortInUseError`` if taken)."""
    with _registry_lock:
        receiver = _receivers.get((host, port))
        if receiver is None:
            receiver = Receiver(host, port, path)
            _receivers[(host, port)] = receiver
            if port == 0:
                _receivers[receiver.address] = receiver
        receiver.users += 1
        return receiver


def release(receiver: Optional[Receiver]) -> None:
    """One user fewer; the last one closes the receiver."""
    if receiver is None:
        return
    with _registry_lock:
        receiver.users -= 1
        if receiver.users > 0:
            return
        for key in [k for k, v in _receivers.items() if v is receiver]:
            del _receivers[key]
    receiver.close()
