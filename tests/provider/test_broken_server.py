"""A broken identity platform (JSON of the wrong shape, tokens that are not text): typed errors, never MSAL's.

A real HTTPS server on loopback, with a certificate from the emulator's CA, stands in for Entra ID: the
real MSAL reads its answers through the provider's session.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from netkit_msal import AuthenticationError, OAuth2Provider

TENANT = "6e1f8c2a-93b4-4d5e-8f70-1a2b3c4d5e6f"
SECRET = "broken-server-test-secret"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    token_answer = (200, "{}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        """The discovery document."""
        base = f"https://127.0.0.1:{self.server.server_address[1]}/{TENANT}"
        self._send(200, json.dumps({
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize", "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode", "issuer": f"{base}/v2.0"}))

    def do_POST(self) -> None:
        """The token endpoint: the answer the test set."""
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(*self.server.token_answer)

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(emulator, tmp_path_factory) -> Iterator[_Server]:
    cert, key = emulator.issue_server_certificate(directory=tmp_path_factory.mktemp("broken-server"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("status, body, words", [
    (200, "[]", "malformed"),
    (200, '"text"', "malformed"),
    (200, "null", "malformed"),
    (400, '["error"]', "malformed"),
    (200, '{"access_token": "x", "expires_in": 3600, "scope": 5}', "malformed"),
    (200, '{"access_token": 5, "token_type": "Bearer", "expires_in": 3600}', "access_token must be text"),
    (200, '{"access_token": "x", "token_type": "Bearer", "expires_in": 3600, "refresh_token": 5}',
     "refresh_token must be text"),
    (200, "<html>proxy login</html>", "JSONDecodeError"),
], ids=["list", "string", "null", "error-list", "scope-number", "access-token-number", "refresh-token-number",
        "html"])
def test_a_broken_token_answer_is_an_authentication_error(emulator, server, status, body, words):
    server.token_answer = (status, body)
    params = {"permission": "service", "clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": SECRET,
              "authority": f"https://127.0.0.1:{server.server_address[1]}/{TENANT}", "caFile": emulator.ca_file,
              "cache": False}
    provider = OAuth2Provider(params)
    try:
        with pytest.raises(AuthenticationError) as caught:
            provider.get_token()
    finally:
        provider.close()
    message = str(caught.value)
    assert message.startswith("client credentials:") and words in message
    assert SECRET not in message and SECRET not in repr(caught.value)
