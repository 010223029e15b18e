"""The HTTP server under the redirect receiver, hardened: each connection has a read time-out, an overall deadline
and size limits, and the number of connections served at once is capped; at the cap, the oldest connection still
waiting for its request makes room, so silent connections cannot lock the browser out.

It knows nothing of OAuth: a :class:`RedirectTarget` (the receiver) says which path is served and what to answer.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Protocol
from urllib.parse import parse_qsl, urlsplit

from ._exceptions import ConfigError, PortInUseError
from ._loopback_pages import Answer, plain
from ._net import is_loopback_host

log = logging.getLogger("netkit_msal.loopback")

MAX_REQUEST_BYTES = 64 * 1024  # request line + headers, and separately the body
READ_TIMEOUT = 5.0  # seconds a connection may stay silent
CONNECTION_DEADLINE = 15.0  # seconds a connection may last in all
MAX_CONNECTIONS = 64  # served at once; past it, the oldest one still waiting for its request is cut
_MAX_THREADS = 2 * MAX_CONNECTIONS  # hard bound, with room for cut connections whose threads are ending
_FORM = "application/x-www-form-urlencoded"


class RedirectTarget(Protocol):
    """What the server asks of the receiver, from its handler threads."""

    def on_path(self, request_path: str) -> bool: ...

    def answer(self, params: dict[str, str]) -> Answer: ...

    def delivered(self) -> None: ...


def bind(host: str, port: int, uri: str, receiver: RedirectTarget) -> _Server:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("_BoundServer", (_Server,), {"address_family": family})
    try:
        return server_class((host, port), _Handler, receiver)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or getattr(exc, "winerror", 0) in (
            10048,
            10013,
        ):
            raise PortInUseError(
                f"port {port} of redirectURI {uri} is already in use by another program; "
                "stop it or choose another port in redirectURI (and register it with the app)"
            ) from None
        raise ConfigError(
            f"redirectURI {uri}: cannot listen on {host}:{port} ({exc.strerror or exc})", key="redirectURI"
        ) from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = os.name != "nt"  # on Windows it would let two programs share the port
    request_queue_size = 128  # the default 5 makes a burst of connections wait for SYN retries

    def __init__(self, address: tuple[str, int], handler: type, receiver: RedirectTarget) -> None:
        self.receiver = receiver
        self._thread_slots = threading.BoundedSemaphore(_MAX_THREADS)
        # the connections served, oldest first; True once the handler answers (it no longer waits on the client)
        self._served: dict[Any, bool] = {}
        self._served_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        if os.name == "nt" and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._make_room():
            self.shutdown_request(request)  # every connection is being answered, or cut ones still end
            return
        with self._served_lock:
            self._served[request] = False
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def _make_room(self) -> bool:
        """Take a thread for a new connection; at MAX_CONNECTIONS, cut the oldest one still waiting for
        (the rest of) its request: a browser sends its request at once, a silent flood does not."""
        with self._served_lock:
            if len(self._served) >= MAX_CONNECTIONS:
                idle = next((conn for conn, answering in self._served.items() if not answering), None)
                if idle is None:
                    return False
                del self._served[idle]
                _shut(idle)  # its handler's read returns at once and its thread ends
        return self._thread_slots.acquire(blocking=False)

    def _answering(self, request: Any) -> None:
        """The handler has the whole request and answers now: not a candidate for cutting."""
        with self._served_lock:
            if request in self._served:
                self._served[request] = True

    def _forget(self, request: Any) -> None:
        with self._served_lock:
            self._served.pop(request, None)
        self._thread_slots.release()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("redirect listener: connection from %s failed", client_address, exc_info=True)


def _shut(connection: Any) -> None:
    """End a connection from any thread: its handler's blocked read or write returns; its thread closes it."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _LimitedReader:
    """Reads the request head through a byte budget; past it, reads return nothing and ``exceeded`` is set."""

    def __init__(self, raw: Any, budget: int) -> None:
        self._raw = raw
        self.budget = budget
        self.exceeded = False

    def readline(self, size: int = -1) -> bytes:
        if self.budget < 0:
            return b""  # ends the header block; parse_request then answers 413
        limit = self.budget + 1 if size is None or size < 0 else min(size, self.budget + 1)
        line = self._raw.readline(limit)
        self.budget -= len(line)
        if self.budget < 0:
            self.exceeded = True
        return line

    def read(self, size: int) -> bytes:
        return self._raw.read(size)

    def close(self) -> None:
        self._raw.close()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = READ_TIMEOUT
    server_version = "netkit-msal"
    sys_version = ""
    default_request_version = "HTTP/1.0"  # answers to garbage get a status line too

    def setup(self) -> None:
        super().setup()
        self.rfile = _LimitedReader(self.rfile, MAX_REQUEST_BYTES)  # type: ignore[assignment]
        self._deadline = threading.Timer(CONNECTION_DEADLINE, self._cut)
        self._deadline.daemon = True
        self._deadline.start()

    def finish(self) -> None:
        self._deadline.cancel()
        try:
            super().finish()
        except OSError:
            pass

    def _cut(self) -> None:
        _shut(self.connection)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, OSError):
            self.close_connection = True

    def parse_request(self) -> bool:
        ok = super().parse_request()
        if ok and self.rfile.exceeded:  # type: ignore[attr-defined]
            self.send_error(413, "Request head too large")
            return False
        return ok

    def _host_ok(self) -> bool:
        """Refuse (400) a ``Host`` that is not this machine on the listener's port: a page of another site whose
        name an attacker points at 127.0.0.1 (DNS rebinding) cannot talk to the receiver."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) == 1 and _loopback_host_header(hosts[0], self.server.server_address[1]):
            return True
        self._send(*plain(400, "The Host header must name this machine (127.0.0.1, localhost or [::1]) and port"))
        return False

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        parts = urlsplit(self.path)
        if not self.server.receiver.on_path(parts.path):
            self._send(*plain(404, "Not found"))
            return
        self._respond(parts.query)

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        if not self.server.receiver.on_path(urlsplit(self.path).path):
            self._send(*plain(404, "Not found"))
            return
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length_text is None:
            self._send(*plain(411, "A Content-Length is required"))
            return
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self._send(*plain(400, "Bad Content-Length"))
            return
        if length > MAX_REQUEST_BYTES:
            self._send(*plain(413, "Request body too large"))
            return
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != _FORM:
            self._send(*plain(415, f"Expected {_FORM}"))
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return  # the client went away or was too slow
        try:
            query = body.decode("ascii")
        except UnicodeDecodeError:
            self._send(*plain(400, "Malformed form body"))
            return
        self._respond(query)

    def _respond(self, query: str) -> None:
        receiver = self.server.receiver
        params = _parse_params(query)
        if params is None:
            self._send(*plain(400, "Malformed parameters"))
            return
        try:
            self._send(*receiver.answer(params))
        finally:
            receiver.delivered()

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.server._answering(self.connection)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the stdlib would log the request line, which holds the code; log_request says enough

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path or "-"
        log.debug("redirect listener: %s %s -> %s", getattr(self, "command", None) or "-", path[:200], code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("redirect listener: bad request from %s", self.client_address[0])


def _loopback_host_header(value: Optional[str], port: int) -> bool:
    """Whether a ``Host`` header names this machine (``127.0.0.1``, ``localhost``, ``[::1]``...) and ``port``;
    the port may be left out only when it is 80, as browsers do."""
    if not value or any(char in value for char in "@/?#\\ \t"):
        return False
    try:
        parts = urlsplit("//" + value)
        given = parts.port
    except ValueError:
        return False
    return (80 if given is None else given) == port and is_loopback_host(parts.hostname)


def _parse_params(query: str) -> Optional[dict[str, str]]:
    """Form/query parameters as a dict; None when malformed or a name repeats."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, errors="strict", max_num_fields=64)
    except (ValueError, UnicodeDecodeError):
        return None
    params = dict(pairs)
    return params if len(params) == len(pairs) else None
