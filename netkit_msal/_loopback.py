"""The local web server that receives the browser's redirect at the end of a sign-in.

It listens on the redirect URI's host and port from construction (so a taken port fails before a
browser opens), accepts the authorization response on exactly the redirect URI's path, as a GET
query or a ``form_post`` body, with the flow's ``state`` only. The hardened HTTP server is in
``_loopback_server``, the pages in ``_loopback_pages``; this module is the OAuth side.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from typing import Any, Optional
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from ._exceptions import ConfigError, FlowTimeoutError
from ._loopback_pages import Answer, Page, plain
from ._loopback_server import bind
from ._net import is_loopback_host

log = logging.getLogger("netkit_msal.loopback")


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
        self._success = Page(success_page, key="authenticationPage", builtin="success.html")
        self._error = Page(error_page, key="authenticationErrorPage", builtin="error.html")
        self._result: Optional[dict[str, str]] = None
        self._done = threading.Event()
        self._result_lock = threading.Lock()
        self._server = bind(host, port, redirect_uri, self)
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

    def __enter__(self) -> RedirectReceiver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RedirectReceiver {self.redirect_uri} {'closed' if self._closed else 'listening'}>"

    # Called by the handler threads ------------------------------------------------------------
    def on_path(self, request_path: str) -> bool:
        return unquote(request_path) == self._path

    def answer(self, params: dict[str, str]) -> Answer:
        """Decide the response to well-formed parameters on the redirect path: (status, headers, body)."""
        if not hmac.compare_digest(params.get("state", "").encode(), self._state.encode()):
            return plain(403, "Unknown or missing state: this is not the sign-in this application started")
        if "code" not in params and "error" not in params:
            return plain(400, "Neither a code nor an error: not an authorization response")
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

    def delivered(self) -> None:
        """The page for the first response has been sent: let ``wait()`` return."""
        if self._result is not None:
            self._done.set()


def _netloc(parts: SplitResult, port: int) -> str:
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}"


def _parse_redirect_uri(uri: Any) -> tuple[str, int, str, SplitResult]:
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
        if not is_loopback_host(host):  # another interface would expose the sign-in's code to the network
            raise ConfigError(
                f"redirectURI {uri}: the listener binds to a loopback address only (127.0.0.1, ::1 or localhost)",
                key="redirectURI",
            )
    return host, port, unquote(parts.path or "/"), parts
