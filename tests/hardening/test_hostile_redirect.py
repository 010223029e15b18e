"""Hostile requests at the redirect receiver while ``OAuth2Provider.get_token()`` waits for a real sign-in.

tests/loopback covers the receiver alone; here the requests arrive during the provider's own browser flow
(the browser ``webbrowser`` opens first fires them at the redirect URI, then signs in at the emulator):
wrong state, other paths, missing code, malformed, huge and slow requests, and many at once. The sign-in
must still complete with the real code, each hostile request gets its 403/404/400/413, no answer holds the
code, and the listener is gone once the flow ends (by success, error or time-out).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import webbrowser
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from netkit_msal import CallbackError, FlowTimeoutError, OAuth2Provider, _loopback_server
from netkit_msal.emulator._browser import HeadlessBrowser

ATTACKER_CODE = "attacker-code-0123456789abcdef"


def send(port: int, method: str, target: str, body: Optional[bytes] = None,
         headers: Optional[dict] = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def raw(port: int, data: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    answer = b"".join(chunks)
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/") else 0, answer


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def hostile_requests(port: int, path: str) -> list[tuple[str, set[int], Callable[[], tuple[int, bytes]]]]:
    """(name, acceptable statuses, request) for everything an attacker on this machine might send."""
    wrong = urlencode({"code": ATTACKER_CODE, "state": "guessed-state"})
    return [
        ("wrong state", {403}, lambda: send(port, "GET", f"{path}?{wrong}")),
        ("no state", {403}, lambda: send(port, "GET", f"{path}?code={ATTACKER_CODE}")),
        ("wrong state, error", {403}, lambda: send(port, "GET", f"{path}?error=access_denied&state=guessed")),
        ("wrong state, form_post", {403}, lambda: send(port, "POST", path, wrong.encode(), FORM)),
        ("other path", {404}, lambda: send(port, "GET", f"/elsewhere?{wrong}")),
        ("favicon", {404}, lambda: send(port, "GET", "/favicon.ico")),
        ("post elsewhere", {404}, lambda: send(port, "POST", "/x", wrong.encode(), FORM)),
        ("repeated names", {400, 403}, lambda: send(port, "GET", f"{path}?state=a&state=b&code=c")),
        ("json body", {403, 415}, lambda: send(port, "POST", path, b"{}", {"Content-Type": "application/json"})),
        ("huge body", {413}, lambda: send(port, "POST", path, b"x" * (_loopback_server.MAX_REQUEST_BYTES + 1), FORM)),
        ("huge line", {413, 414},
         lambda: raw(port, b"GET " + path.encode() + b"?x=" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")),
        ("huge headers", {413, 431}, lambda: raw(port, b"GET / HTTP/1.1\r\n" + b"X-A: " + b"b" * 70000 + b"\r\n\r\n")),
        ("garbage", {400}, lambda: raw(port, b"\x16\x03\x01\x00\xff\r\n\r\n")),
        ("bad length", {400}, lambda: raw(port, b"POST " + path.encode() + b" HTTP/1.1\r\nContent-Length: x\r\n\r\n")),
    ]


class AttackedBrowser(webbrowser.BaseBrowser):
    """Opens the sign-in URL like a browser, but lets ``attack(port, path)`` run at the redirect URI first."""

    def __init__(self, ca_file: str, attack: Callable[[int, str], None]) -> None:
        super().__init__("netkit-msal-hardening-attacked")
        self.ca_file = ca_file
        self.attack = attack
        self.delivered: dict[str, str] = {}
        self.errors: list[str] = []
        self.done = threading.Event()

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        threading.Thread(target=self._run, args=(url,), daemon=True).start()
        return True

    def _run(self, url: str) -> None:
        try:
            redirect = urlsplit(dict(parse_qsl(urlsplit(url).query))["redirect_uri"])
            self.attack(redirect.port, redirect.path or "/")
            self.delivered = HeadlessBrowser(self.ca_file).visit(url)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.done.set()


@pytest.fixture
def attacked(emu):
    """``attacked(attack)`` registers an AttackedBrowser as the preferred browser; the emulator's comes back."""
    def install(attack: Callable[[int, str], None]) -> AttackedBrowser:
        browser = AttackedBrowser(emu.ca_file, attack)
        webbrowser.register(browser.name, None, browser, preferred=True)
        return browser

    yield install
    emu.install_browser()


def port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sign_in_completes_through_hostile_requests(emu, attacked, monkeypatch):
    monkeypatch.setattr(_loopback_server._Handler, "timeout", 2.0)  # silent connections are cut sooner
    answers: list[tuple[str, set[int], int, bytes]] = []
    slow: list[socket.socket] = []
    state = {}

    def attack(port: int, path: str) -> None:
        state["port"] = port
        for _ in range(3):  # slow clients: a request line that never ends, headers that never end
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"GET " + path.encode() + b"?state=")
            slow.append(sock)
        requests_ = hostile_requests(port, path)
        for name, expected, request in requests_:
            answers.append((name, expected, *request()))
        with ThreadPoolExecutor(max_workers=40) as pool:  # many at once, below the connection cap
            burst = list(pool.map(lambda i: requests_[i % 7], range(40)))
            results = list(pool.map(lambda item: (item[0], item[1], *item[2]()), burst))
        answers.extend(results)

    browser = attacked(attack)
    # the hostile traffic did not stall the flow into its time-out (generous: only reached on failure)
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=60))
    token = provider.get_token()
    assert browser.done.wait(60) and not browser.errors, browser.errors
    assert token.valid and token.username == emu.users[0].upn
    wrong = [(name, expected, status) for name, expected, status, _ in answers if status not in expected]
    assert not wrong, wrong
    code = browser.delivered["code"]
    assert all(code.encode() not in body for *_, body in answers)
    assert port_closed(state["port"])  # the flow ended: nothing listens any more
    for sock in slow:  # and the slow connections were cut, not left hanging
        sock.settimeout(10)
        try:
            while sock.recv(1024):  # an error page may come first; then the server closes it
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            pytest.fail("a slow connection was left open after the flow ended")
        finally:
            sock.close()


def test_an_attacker_cannot_abort_or_answer_the_sign_in(emu, attacked):
    """Error and code responses with a wrong state are refused; the real redirect still signs the user in."""
    def attack(port: int, path: str) -> None:
        for params in ({"error": "access_denied", "error_description": "forged"},
                       {"code": ATTACKER_CODE}, {"code": ATTACKER_CODE, "state": ""}):
            for method in ("GET", "POST"):
                query = urlencode({**params, "state": params.get("state", "forged")})
                status, _ = (send(port, "GET", f"{path}?{query}") if method == "GET"
                             else send(port, "POST", path, query.encode(), FORM))
                assert status == 403, (params, method, status)

    browser = attacked(attack)
    token = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=30)).get_token()
    assert browser.done.wait(10) and not browser.errors, browser.errors
    assert token.valid


def test_listener_stops_when_the_flow_times_out_under_hostile_traffic(emu, attacked):
    port_seen = {}
    stop = threading.Event()

    def attack(port: int, path: str) -> None:  # keeps knocking, never signs in
        port_seen["port"] = port
        while not stop.is_set():
            try:
                assert send(port, "GET", f"{path}?code={ATTACKER_CODE}&state=nope")[0] == 403
            except (ConnectionError, OSError):
                return  # the listener is gone
            time.sleep(0.02)
        raise SystemExit  # never deliver

    attacked(attack)
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=1.5))
    started = time.monotonic()
    with pytest.raises(FlowTimeoutError):
        provider.get_token()
    assert time.monotonic() - started < 60  # knocking did not keep the flow alive (generous: a bound, not a speed)
    assert port_closed(port_seen["port"])
    stop.set()


def test_listener_stops_when_the_sign_in_is_refused(emu):
    user = emu.users[2].upn
    emu.disable_user(user)  # the emulator redirects with an error instead of a code
    try:
        browser = emu.install_browser()
        provider = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=30, loginHint=user))
        with pytest.raises(CallbackError):
            provider.get_token()
    finally:
        emu.disable_user(user, False)
    port = urlsplit(dict(parse_qsl(urlsplit(browser.opened[-1]).query))["redirect_uri"]).port
    assert port_closed(port)


@pytest.mark.parametrize("flood", [_loopback_server.MAX_CONNECTIONS + 16])
def test_a_flood_of_silent_connections_does_not_lose_the_redirect(emu, attacked, flood, monkeypatch):
    """More silent connections than the receiver serves at once, then the real redirect."""
    monkeypatch.setattr(_loopback_server._Handler, "timeout", 600.0)  # only making room can let the redirect in
    sockets: list[socket.socket] = []

    def attack(port: int, path: str) -> None:
        for _ in range(flood):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"GET " + path.encode())
            sockets.append(sock)

    browser = attacked(attack)
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=60))
    try:
        token = provider.get_token()
        assert browser.done.wait(60) and not browser.errors, browser.errors
        assert token.valid
    finally:
        for sock in sockets:
            sock.close()


def test_prepared_sign_in_stops_listening_when_the_provider_closes(emu):
    """browserAutoOpen false: ``authenticate_uri`` binds the listener; an app that gives up closes it."""
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", browserAutoOpen=False, timeout=30))
    url = provider.authenticate_uri
    redirect = urlsplit(dict(parse_qsl(urlsplit(url).query))["redirect_uri"])
    assert send(redirect.port, "GET", f"{redirect.path or '/'}?code={ATTACKER_CODE}&state=nope")[0] == 403
    provider.close()
    assert port_closed(redirect.port)
