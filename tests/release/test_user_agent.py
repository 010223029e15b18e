"""What Microsoft sees of us: ``User-Agent: netkit-msal/<version>`` beside MSAL's own ``x-client-*`` headers.

Microsoft asks client libraries to identify themselves. The emulator does not record request headers, so a
small loopback server plays the authority: a real ``OAuth2Provider`` and real MSAL get a token from it over
HTTPS (with a certificate from the emulator's CA), and the server keeps what each request carried.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msal
import pytest

import netkit_msal
from netkit_msal import OAuth2Provider
from netkit_msal._http import make_session
from netkit_msal.emulator import Emulator

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SECRET = "release-test-secret"  # a made-up client secret for the fake authority


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.base = ""


class _Handler(BaseHTTPRequestHandler):
    """Answers as an authority does: its discovery document, and a token for any token request."""

    server: _Recorder

    def _answer(self) -> None:
        self.server.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        root = f"{self.server.base}/{TENANT}"
        if self.path.endswith("/.well-known/openid-configuration"):
            body: dict[str, Any] = {
                "issuer": f"{root}/v2.0", "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode"}
        elif self.path.endswith("/oauth2/v2.0/token"):
            body = {"access_token": "not-a-real-token", "token_type": "Bearer", "expires_in": 3600}
        else:
            body = {"hello": "netkit-msal"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


def _serve(server: _Recorder) -> Iterator[_Recorder]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@pytest.fixture
def http_recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    server.base = f"http://127.0.0.1:{server.server_port}"
    yield from _serve(server)


@pytest.fixture
def https_authority(tmp_path) -> Iterator[tuple[_Recorder, str]]:
    """The recording server over HTTPS, and the CA file that trusts it."""
    emulator = Emulator(state_dir=tmp_path / "ca")  # not started: only its CA signs the certificate
    cert, key = emulator.issue_server_certificate(("127.0.0.1",), tmp_path)
    server = _Recorder()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.base = f"https://127.0.0.1:{server.server_port}"
    for recorder in _serve(server):
        yield recorder, emulator.ca_file


def _ours(user_agent: str) -> str:
    return user_agent.split()[0]


def test_session_names_netkit_msal_and_its_version_first(http_recorder):
    response = make_session().get(f"{http_recorder.base}/anything")
    assert response.json() == {"hello": "netkit-msal"}
    (_, _, headers), = http_recorder.seen
    assert _ours(headers["user-agent"]) == f"netkit-msal/{netkit_msal.__version__}"
    assert "python-requests/" in headers["user-agent"]  # requests' own name stays after ours


def test_msal_token_request_carries_our_user_agent_beside_msal_headers(https_authority):
    server, ca_file = https_authority
    provider = OAuth2Provider({"name": "Microsoft", "permission": "service",
                               "clientId": "11111111-2222-3333-4444-555555555555",
                               "clientSecret": SECRET, "authority": f"{server.base}/{TENANT}", "caFile": ca_file,
                               "scope": "https://graph.microsoft.com/.default", "cache": False})
    assert provider.get_token().access_token == "not-a-real-token"
    token_requests = [headers for method, path, headers in server.seen if path.endswith("/token")]
    assert token_requests and len(server.seen) >= 2  # the discovery document, then the token
    for _, _, headers in server.seen:
        assert _ours(headers["user-agent"]) == f"netkit-msal/{netkit_msal.__version__}"
    headers = token_requests[0]
    assert headers["x-client-sku"] == "MSAL.Python" and headers["x-client-ver"] == msal.__version__
