"""The emulator's HTTPS server: standard library, one thread per connection, keep-alive.

Bytes in, ``Request`` to a dispatch function, ``Response`` out in a single write. TLS is negotiated in
the connection's own thread (a slow or broken client never blocks ``accept``), and ``TCP_NODELAY``
is set on every connection, so keep-alive answers on loopback take well under 2 ms.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Union
from urllib.parse import parse_qsl, unquote, urlsplit

from ._http import Request, Response

logger = logging.getLogger("netkit_msal.emulator")

#: Returned by a dispatch function to close the connection without any answer (injected fault).
DROP = object()

Dispatch = Callable[[Request], Union[Response, object]]

_MAX_BODY = 64 * 1024 * 1024
_STREAM_PIECE = 1024 * 1024
_REASONS = BaseHTTPRequestHandler.responses


def url_host(host: str) -> str:
    """How a listening address appears in URLs: wildcards as 127.0.0.1, IPv6 in brackets."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "netkit-msal-emulator"
    sys_version = ""
    #: Idle keep-alive connections are closed after this many seconds.
    timeout = 60
    server: EmulatorHTTPServer

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body()
        except ValueError as exc:
            self._write(Response.json({"error": "invalid_request", "error_description": str(exc)}, 400))
            self.close_connection = True
            return
        split = urlsplit(self.path)
        path = re.sub(r"/{2,}", "/", unquote(split.path)) or "/"
        request = Request(
            method=self.command,
            path=path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=self.server.base_url,
        )
        try:
            response = self.server.dispatch(request)
        except Exception:  # a bug in a service must not kill the connection thread silently
            logger.exception("emulator: %s %s failed", self.command, path)
            response = Response.json({"error": "server_error", "error_description": "emulator failure"}, 500)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response is DROP:
            logger.info("%s %s -> dropped connection (injected)", self.command, path)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        assert isinstance(response, Response)
        self._write(response)
        logger.info("%s %s -> %d (%.1f ms)", self.command, path, response.status, elapsed_ms)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _write(self, response: Response) -> None:
        """Status line, headers and body in one ``sendall``: no Nagle stall between them."""
        body = b"" if self.command == "HEAD" else response.body
        lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, ('',))[0]}"]
        headers = {"Server": self.server_version, "Cache-Control": "no-store", **response.headers}
        headers["Content-Length"] = str(response.length if response.stream is not None else len(response.body))
        if self.close_connection or self.headers.get("Connection", "").lower() == "close":
            headers["Connection"] = "close"
            self.close_connection = True
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        if response.stream is not None:
            with response.stream as stream:
                left = response.length if self.command != "HEAD" else 0
                while left > 0:
                    piece = stream.read(min(left, _STREAM_PIECE))
                    if not piece:
                        self.close_connection = True  # the file shrank: the client sees a short body
                        return
                    self.wfile.write(piece)
                    left -= len(piece)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        logger.debug("emulator: " + format, *args)


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, ssl_context: Optional[ssl.SSLContext], dispatch: Dispatch) -> None:
        self.ssl_context = ssl_context
        self.dispatch = dispatch
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        scheme = "https" if ssl_context is not None else "http"  # plain: the managed identity endpoint
        self.base_url = f"{scheme}://{url_host(host)}:{self.server_address[1]}"

    def get_request(self):
        sock, address = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def finish_request(self, request, client_address) -> None:
        with self._conn_lock:
            self._connections.add(request)
        try:
            request.settimeout(_Handler.timeout)
            if self.ssl_context is None:
                self.RequestHandlerClass(request, client_address, self)  # type: ignore[arg-type] # typeshed's Self
                return
            try:
                tls = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                logger.debug("emulator: TLS handshake failed from %s: %s", client_address[0], exc)
                return
            with self._conn_lock:
                self._connections.add(tls)
            try:
                self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type] # typeshed's Self
            finally:
                with self._conn_lock:
                    self._connections.discard(tls)
                tls.close()
        finally:
            with self._conn_lock:
                self._connections.discard(request)

    def handle_error(self, request, client_address) -> None:
        logger.debug("emulator: connection error from %s", client_address[0], exc_info=True)

    def close_connections(self) -> None:
        """Cut open keep-alive connections so that ``stop()`` really stops serving."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServerThread:
    """Runs an ``EmulatorHTTPServer`` in a daemon thread."""

    def __init__(self, host: str, port: int, cert_file: Optional[str], key_file: Optional[str],
                 dispatch: Dispatch) -> None:
        """HTTPS with ``cert_file`` and ``key_file``; plain HTTP without (loopback-only services)."""
        context: Optional[ssl.SSLContext] = None
        if cert_file is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(cert_file, key_file)
            context.set_alpn_protocols(["http/1.1"])
        self.server = EmulatorHTTPServer(host, port, context, dispatch)
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"netkit-msal-emulator:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
