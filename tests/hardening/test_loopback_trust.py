"""What the redirect receiver trusts (issue 18): its ``Host`` header, the ``state`` of a 4D app that fixes it, and
where ``authenticate_uri`` listens.

A page on any site can make the browser send requests to 127.0.0.1 (and, by DNS rebinding, read the answers
under its own name): the receiver answers only requests whose ``Host`` is this machine on its port. A 4D app
often fixes ``state`` in its parameter object (sample code, a constant), so ``state`` is no secret: the sign-in's
state is the app's followed by a random part, and a page knowing the app's state can neither answer nor abort.
"""

from __future__ import annotations

import socket
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from test_hostile_redirect import ATTACKER_CODE, FORM, attacked, port_closed, send  # noqa: F401 - fixture

from netkit_msal import ConfigError, OAuth2Provider
from netkit_msal._loopback import RedirectReceiver

STATE = "state-0123456789"
CODE = "the-real-code-0123456789"


def raw(port: int, head: bytes) -> tuple[int, bytes]:
    """Send a request head as given (no Host added); (status, whole answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    return int(answer.split(b" ")[1]), answer


def get_with_host(port: int, *hosts: str, query: str) -> int:
    lines = b"".join(f"Host: {host}\r\n".encode() for host in hosts)
    return raw(port, b"GET /cb?" + query.encode() + b" HTTP/1.1\r\n" + lines + b"\r\n")[0]


@pytest.mark.parametrize("hosts", [
    ("attacker.example:{port}",),  # DNS rebinding: the attacker's name now points at 127.0.0.1
    ("attacker.example",),
    ("127.0.0.1",),  # the port left out: only right on port 80
    ("127.0.0.1:{other}",),
    ("localhost:{port}@attacker.example",),
    ("127.0.0.1:{port}", "attacker.example:{port}"),  # two Host headers
    (),  # none
    ("",),
])
def test_a_request_whose_host_is_not_this_machine_and_port_is_refused(hosts):
    with RedirectReceiver("http://127.0.0.1:0/cb", state=STATE, timeout=10) as receiver:
        port = receiver.port
        filled = [h.format(port=port, other=port + 1 if port < 65535 else port - 1) for h in hosts]
        query = urlencode({"code": CODE, "state": STATE})
        assert get_with_host(port, *filled, query=query) == 400
        assert not receiver._done.is_set()  # not taken as the response
        post = (b"POST /cb HTTP/1.1\r\n" + b"".join(f"Host: {h}\r\n".encode() for h in filled)
                + f"Content-Type: {FORM['Content-Type']}\r\nContent-Length: {len(query)}\r\n\r\n".encode()
                + query.encode())
        assert raw(port, post)[0] == 400
        assert not receiver._done.is_set()
        assert get_with_host(port, f"127.0.0.1:{port}", query=query) == 200  # the browser's own request
        assert receiver.wait(5)["code"] == CODE


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"])
def test_loopback_hosts_with_the_port_are_served(host):
    with RedirectReceiver("http://localhost:0/cb", state=STATE, timeout=10) as receiver:
        query = urlencode({"code": CODE, "state": STATE})
        assert get_with_host(receiver.port, host.format(port=receiver.port), query=query) == 200
        assert receiver.wait(5)["code"] == CODE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]", "192.0.2.10"])
@pytest.mark.parametrize("extra", [{"browserAutoOpen": False}, {"clientSecret": "s3cr3t-0123456789"}],
                         ids=["public", "confidential"])
def test_authenticate_uri_listens_on_loopback_only(emu, host, extra):
    """``authenticate_uri`` binds the receiver for a browser sign-in: a wildcard or another interface is refused."""
    port = _free_port()
    provider = OAuth2Provider(emu.params(cache=False, redirectURI=f"http://{host}:{port}/", **extra))
    try:
        with pytest.raises(ConfigError) as caught:
            provider.authenticate_uri  # noqa: B018 -- the property prepares the sign-in
        assert caught.value.key == "redirectURI" and "loopback" in str(caught.value)
        assert port_closed(port)
    finally:
        provider.close()


def test_a_fixed_state_is_no_secret(emu, attacked):  # noqa: F811 - the fixture imported above
    """The app fixed ``state``: a page that knows it sends an error or a code with it, while the user signs in.
    Both are refused (403); the user's sign-in completes."""
    fixed = "my-4d-app-state"
    seen = {}

    def attack(port: int, path: str) -> None:
        for params in ({"error": "access_denied", "error_description": "forged"}, {"code": ATTACKER_CODE}):
            query = urlencode({**params, "state": fixed})
            seen[f"GET {params}"] = send(port, "GET", f"{path}?{query}")[0]
            seen[f"POST {params}"] = send(port, "POST", path, query.encode(), FORM)[0]
        seen["bare state"] = send(port, "GET", f"{path}?state={fixed}")[0]

    browser = attacked(attack)
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=60, state=fixed))
    try:
        token = provider.get_token()
    finally:
        provider.close()
    assert browser.done.wait(60) and not browser.errors, browser.errors
    assert token.valid
    assert seen and set(seen.values()) == {403}, seen


def test_the_sign_in_state_is_the_apps_then_a_random_part(emu):
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", browserAutoOpen=False, state="my-4d-app-state"))
    try:
        first = dict(parse_qsl(urlsplit(provider.authenticate_uri).query))["state"]
    finally:
        provider.close()
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", browserAutoOpen=False, state="my-4d-app-state"))
    try:
        second = dict(parse_qsl(urlsplit(provider.authenticate_uri).query))["state"]
    finally:
        provider.close()
    assert first.startswith("my-4d-app-state.") and second.startswith("my-4d-app-state.") and first != second
    assert len(first) >= len("my-4d-app-state.") + 32  # 24 random bytes
