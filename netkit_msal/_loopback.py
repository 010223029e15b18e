"""The local web server that receives the browser's redirect at the end of a sign-in.

It listens on the redirect URI's host and port from construction (so a taken port fails before a
browser opens), accepts the authorization response on exactly the redirect URI's path, as a GET
query or a ``form_post`` body, with the flow's ``state`` only, and keeps serving through hostile or
broken requests: each connection has a read time-out, an overall deadline and size limits, and the
number of connections served at once is capped; at the cap, the oldest connection still waiting for
its request makes room, so silent connections cannot lock the browser out. Pages never show the code.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import logging
import mimetypes
import os
import socket
import string
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from ._exceptions import ConfigError, FlowTimeoutError, PortInUseError

log = logging.getLogger("netkit_msal.loopback")

MAX_REQUEST_BYTES = 64 * 1024  # request line + headers, and separately the body
READ_TIMEOUT = 5.0  # seconds a connection may stay silent
CONNECTION_DEADLINE = 15.0  # seconds a connection may last in all
MAX_CONNECTIONS = 64  # served at once; past it, the oldest one still waiting for its request is cut
_MAX_THREADS = 2 * MAX_CONNECTIONS  # hard bound, with room for cut connections whose threads are ending
_FORM = "application/x-www-form-urlencoded"
_PAGES = Path(__file__).parent / "_pages"


class _Page:
    """What the browser gets after the redirect: a 302 to a URL, a file's content, or a built-in page."""

    def __init__(self, spec: Optional[str], *, key: str, builtin: str) -> None:
        self.location: Optional[str] = None
        self.template: Optional[string.Template] = None
        self.body = b""
        self.content_type = "text/html; charset=utf-8"
        self.builtin = spec is None
        if spec is None:
            self.template = string.Template((_PAGES / builtin).read_text(encoding="utf-8"))
            return
        if not isinstance(spec, (str, os.PathLike)) or not os.fspath(spec).strip():
            raise ConfigError(f"{key} must be a URL or a file path", key=key, code=10)
        spec = os.fspath(spec)
        if urlsplit(spec).scheme.lower() in ("http", "https"):
            self.location = spec
            return
        path = Path(os.path.expanduser(spec))
        try:
            self.body = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{key}: cannot read the page file {path}: {exc.strerror or exc}", key=key) from None
        guessed = mimetypes.guess_type(path.name)[0] or "text/html"
        self.content_type = f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed

    def render(self, params: dict[str, str]) -> bytes:
        if self.template is None:
            return self.body
        return self.template.safe_substitute(
            error=escape(params.get("error", "")),
            error_description=escape(params.get("error_description", "")),
        ).encode("utf-8")


class RedirectReceiver:
    """Receive one authorization response on a loopback redirect URI.

    ``redirect_uri`` is the app's (http only; ``localhost`` listens on 127.0.0.1; port 0 picks a free
    port, see ``.redirect_uri``). ``state`` is the flow's state; ``timeout`` the seconds ``wait()``
    waits. ``success_page``/``error_page`` (4D ``authenticationPage``/``authenticationErrorPage``):
    a URL (302 there) or a file path (its content); default a built-in page.
    """

    def __init__(
        self,
        redirect_uri: str,
        *,
        state: str,
        timeout: float,
        success_page: Optional[str] = None,
        error_page: Optional[str] = None,
    ) -> None:
        host, port, path, parts = _parse_redirect_uri(redirect_uri)
        if not state:
            raise ValueError("state is required")
        self._state = state
        self._path = path
        self.timeout = timeout
        self._success = _Page(success_page, key="authenticationPage", builtin="success.html")
        self._error = _Page(error_page, key="authenticationErrorPage", builtin="error.html")
        self._result: Optional[dict[str, str]] = None
        self._done = threading.Event()
        self._result_lock = threading.Lock()
        self._server = _bind(host, port, redirect_uri, self)
        self.port: int = self._server.server_address[1]
        netloc = parts.netloc if port else _netloc(parts, self.port)
        self.redirect_uri = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="netkit-msal-redirect", daemon=True
        )
        self._closed = False
        self._thread.start()
        log.debug("listening for the sign-in redirect on %s", self.redirect_uri)

    def wait(self, timeout: Optional[float] = None) -> dict[str, str]:
        """Block until the browser brings the response back; return its parameters.

        Raises FlowTimeoutError after ``timeout`` (default: the constructor's) seconds.
        """
        limit = self.timeout if timeout is None else timeout
        if not self._done.wait(limit):
            raise FlowTimeoutError(
                f"no sign-in response reached {self.redirect_uri} within {limit:g} s "
                "(raise `timeout`, or finish the sign-in in the browser sooner)"
            )
        assert self._result is not None
        return dict(self._result)

    def close(self) -> None:
        """Stop listening; later connections are refused."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "RedirectReceiver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RedirectReceiver {self.redirect_uri} {'closed' if self._closed else 'listening'}>"

    # Called by the handler threads ------------------------------------------------------------
    def _on_path(self, request_path: str) -> bool:
        return unquote(request_path) == self._path

    def _answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Decide the response to well-formed parameters on the redirect path: (status, headers, body)."""
        if not hmac.compare_digest(params.get("state", "").encode(), self._state.encode()):
            return _plain(403, "Unknown or missing state: this is not the sign-in this application started")
        if "code" not in params and "error" not in params:
            return _plain(400, "Neither a code nor an error: not an authorization response")
        failed = "error" in params or not params.get("code")
        with self._result_lock:
            if self._result is None:
                self._result = params
            else:  # a reload of the page: answer as before, the first response stands
                failed = "error" in self._result or not self._result.get("code")
        page = self._error if failed else self._success
        if page.location:
            return 302, {"Location": page.location, "Content-Length": "0"}, b""
        body = page.render(self._result if failed else {})
        headers = {"Content-Type": page.content_type}
        if page.builtin:
            headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return 200, headers, body

    def _delivered(self) -> None:
        """The page for the first response has been sent: let ``wait()`` return."""
        if self._result is not None:
            self._done.set()


def _plain(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, (text + "\n").encode("utf-8")


def _netloc(parts: Any, port: int) -> str:
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}"


def _parse_redirect_uri(uri: Any) -> tuple[str, int, str, Any]:
    """(listen host, port, path, split URI) for a loopback redirect URI, or ConfigError naming redirectURI."""
    if not isinstance(uri, str) or not uri.strip():
        raise ConfigError("redirectURI must be a URL such as http://127.0.0.1:50993/", key="redirectURI", code=10)
    parts = urlsplit(uri.strip())
    scheme = parts.scheme.lower()
    if scheme == "https":
        raise ConfigError(
            f"redirectURI {uri} is https, but the local listener that receives the redirect cannot do TLS; "
            "register and use an http loopback URI such as http://localhost:50993/",
            key="redirectURI",
        )
    if scheme != "http" or not parts.hostname:
        raise ConfigError(f"redirectURI {uri} must be an http URL with a host", key="redirectURI")
    try:
        port = parts.port if parts.port is not None else 80
    except ValueError:
        raise ConfigError(f"redirectURI {uri} has an invalid port", key="redirectURI") from None
    host = parts.hostname.lower()
    if host == "localhost":
        host = "127.0.0.1"
    else:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(
                f"redirectURI {uri}: the listener binds to an IP address or localhost, not to the name {host!r}; "
                "use http://localhost:<port>/ or http://127.0.0.1:<port>/",
                key="redirectURI",
            ) from None
    return host, port, unquote(parts.path or "/"), parts


def _bind(host: str, port: int, uri: str, receiver: RedirectReceiver) -> "_Server":
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

    def __init__(self, address: tuple[str, int], handler: type, receiver: RedirectReceiver) -> None:
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
        except (OSError, socket.timeout):
            self.close_connection = True

    def parse_request(self) -> bool:
        ok = super().parse_request()
        if ok and self.rfile.exceeded:  # type: ignore[attr-defined]
            self.send_error(413, "Request head too large")
            return False
        return ok

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if not self.server.receiver._on_path(parts.path):
            self._send(*_plain(404, "Not found"))
            return
        self._respond(parts.query)

    def do_POST(self) -> None:
        if not self.server.receiver._on_path(urlsplit(self.path).path):
            self._send(*_plain(404, "Not found"))
            return
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length_text is None:
            self._send(*_plain(411, "A Content-Length is required"))
            return
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self._send(*_plain(400, "Bad Content-Length"))
            return
        if length > MAX_REQUEST_BYTES:
            self._send(*_plain(413, "Request body too large"))
            return
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != _FORM:
            self._send(*_plain(415, f"Expected {_FORM}"))
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return  # the client went away or was too slow
        try:
            query = body.decode("ascii")
        except UnicodeDecodeError:
            self._send(*_plain(400, "Malformed form body"))
            return
        self._respond(query)

    def _respond(self, query: str) -> None:
        receiver = self.server.receiver
        params = _parse_params(query)
        if params is None:
            self._send(*_plain(400, "Malformed parameters"))
            return
        try:
            self._send(*receiver._answer(params))
        finally:
            receiver._delivered()

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


def _parse_params(query: str) -> Optional[dict[str, str]]:
    """Form/query parameters as a dict; None when malformed or a name repeats."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, errors="strict", max_num_fields=64)
    except (ValueError, UnicodeDecodeError):
        return None
    params = dict(pairs)
    return params if len(params) == len(pairs) else None
