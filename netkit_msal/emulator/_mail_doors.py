"""Exchange Online's rules at the bundled Dovecot's doors, where Dovecot alone cannot apply them.

- ``PermissionCheck``: the OAuth 2.0 introspection endpoint Dovecot's second oauth2 passdb asks
  (``send_auth_headers`` names the service): a token lacking the protocol's permission
  (``IMAP.AccessAsUser.All``, ``POP.AccessAsUser.All``, ``SMTP.Send`` or the app roles) is inactive.
- ``AuthLineProxy``: sits in front of Dovecot's submission listeners. Dovecot refuses command lines
  over 1 KB, Exchange accepts ``AUTH XOAUTH2 <initial response>`` of any size (smtplib, mutt and
  neomutt send it so): the proxy turns such a line into ``AUTH XOAUTH2`` + the response after
  ``334``. Everything else (TLS, capabilities, replies) is Dovecot's, relayed as is.
- ``send_as_refusal``: Exchange's ``554 5.2.252 SendAsDenied`` for a sender the login may not use.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs

from ._directory import OUTLOOK, OUTLOOK_365, OUTLOOK_APP_ID
from ._http import TokenRejected

log = logging.getLogger("netkit_msal.emulator")

_AUDIENCES = frozenset({OUTLOOK, OUTLOOK + "/", OUTLOOK_365, OUTLOOK_365 + "/", OUTLOOK_APP_ID})
#: Dovecot service -> (delegated scope, app roles) that open it.
PERMISSIONS: dict[str, tuple[str, frozenset[str]]] = {
    "imap": ("IMAP.AccessAsUser.All", frozenset({"IMAP.AccessAsApp"})),
    "pop3": ("POP.AccessAsUser.All", frozenset({"POP.AccessAsApp"})),
    "submission": ("SMTP.Send", frozenset({"SMTP.SendAsApp"})),
}
_IDLE_SECONDS = 600.0
_MAX_LINE = 1 << 16  # longer than any AUTH line a client sends; a line without end stops the session


def permission_refusal(claims: Mapping[str, Any], service: str) -> Optional[str]:
    """Why a verified token may not open ``service`` (None when it may)."""
    if claims.get("aud") not in _AUDIENCES:
        return f"audience {claims.get('aud')!r} is not Exchange Online"
    scope, roles = PERMISSIONS.get(service, ("", frozenset()))
    if not scope:
        return f"unknown service {service!r}"
    if claims.get("idtyp") == "app" or ("scp" not in claims and "roles" in claims):
        return None if roles & set(claims.get("roles") or ()) else f"app roles lack {' or '.join(sorted(roles))}"
    return None if scope in str(claims.get("scp") or "").split() else f"scp lacks {scope}"


class PermissionCheck:
    """A loopback HTTP introspection endpoint (RFC 7662 shape) for Dovecot's oauth2 passdb."""

    def __init__(self, verify: Callable[[str], dict], username_attribute: str = "upn") -> None:
        check = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 16)
                token = (parse_qs(self.rfile.read(length).decode("ascii", "replace")).get("token") or [""])[0]
                service = (self.headers.get("X-Dovecot-Auth-Service")
                           or self.headers.get("X-Dovecot-Auth-Protocol") or "")
                body = json.dumps(check.answer(token, service)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # the token never reaches a log
                pass

        self._verify = verify
        self.username_attribute = username_attribute
        self.refusals: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="dovecot-permission-check",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/introspect"

    def answer(self, token: str, service: str) -> dict[str, Any]:
        try:
            claims = self._verify(token)
        except TokenRejected as exc:
            reason: Optional[str] = f"token rejected: {exc}"
            claims = {}
        else:
            reason = permission_refusal(claims, service)
        if reason:
            message = f"{service or 'unknown service'}: {reason}"
            self.refusals.append(message)
            log.info("dovecot permission check refused a login (%s)", message)
            return {"active": False}
        name = claims.get(self.username_attribute) or claims.get("upn") or ""
        return {"active": True, self.username_attribute: name}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def send_as_refusal(login: str, mail_from: str, content: bytes,
                    send_as: Mapping[str, Iterable[str]]) -> Optional[str]:
    """Exchange's SMTP answer when ``login`` may not send as the envelope or From sender; else None."""
    allowed = {login.lower(), *(a.lower() for a in send_as.get(login.lower(), ()))}
    headers = BytesHeaderParser().parsebytes(content)
    senders = [mail_from] + [address for _, address in getaddresses(headers.get_all("From", []))]
    for sender in senders:
        if sender and sender.lower() not in allowed:
            return (f"554 5.2.252 SendAsDenied; {login} not allowed to send as {sender}; "
                    "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; "
                    "Failed to process message due to a permanent exception")
    return None


class _Lines:
    """CRLF lines from a socket, keeping what was read past the line."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > _MAX_LINE:
                raise OSError("line too long")
            data = self.sock.recv(65536)
            if not data:
                line, self.buffer = self.buffer, b""
                return line
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def reply(self) -> bytes:
        """One SMTP reply, all its lines (the last has a space after the code)."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if not line or line[3:4] != b"-":
                return b"".join(lines)


class AuthLineProxy:
    """A listener relaying to one Dovecot submission listener, splitting long ``AUTH`` lines."""

    def __init__(self, host: str, upstream_port: int, *, implicit_tls: bool, certificate: tuple[str, str],
                 ca_file: str) -> None:
        self.host = host
        self.upstream_port = upstream_port
        self.implicit_tls = implicit_tls
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(*certificate)
        self._client_tls = ssl.create_default_context(cafile=ca_file)
        self._listener = socket.socket()
        self._listener.bind((host, 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"smtp-auth-proxy-{self.port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        with self._lock:
            for sock in list(self._open):
                _close(sock)
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _serve(self, client: socket.socket) -> None:
        upstream: Optional[socket.socket] = None
        try:
            upstream = socket.create_connection((self.host, self.upstream_port), timeout=_IDLE_SECONDS)
            client.settimeout(_IDLE_SECONDS)
            self._track(client, upstream)
            if self.implicit_tls:
                client = self._server_tls.wrap_socket(client, server_side=True)
                upstream = self._client_tls.wrap_socket(upstream, server_hostname=self.host)
                self._track(client, upstream)
            client, upstream, rest = self._until_authenticated(client, upstream)
            if rest is not None:
                upstream.sendall(rest)
                _pipe(client, upstream)
        except (OSError, ssl.SSLError):
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _close(sock)
                    with self._lock:
                        self._open.discard(sock)

    def _until_authenticated(self, client: socket.socket, upstream: socket.socket
                             ) -> tuple[socket.socket, socket.socket, Optional[bytes]]:
        """Relay command by command until a 235; then the bytes the client already sent (None: ended)."""
        down, up = _Lines(client), _Lines(upstream)
        client.sendall(up.reply())
        while True:
            line = down.line()
            if not line:
                return client, upstream, None
            words = line.split()
            verb = words[0].upper() if words else b""
            if verb == b"AUTH" and len(words) == 3 and len(line) > 1000:
                upstream.sendall(b"AUTH " + words[1] + b"\r\n")
                reply = up.reply()
                if reply.startswith(b"334"):
                    upstream.sendall(words[2] + b"\r\n")
                    reply = up.reply()
            else:
                upstream.sendall(line)
                reply = up.reply()
            client.sendall(reply)
            if not reply:
                return client, upstream, None
            if verb == b"STARTTLS" and reply.startswith(b"220"):
                upstream = self._client_tls.wrap_socket(upstream, server_hostname=self.host)
                client = self._server_tls.wrap_socket(client, server_side=True)
                self._track(client, upstream)
                down, up = _Lines(client), _Lines(upstream)
            elif reply.startswith(b"235"):
                return client, upstream, down.buffer
            elif verb == b"QUIT":
                return client, upstream, None


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until one side closes (one thread: an SSL object is not shared by two)."""
    peers = {a: b, b: a}
    while True:
        ready: list[socket.socket] = [s for s in peers if isinstance(s, ssl.SSLSocket) and s.pending()]
        if not ready:
            ready, _, _ = select.select(list(peers), [], [], _IDLE_SECONDS)
            if not ready:
                return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
