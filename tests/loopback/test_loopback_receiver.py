"""The loopback redirect receiver on real sockets: happy paths, hostile requests, pages, time-outs."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from urllib.parse import urlencode

import pytest

from netkit_msal import _loopback_server
from netkit_msal._exceptions import ConfigError, FlowTimeoutError, PortInUseError
from netkit_msal._loopback import RedirectReceiver

STATE = "state-0123456789"
CODE = "the-auth-code-must-never-be-echoed-0123456789"


@pytest.fixture
def receiver():
    with RedirectReceiver("http://localhost:0/callback", state=STATE, timeout=10) as r:
        yield r


def request(r: RedirectReceiver, method: str, target: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def get(r, **params):
    return request(r, "GET", "/callback?" + urlencode(params))


def post(r, **params):
    return request(
        r, "POST", "/callback", urlencode(params).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )


def raw(r: RedirectReceiver, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_port_zero_gives_the_actual_redirect_uri(receiver) -> None:
    assert receiver.redirect_uri == f"http://localhost:{receiver.port}/callback"
    assert receiver.port > 0


def test_get_response(receiver) -> None:
    status, headers, body = get(receiver, code=CODE, state=STATE, client_info="ci")
    assert status == 200 and b"close this window" in body
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert receiver.wait() == {"code": CODE, "state": STATE, "client_info": "ci"}


def test_form_post_response(receiver) -> None:
    status, _, body = post(receiver, code=CODE, state=STATE, session_state="s")
    assert status == 200 and b"close this window" in body
    assert receiver.wait() == {"code": CODE, "state": STATE, "session_state": "s"}


def test_error_response_shows_the_escaped_error(receiver) -> None:
    status, _, body = get(receiver, error="access_denied", error_description="<script>alert(1)</script>", state=STATE)
    assert status == 200
    assert b"access_denied" in body and b"&lt;script&gt;" in body and b"<script>" not in body
    assert receiver.wait()["error"] == "access_denied"


def test_first_response_stands(receiver) -> None:
    get(receiver, code=CODE, state=STATE)
    status, _, body = get(receiver, error="late", state=STATE)
    assert status == 200 and b"close this window" in body
    assert receiver.wait()["code"] == CODE


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/other?" + urlencode({"code": CODE, "state": STATE}), 404),
        ("/callback/extra?state=" + STATE, 404),
        ("/favicon.ico", 404),
        ("/callback?" + urlencode({"code": CODE, "state": "guessed"}), 403),
        ("/callback?" + urlencode({"code": CODE}), 403),
        ("/callback?state=" + STATE, 400),
        ("/callback?state=" + STATE + "&code=a&code=b", 400),
        ("/callback?state=" + STATE + "&code=%ff%fe", 400),
    ],
)
def test_refused_requests(receiver, target, status) -> None:
    got, _, body = request(receiver, "GET", target)
    assert got == status
    assert CODE.encode() not in body
    assert not receiver._done.is_set()


def test_post_refusals(receiver) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = urlencode({"code": CODE, "state": STATE}).encode()
    assert request(receiver, "POST", "/nope", body, form)[0] == 404
    assert request(receiver, "POST", "/callback", body, {"Content-Type": "application/json"})[0] == 415
    assert request(receiver, "POST", "/callback", b"x" * (64 * 1024 + 1), form)[0] == 413
    host = f"Host: 127.0.0.1:{receiver.port}\r\n".encode()
    assert raw(receiver, b"POST /callback HTTP/1.1\r\n" + host
               + b"Content-Type: application/x-www-form-urlencoded\r\n\r\n").startswith(b"HTTP/1.0 411")
    assert raw(receiver, b"POST /callback HTTP/1.1\r\n" + host + b"Content-Length: -5\r\n\r\n").startswith(
        b"HTTP/1.0 400")
    assert not receiver._done.is_set()
    assert post(receiver, code=CODE, state=STATE)[0] == 200  # and it still serves


def test_huge_and_malformed_requests(receiver) -> None:
    assert raw(receiver, b"GET /callback?x=" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n").split(b" ")[1] in (b"413", b"414")
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"b" * 1000) for i in range(80))
    assert raw(receiver, b"GET /callback HTTP/1.1\r\n" + headers + b"\r\n").split(b" ")[1] in (b"413", b"431")
    assert raw(receiver, b"BLAH\r\n\r\n").split(b" ")[1] == b"400"
    assert raw(receiver, b"\x16\x03\x01\x02\x00 \xfc\x03 \x03\r\n\r\n").split(b" ")[1] == b"400"
    assert get(receiver, code=CODE, state=STATE)[0] == 200


def test_slow_client_does_not_block_a_valid_one(receiver) -> None:
    slow = socket.create_connection(("127.0.0.1", receiver.port), timeout=10)
    try:
        slow.sendall(b"GET /callback?state=" + STATE.encode())  # and never finishes
        assert get(receiver, code=CODE, state=STATE)[0] == 200
        assert receiver.wait(timeout=5)["code"] == CODE
    finally:
        slow.close()


def test_silent_client_is_cut_off(receiver, monkeypatch) -> None:
    monkeypatch.setattr(_loopback_server._Handler, "timeout", 0.2)
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        assert sock.recv(1024) == b""  # the server closed it; the socket time-out would raise instead


def test_many_concurrent_requests(receiver) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def hostile(i: int) -> None:
        status = get(receiver, code=CODE, state=f"wrong-{i}")[0] if i % 2 else request(receiver, "GET", f"/p{i}")[0]
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=hostile, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    assert get(receiver, code=CODE, state=STATE)[0] == 200
    for t in threads:
        t.join(timeout=30)
    assert sorted(set(statuses)) == [403, 404] and len(statuses) == 40
    assert receiver.wait()["code"] == CODE


@pytest.mark.parametrize("opening", [
    b"GET /callback?state=",  # a request line never finished
    b"POST /callback HTTP/1.1\r\nHost: HOST\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 100\r\n\r\n",
], ids=["silent-head", "silent-body"])
def test_a_flood_of_waiting_connections_makes_room_for_the_browser(receiver, opening) -> None:
    """More connections than are served at once, all waiting: the oldest are cut, the redirect gets through."""
    extra = 8
    flood = [socket.create_connection(("127.0.0.1", receiver.port), timeout=10)
             for _ in range(_loopback_server.MAX_CONNECTIONS + extra)]
    try:
        for sock in flood:
            sock.sendall(opening.replace(b"HOST", f"127.0.0.1:{receiver.port}".encode()))
        assert get(receiver, code=CODE, state=STATE)[0] == 200
        assert receiver.wait(timeout=5)["code"] == CODE
        # cut in the order they came, one for each newer connection past the limit (the browser's too), unanswered
        assert [sock.recv(1024) for sock in flood[:extra + 1]] == [b""] * (extra + 1)
        assert len(receiver._server._served) <= _loopback_server.MAX_CONNECTIONS
    finally:
        for sock in flood:
            sock.close()


def test_wait_times_out() -> None:
    with RedirectReceiver("http://127.0.0.1:0/", state=STATE, timeout=0.05) as r:
        with pytest.raises(FlowTimeoutError) as info:
            r.wait()
    assert info.value.code == 4 and r.redirect_uri in str(info.value)


def test_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError) as info:
            RedirectReceiver(f"http://localhost:{port}/", state=STATE, timeout=1)
    assert info.value.code == 7 and str(port) in str(info.value) and "redirectURI" in str(info.value)


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("https://localhost:8400/", "cannot do TLS"),
        ("http://example.test:8400/", "localhost"),
        ("http://0.0.0.0:8400/", "loopback address only"),
        ("http://192.0.2.7:8400/", "loopback address only"),
        ("ftp://localhost/", "http URL"),
        ("", "redirectURI"),
        ("http://localhost:99999/", "invalid port"),
    ],
)
def test_bad_redirect_uris(uri, match) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        RedirectReceiver(uri, state=STATE, timeout=1)
    assert info.value.key == "redirectURI"


def test_pages_as_urls() -> None:
    with RedirectReceiver(
        "http://127.0.0.1:0/", state=STATE, timeout=5,
        success_page="https://app.example.test/done", error_page="https://app.example.test/failed",
    ) as r:
        status, headers, _ = request(r, "GET", "/?" + urlencode({"code": CODE, "state": STATE}))
        assert status == 302 and headers["Location"] == "https://app.example.test/done"
    with RedirectReceiver("http://127.0.0.1:0/", state=STATE, timeout=5,
                          error_page="https://app.example.test/failed") as r:
        status, headers, _ = request(r, "GET", "/?" + urlencode({"error": "x", "state": STATE}))
        assert status == 302 and headers["Location"] == "https://app.example.test/failed"


def test_pages_as_files(tmp_path) -> None:
    (tmp_path / "ok.html").write_text("<p>Custom OK</p>")
    (tmp_path / "ko.txt").write_text("Custom failure")
    with RedirectReceiver(
        "http://127.0.0.1:0/cb", state=STATE, timeout=5,
        success_page=str(tmp_path / "ok.html"), error_page=str(tmp_path / "ko.txt"),
    ) as r:
        status, headers, body = request(r, "POST", "/cb", urlencode({"code": CODE, "state": STATE}).encode(),
                                        {"Content-Type": "application/x-www-form-urlencoded"})
        assert (status, body) == (200, b"<p>Custom OK</p>") and headers["Content-Type"].startswith("text/html")
    with RedirectReceiver("http://127.0.0.1:0/cb", state=STATE, timeout=5, error_page=str(tmp_path / "ko.txt")) as r:
        status, headers, body = request(r, "GET", "/cb?" + urlencode({"error": "x", "state": STATE}))
        assert (status, body) == (200, b"Custom failure") and headers["Content-Type"].startswith("text/plain")


def test_missing_page_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError) as info:
        RedirectReceiver("http://127.0.0.1:0/", state=STATE, timeout=1, success_page=str(tmp_path / "none.html"))
    assert info.value.key == "authenticationPage"


def test_nothing_echoes_the_code(caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        with RedirectReceiver("http://127.0.0.1:0/cb", state=STATE, timeout=5) as r:
            answers = [
                request(r, "GET", "/other?code=" + CODE),
                request(r, "GET", "/cb?" + urlencode({"code": CODE, "state": "bad"})),
                request(r, "GET", "/cb?" + urlencode({"code": CODE, "state": STATE, "x": "1", "error": ""})),
                request(r, "GET", "/cb?" + urlencode({"code": CODE, "state": STATE})),
            ]
    for _status, headers, body in answers:
        assert CODE not in body.decode("utf-8", "replace") and CODE not in str(headers)
    assert all(CODE not in record.getMessage() for record in caplog.records)
    assert CODE not in repr(r)


def test_closed_after_the_flow() -> None:
    with RedirectReceiver("http://127.0.0.1:0/", state=STATE, timeout=5) as r:
        port = r.port
        get_status = request(r, "GET", "/?" + urlencode({"code": CODE, "state": STATE}))[0]
        assert get_status == 200
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    r.close()  # idempotent
