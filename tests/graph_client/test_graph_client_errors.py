"""401, 403 and 429 from Graph, network failures and timeouts, as typed errors through ``run_sync``; the
background loop in script and notebook situations."""

from __future__ import annotations

import asyncio
import socket

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import RetryHandlerOption

from netkit_msal import FlowTimeoutError, GraphError, HTTPError, OAuth2Provider
from netkit_msal._graph import run_sync


def test_401_expired_token(user_client, delegated, emulator):
    """The emulator's clock moves two hours on: the client still holds its token, Graph says it expired."""
    run_sync(user_client.me.get())
    emulator.advance_clock(7200)
    try:
        with pytest.raises(GraphError) as caught:
            run_sync(user_client.me.get())
    finally:
        emulator.advance_clock(-7200)
    error = caught.value
    assert error.status == 401 and error.error_code == "InvalidAuthenticationToken"
    assert "expired" in error.message and error.code == 8
    assert delegated.get_token().access_token not in str(error)


def test_403_scope_missing(emulator):
    """A provider signed in with User.Read only: /me works, reading mail is forbidden."""
    emulator.install_browser()
    provider = OAuth2Provider(emulator.params("signedIn", cache=False, scope=["User.Read"]))
    try:
        client = provider.graph_client()
        assert run_sync(client.me.get()).user_principal_name == emulator.users[0].upn
        with pytest.raises(GraphError) as caught:
            run_sync(client.me.messages.get())
    finally:
        provider.close()
    assert caught.value.status == 403 and caught.value.error_code == "ErrorAccessDenied"
    assert caught.value.request_id and caught.value.request_id in caught.value.message


def test_429_retried_by_the_sdk_then_typed(app_client, emulator):
    """The SDK's retry handler (kept by graph_client) retries after Retry-After; when the throttling outlasts its
    retries, the 429 surfaces with ``retry_after``. One retry here, so that the test waits one second only."""
    one_retry = RequestConfiguration(options=[RetryHandlerOption(max_retries=1)])
    user = app_client.users.by_user_id(emulator.users[0].upn)
    before = emulator.stats().get("graph", 0)
    emulator.inject_fault("graph", status=429, count=2, retry_after=1)
    try:
        with pytest.raises(GraphError) as caught:
            run_sync(user.get(request_configuration=one_retry))
        assert emulator.stats()["graph"] == before + 2  # the first attempt and one retry
        assert run_sync(user.get(request_configuration=one_retry)).user_principal_name == emulator.users[0].upn
    finally:
        emulator.clear_faults()
    error = caught.value
    assert (error.status, error.error_code, error.retry_after) == (429, "TooManyRequests", 1.0)
    assert error.request_id


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_graph_is_an_http_error(emulator):
    provider = OAuth2Provider(emulator.params("service", cache=False,
                                              graphEndpoint=f"https://127.0.0.1:{_closed_port()}"))
    try:
        with pytest.raises(HTTPError) as caught:
            run_sync(provider.graph_client().users.get())
    finally:
        provider.close()
    assert not isinstance(caught.value, GraphError) and caught.value.status is None
    assert "could not be reached" in str(caught.value)


def test_timeout():
    with pytest.raises(FlowTimeoutError):
        run_sync(asyncio.sleep(30), timeout=0.05)


def test_inside_a_running_loop_as_in_a_notebook(app_client, emulator):
    """Jupyter runs cells while its own loop runs: run_sync still works there, and asyncio.run() afterwards too."""
    async def cell():
        return run_sync(app_client.users.by_user_id(emulator.users[2].upn).get())

    assert asyncio.run(cell()).user_principal_name == emulator.users[2].upn
    assert asyncio.run(cell()).user_principal_name == emulator.users[2].upn


def test_not_on_its_own_loop():
    async def nested():
        return run_sync(asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="its own event loop"):
        run_sync(nested())


def test_other_errors_pass_through():
    async def broken():
        raise KeyError("not a Graph error")

    with pytest.raises(KeyError):
        run_sync(broken())


def test_a_forked_child_gets_its_own_loop():
    """After fork the parent's loop thread does not exist in the child: run_sync starts a new one there.

    The fork happens in a new process whose only other thread is run_sync's loop, not in pytest's, whose
    threads (the emulator's, loggers') may hold locks a forked child would wait on for ever.
    """
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import asyncio, os, sys
        from netkit_msal._graph import run_sync
        assert run_sync(asyncio.sleep(0, result="parent")) == "parent"
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = 0 if run_sync(asyncio.sleep(0, result="child"), timeout=60) == "child" else 1
            finally:
                os._exit(status)
        sys.exit(0 if os.waitpid(pid, 0)[1] == 0 else 1)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
