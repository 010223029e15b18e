"""Faults on the token and Graph endpoints: bounded retries, typed errors in a stated time, no double send.

Every fault kind the emulator injects (429 with and without Retry-After, 500, 503, latency beyond the
timeout, dropped connections) on the token endpoint, for an app token and for a user's silent refresh, and
in the middle of a browser or device code sign-in; then on Graph and on the token endpoint while
``Office365.mail.send`` runs. What must hold each time:

- the caller gets a ``NetKitError`` subclass (never a requests, urllib3 or MSAL exception), whose text holds
  no token or secret;
- it comes within ``BOUND`` seconds (a generous "no hang" bound, not a speed claim), after at most 3 token
  requests (urllib3 retries a 5xx twice) or the RetryPolicy's attempts on Graph;
- a throttled token request is not repeated while its Retry-After runs (MSAL replays the answer);
- ``sendMail`` reaches the server at most once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Optional, TypeVar, Union

import pytest

from netkit_msal import AuthenticationError, FlowTimeoutError, GraphError, HTTPError, NetKitError, OAuth2Provider
from netkit_msal.emulator import SECRET_CLIENT_SECRET, Emulator
from netkit_msal.office365 import Office365, RetryPolicy

T = TypeVar("T")
#: Seconds within which any faulty call must have returned or raised (no hang): generous on a busy machine, and
#: below the 30 s Retry-After the throttling faults ask for, so that a call obeying one fails.
BOUND = 25.0
#: The token timeout; honest answers come well within it even on a busy 2-core machine, latency faults beyond it.
TIMEOUT = 5
#: Graph's read timeout; latency faults on Graph are twice as long.
GRAPH_READ = 3.0
RETRY = RetryPolicy(max_retries=3, max_wait=5.0, backoff=0.05)
#: What a 5xx may become once it is typed: HTTPError (with its status) or AuthenticationError (Entra's error body).
SERVER_ERROR = (HTTPError, AuthenticationError)

TOKEN_FAULTS = [
    pytest.param(dict(status=429, retry_after=30, count=None), AuthenticationError, 1, id="429-retry-after"),
    pytest.param(dict(status=429, count=None), AuthenticationError, 1, id="429"),
    pytest.param(dict(status=500, count=None), SERVER_ERROR, 3, id="500"),
    pytest.param(dict(status=503, count=None), SERVER_ERROR, 3, id="503"),
    pytest.param(dict(status=503, retry_after=30, count=None), SERVER_ERROR, 1, id="503-retry-after"),
    pytest.param(dict(latency=2 * TIMEOUT + 0.5, count=None), FlowTimeoutError, 1, id="latency"),
    pytest.param(dict(drop=True, count=None), HTTPError, 1, id="drop"),
]


def token_requests(emu: Emulator) -> int:
    return emu.stats().get("token", 0)


def timed(call: Callable[[], T]) -> tuple[Optional[T], Optional[BaseException], float]:
    """(result, exception, seconds) of ``call()``."""
    started = time.monotonic()
    try:
        return call(), None, time.monotonic() - started
    except Exception as exc:  # noqa: BLE001 - the test judges the type
        return None, exc, time.monotonic() - started


def check_typed(exc: Optional[BaseException], expected: Union[type, tuple[type, ...]], secrets: Iterable[Optional[str]],
                elapsed: float) -> None:
    assert exc is not None, "the call succeeded under a permanent fault"
    assert isinstance(exc, NetKitError), f"raw {type(exc).__module__}.{type(exc).__name__}: {exc}"
    assert isinstance(exc, expected), (type(exc), exc)
    assert elapsed < BOUND, elapsed
    for secret in filter(None, secrets):
        assert secret not in str(exc) and secret not in repr(exc)


def signed_in(emu: Emulator, tmp_path: Path, permission: str) -> tuple[dict[str, Any], list[Optional[str]]]:
    """Params on a file cache holding a token that MSAL already counts as expired (120 s < 300 s)."""
    cache = {"path": str(tmp_path / "cache.bin"), "allowUnencrypted": True}
    params = emu.params(permission, cache=cache, timeout=TIMEOUT)
    emu.set_token_lifetime(120)
    first = OAuth2Provider(params).get_token()
    return params, [first.access_token, first.refresh_token, SECRET_CLIENT_SECRET]


@pytest.mark.parametrize("permission", ["service", "signedIn"])
@pytest.mark.parametrize("fault, expected, max_requests", TOKEN_FAULTS)
def test_token_endpoint_faults(emu, tmp_path, permission, fault, expected, max_requests):
    params, secrets = signed_in(emu, tmp_path, permission)
    emu.reset_stats()
    emu.inject_fault("token", **fault)
    before = token_requests(emu)
    _, exc, elapsed = timed(lambda: OAuth2Provider(params).get_token(interactive=False))
    check_typed(exc, expected, secrets, elapsed)
    assert 1 <= token_requests(emu) - before <= max_requests
    # again, from a new provider (a new process would do the same: the HTTP cache is persisted)
    before = token_requests(emu)
    _, again, elapsed = timed(lambda: OAuth2Provider(params).get_token(interactive=False))
    check_typed(again, expected, secrets, elapsed)
    if fault.get("status") == 429:
        assert token_requests(emu) == before, "a throttled token request was repeated"
    assert emu.stats().get("authorize", 0) == 0 and emu.stats().get("devicecode", 0) == 0


@pytest.mark.parametrize("permission", ["service", "signedIn"])
@pytest.mark.parametrize("fault", [dict(status=503), dict(status=500), dict(drop=False, latency=0.2)],
                         ids=["503", "500", "short-latency"])
def test_one_transient_token_fault_is_absorbed(emu, tmp_path, permission, fault):
    params, _ = signed_in(emu, tmp_path, permission)
    emu.inject_fault("token", count=1, **fault)
    before = token_requests(emu)
    token, exc, elapsed = timed(lambda: OAuth2Provider(params).get_token(interactive=False))
    assert exc is None, exc
    assert token.valid and elapsed < BOUND
    assert token_requests(emu) - before <= 2


def test_a_5xx_without_retry_after_is_not_carried_into_new_processes(emu, tmp_path):
    params, _ = signed_in(emu, tmp_path, "service")
    emu.inject_fault("token", status=500, count=3)  # the first provider's request and its two retries
    timed(lambda: OAuth2Provider(params).get_token(interactive=False))
    emu.clear_faults()
    before = token_requests(emu)
    token, exc, _ = timed(lambda: OAuth2Provider(params).get_token(interactive=False))
    assert exc is None and token.valid, exc
    assert token_requests(emu) == before + 1


# --- Graph, through Office365 --------------------------------------------------------------------------------

@pytest.fixture
def service(emu):
    provider = OAuth2Provider(emu.params("service", cache=False))
    yield provider
    provider.close()


def mailbox(provider: OAuth2Provider, emu: Emulator) -> Office365:
    return Office365(provider, {"userId": emu.users[0].upn}, timeout=(10.0, GRAPH_READ), retry=RETRY)


def mail(emu: Emulator, kind: str) -> dict[str, Any]:
    return {"subject": f"fault {kind} {uuid.uuid4().hex[:8]}", "body": {"contentType": "text", "content": "x"},
            "toRecipients": [{"emailAddress": {"address": emu.users[1].upn}}]}


def sent(emu: Emulator) -> int:
    return emu.stats().get("sendMail", 0)


def settle_sent(emu: Emulator, before: int, expected: int) -> int:
    """The sendMail count once late requests (latency faults) have been handled."""
    deadline = time.monotonic() + 60  # reached only when the mail never arrives
    while sent(emu) - before < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return sent(emu) - before


GRAPH_SEND_FAULTS = [  # fault, delivered?, attempts on Graph
    pytest.param(dict(status=429, retry_after=0, count=1), True, 2, id="429-once"),
    pytest.param(dict(status=429, retry_after=30, count=None), False, 1, id="429-beyond-budget"),
    pytest.param(dict(status=429, count=None), False, 4, id="429-always"),
    pytest.param(dict(status=503, count=1), True, 2, id="503-once"),
    pytest.param(dict(status=503, count=None), False, 4, id="503-always"),
    pytest.param(dict(status=500, count=1), False, 1, id="500-once"),
    pytest.param(dict(status=500, count=None), False, 1, id="500-always"),
    pytest.param(dict(drop=True, count=1), False, 1, id="drop-once"),
    pytest.param(dict(drop=True, count=None), False, 1, id="drop-always"),
    pytest.param(dict(latency=2 * GRAPH_READ, count=1), False, 1, id="latency"),
]


@pytest.mark.parametrize("fault, delivered, attempts", GRAPH_SEND_FAULTS)
def test_send_mail_under_graph_faults_is_never_sent_twice(emu, service, fault, delivered, attempts):
    box = mailbox(service, emu)
    box.user.get_current()  # token and connection ready: what follows is the send alone
    before, graph_before = sent(emu), emu.stats()["graph"]
    emu.inject_fault("graph", **fault)
    status, exc, elapsed = timed(lambda: box.mail.send(mail(emu, "graph")))
    assert exc is None, f"send raised {type(exc).__name__}: {exc}"  # Graph's refusals are status objects
    assert elapsed < BOUND
    assert status.success is delivered, status
    assert emu.stats()["graph"] - graph_before == attempts
    emu.clear_faults()
    late = "latency" in fault  # the server took the mail and answered after the read timeout
    assert settle_sent(emu, before, 1 if delivered or late else 0) == (1 if delivered or late else 0)
    if not delivered:
        assert status.statusText and service.get_token().access_token not in str(status)


@pytest.mark.parametrize("fault, expected", [
    pytest.param(dict(status=429, retry_after=30, count=None), AuthenticationError, id="429"),
    pytest.param(dict(status=500, count=None), SERVER_ERROR, id="500"),
    pytest.param(dict(status=503, count=None), SERVER_ERROR, id="503"),
    pytest.param(dict(latency=2 * TIMEOUT + 0.5, count=None), FlowTimeoutError, id="latency"),
    pytest.param(dict(drop=True, count=None), HTTPError, id="drop"),
])
def test_send_mail_under_token_faults_fails_typed_and_sends_nothing(emu, tmp_path, fault, expected):
    params, secrets = signed_in(emu, tmp_path, "service")  # every Graph call needs a new token now
    provider = OAuth2Provider(params)
    box = mailbox(provider, emu)
    before, graph_before = sent(emu), emu.stats()["graph"]
    emu.inject_fault("token", **fault)
    status, exc, elapsed = timed(lambda: box.mail.send(mail(emu, "token")))
    if exc is None:  # a failed status is acceptable too, if it says why
        assert status.success is False and elapsed < BOUND
    else:
        check_typed(exc, expected, secrets, elapsed)
    emu.clear_faults()
    assert emu.stats()["graph"] == graph_before and settle_sent(emu, before, 0) == 0


@pytest.mark.parametrize("fault, error_code, attempts", [
    pytest.param(dict(status=503, count=None), "ServiceUnavailable", 4, id="503"),
    pytest.param(dict(status=500, count=None), "InternalServerError", 4, id="500"),
    pytest.param(dict(drop=True, count=None), "connectionError", 4, id="drop"),
    pytest.param(dict(latency=2 * GRAPH_READ, count=None), "timeout", 4, id="latency"),
])
def test_graph_get_under_permanent_faults_is_a_bounded_graph_error(emu, service, fault, error_code, attempts):
    box = mailbox(service, emu)
    box.user.get_current()
    graph_before = emu.stats()["graph"]
    emu.inject_fault("graph", **fault)
    _, exc, elapsed = timed(lambda: box.mail.get_folder_list())
    assert isinstance(exc, GraphError), exc
    assert exc.error_code == error_code and elapsed < BOUND
    assert emu.stats()["graph"] - graph_before == attempts


# --- faults in the middle of a sign-in ------------------------------------------------------------------------

INTERACTIVE_FAULTS = [
    pytest.param(dict(status=429, retry_after=30, count=None), AuthenticationError, id="429"),
    pytest.param(dict(status=500, count=None), SERVER_ERROR, id="500"),
    pytest.param(dict(latency=2 * TIMEOUT + 0.5, count=None), FlowTimeoutError, id="latency"),
    pytest.param(dict(drop=True, count=None), HTTPError, id="drop"),
]


@pytest.mark.parametrize("fault, expected", INTERACTIVE_FAULTS)
def test_browser_sign_in_when_the_code_cannot_be_redeemed(emu, fault, expected):
    """The redirect arrives, the token endpoint fails: a typed error, and the redirect listener is gone."""
    import socket
    from urllib.parse import parse_qsl, urlsplit

    browser = emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=TIMEOUT))
    provider.accounts()  # discovery before the fault: the fault is for the code's redemption
    emu.inject_fault("token", **fault)
    _, exc, elapsed = timed(provider.get_token)
    check_typed(exc, expected, [], elapsed)
    port = urlsplit(dict(parse_qsl(urlsplit(browser.opened[-1]).query))["redirect_uri"]).port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize("endpoint", ["devicecode", "token"])
@pytest.mark.parametrize("fault, expected", [param.values for param in INTERACTIVE_FAULTS],
                         ids=[param.id for param in INTERACTIVE_FAULTS])
def test_device_code_sign_in_under_faults(emu, endpoint, fault, expected):
    provider = OAuth2Provider(emu.params(cache=False, flow="deviceCode", timeout=TIMEOUT),
                              on_device_code=lambda info: None)
    provider.accounts()  # discovery first
    emu.inject_fault(endpoint, **fault)
    _, exc, elapsed = timed(provider.get_token)
    check_typed(exc, expected, [], elapsed)
