"""The HTTPS server and the discovery documents: what every client sees first."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests

from netkit_msal.emulator._http import Request, Response
from netkit_msal.emulator._server import ServerThread

from .conftest import session_for


@pytest.fixture
def echo_server(emulator):
    seen: list[Request] = []

    def dispatch(req: Request) -> Response:
        seen.append(req)
        return Response.json({"path": req.path, "query": req.query, "body": req.body.decode()})

    cert, key = emulator.issue_server_certificate(directory=emulator.state_dir / "echo")
    server = ServerThread("127.0.0.1", 0, cert, key, dispatch)
    server.start()
    yield f"https://127.0.0.1:{server.port}", seen
    server.stop()


def test_paths_collapsed_and_query_decoded(emulator, echo_server):
    url, seen = echo_server
    answer = session_for(emulator).get(f"{url}/v1.0//users//me/messages?%24top=2&%24select=id,subject").json()
    assert answer["path"] == "/v1.0/users/me/messages"
    assert answer["query"] == {"$top": "2", "$select": "id,subject"}


def test_keep_alive_and_chunked_bodies(emulator, echo_server):
    url, seen = echo_server
    session = session_for(emulator)
    for _ in range(3):
        assert session.post(url + "/x", data=b"abc").json()["body"] == "abc"
    assert session.post(url + "/x", data=iter([b"ab", b"cd"])).json()["body"] == "abcd"  # chunked
    assert len(session.get_adapter(url).poolmanager.pools) == 1  # one connection, reused


def test_certificate_names_and_ca(emulator):
    context = ssl.create_default_context(cafile=emulator.ca_file)
    for name in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", emulator.port)) as raw:
            with context.wrap_socket(raw, server_hostname=name) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(requests.exceptions.SSLError):
        requests.Session().get(emulator.url + "/_emulator/stats", verify=True)


def test_issue_server_certificate_for_another_server(emulator, tmp_path):
    cert, key = emulator.issue_server_certificate(("localhost",), tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    import threading

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"hello")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=emulator.ca_file)
    with socket.create_connection(listener.getsockname()) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(5) == b"hello"
    thread.join(5)
    listener.close()


@pytest.mark.parametrize("prefix", ["{tid}/v2.0", "{tid}", "{domain}/v2.0", "common/v2.0", "organizations/v2.0",
                                    "common"])
def test_discovery_variants(emulator, prefix):
    tenant_path = prefix.format(tid=emulator.tenant_id, domain=emulator.domain)
    doc = session_for(emulator).get(f"{emulator.url}/{tenant_path}/.well-known/openid-configuration").json()
    tenant = tenant_path.split("/")[0]
    assert doc["token_endpoint"] == f"{emulator.url}/{tenant}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{emulator.url}/{tenant}/oauth2/v2.0/authorize"
    assert doc["device_authorization_endpoint"] == f"{emulator.url}/{tenant}/oauth2/v2.0/devicecode"
    expected_issuer = emulator.issuer if tenant not in ("common", "organizations") \
        else f"{emulator.url}/{{tenantid}}/v2.0"
    assert doc["issuer"] == expected_issuer
    keys = session_for(emulator).get(doc["jwks_uri"]).json()["keys"]
    assert keys[0]["kid"] == emulator.kid and keys[0]["kty"] == "RSA"


def test_msal_with_common_and_domain_authorities(emulator):
    from .conftest import public_app

    for tenant in ("common", "organizations", emulator.domain):
        app = public_app(emulator, authority=f"{emulator.url}/{tenant}")
        flow = app.initiate_device_flow(["https://graph.microsoft.com/User.Read"])
        result = app.acquire_token_by_device_flow(flow)
        assert result.get("access_token"), result
        assert emulator.verify_access_token(result["access_token"])["tid"] == emulator.tenant_id


def test_unknown_path_is_404_json(emulator):
    response = session_for(emulator).get(f"{emulator.url}/nothing/here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_emulators_sharing_a_state_folder(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from netkit_msal.emulator import Emulator

    def run(_):
        with Emulator(tmp_path) as emu:
            session = requests.Session()
            session.trust_env, session.verify = False, emu.ca_file
            return session.get(f"{emu.authority}/discovery/v2.0/keys").json()["keys"][0]["kid"]

    with ThreadPoolExecutor(4) as pool:
        kids = list(pool.map(run, range(4)))
    assert len(set(kids)) == 1  # one signing key, created once
