"""msgraph-sdk for a provider: a ready ``GraphServiceClient``, sync calls without event-loop traps, typed errors.

The traps this module removes: msgraph-sdk silently sends no token to a host missing from ``allowed_hosts`` (the
emulator, a national cloud); without explicit scopes it asks for ``https://<host>/.default``; without the
``/me`` URL-replace option ``client.me`` goes to ``/users/me-token-to-replace``; and it is async only, so a
second ``asyncio.run()`` on the same client fails with "Event loop is closed" (its connection pool belongs to
the first loop). ``run_sync`` runs every call on one background event loop per process instead.

msgraph-sdk is imported when a client is built, never at ``import netkit_msal``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sys
import threading
from collections.abc import Awaitable, Iterator
from typing import TYPE_CHECKING, Optional, TypeVar
from urllib.parse import urlsplit

from ._claims import claims_challenge
from ._exceptions import FlowTimeoutError, HTTPError, InteractionRequiredError, NetKitError
from ._graph_errors import graph_error
from ._net import RetryPolicy
from ._scopes import graph_scopes
from ._types import HTTPTokenSource, Scopes

if TYPE_CHECKING:
    from msgraph import GraphServiceClient

T = TypeVar("T")

#: The Graph API version the client's base URL points at.
API_VERSION = "v1.0"


def graph_client(provider: HTTPTokenSource, scopes: Scopes = None, *,
                 retry: RetryPolicy = RetryPolicy()) -> GraphServiceClient:
    """A msgraph-sdk ``GraphServiceClient`` for the provider's Graph endpoint (global, national cloud, emulator).

    Tokens come from an ``AsyncProviderCredential`` on the provider (so a refresh or sign-in never blocks the event
    loop) and are sent to the Graph endpoint's host only. TLS trusts the system CAs plus the provider's ``caFile``.
    The client is async; from synchronous code use ``run_sync(client.me.get())``. Retries follow ``retry``, as
    ``Office365``'s do: a request Graph may have acted on (``POST /sendMail`` answered 504) is never sent twice.
    """
    try:
        import httpx
        import msgraph.graph_request_adapter
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.kiota_client_factory import DEFAULT_CONNECTION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

        from ._credential import AsyncProviderCredential
        from ._graph_retry import graph_middleware
    except ImportError as exc:
        raise ImportError(f"graph_client() needs msgraph-sdk: pip install 'netkit-msal[graph]' ({exc})") from exc

    endpoint = provider.config.graph_endpoint
    base_url = f"{endpoint}/{API_VERSION}"
    host = (urlsplit(endpoint).hostname or "").lower()
    auth = AzureIdentityAuthenticationProvider(AsyncProviderCredential(provider),
                                               scopes=graph_scopes(provider.config, scopes),
                                               allowed_hosts=[host])
    http = httpx.AsyncClient(base_url=base_url, verify=provider.ssl_context(), http2=True,
                             timeout=httpx.Timeout(DEFAULT_REQUEST_TIMEOUT, connect=DEFAULT_CONNECTION_TIMEOUT))
    adapter = GraphRequestAdapter(auth, client=GraphClientFactory.create_with_custom_middleware(
        graph_middleware(msgraph.graph_request_adapter.options, retry), client=http))
    adapter.base_url = base_url  # httpx adds a trailing slash to its base URL: paths would start with "//"
    return GraphServiceClient(request_adapter=adapter)


# --- errors ---------------------------------------------------------------------------------------------------

def to_graph_error(exc: BaseException) -> Optional[NetKitError]:
    """msgraph-sdk's ``ODataError`` (any kiota ``APIError``) as a GraphError, an httpx transport failure as an
    HTTPError; None for anything else. Imports nothing: an exception of a module not loaded cannot be one.

    kiota answers a claims challenge once, by itself, with a token got with the claims (the credential passes them
    to MSAL); a 401 challenge that is still there after that is an InteractionRequiredError carrying the claims.
    """
    api_error = sys.modules.get("kiota_abstractions.api_error")
    if api_error is not None and isinstance(exc, api_error.APIError):
        claims = claims_challenge(exc.response_headers or {}) if exc.response_status_code == 401 else None
        if claims is not None:
            return InteractionRequiredError("Microsoft Graph challenged the token again after kiota's retry with "
                                            "the claims", error="insufficient_claims", claims=claims)
        main = getattr(exc, "error", None)  # ODataError's Graph payload
        inner = getattr(main, "inner_error", None)
        return graph_error("Microsoft Graph", exc.response_status_code, exc.response_headers or {},
                           code=getattr(main, "code", None), message=getattr(main, "message", None) or exc.message,
                           request_id=getattr(inner, "request_id", None))
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.TransportError):
        return HTTPError(f"Microsoft Graph could not be reached: {type(exc).__name__}: {exc}")
    return None


@contextlib.contextmanager
def graph_errors() -> Iterator[None]:
    """Inside this block Graph failures raise GraphError, network failures HTTPError (in async code too)::

        with graph_errors():
            me = await client.me.get()
    """
    try:
        yield
    except Exception as exc:
        error = to_graph_error(exc)
        if error is None:
            raise
        raise error from exc


# --- synchronous use --------------------------------------------------------------------------------------------

_loop_lock = threading.Lock()
_loop: Optional[asyncio.AbstractEventLoop] = None
_loop_pid = 0


def _background_loop() -> asyncio.AbstractEventLoop:
    """The process's background event loop (started on first use, again in a forked child)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="netkit-msal-graph-loop", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def run_sync(awaitable: Awaitable[T], *, timeout: Optional[float] = None) -> T:
    """Run an msgraph-sdk call (any awaitable) from synchronous code and return its result.

    Every call runs on one background event loop per process, so a client is reused across calls, in scripts
    and in notebooks (whose own loop is already running) alike. Graph failures raise GraphError (``status``,
    ``error_code``, ``request_id``, ``retry_after``), network failures HTTPError, and ``timeout`` (seconds,
    default none) FlowTimeoutError. A client driven by ``run_sync`` must not also be awaited on another loop.
    """
    loop = _background_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError("run_sync() was called on its own event loop (it would wait forever): await instead")
    future = asyncio.run_coroutine_threadsafe(_await(awaitable), loop)
    if not concurrent.futures.wait([future], timeout).done:
        future.cancel()
        raise FlowTimeoutError(f"the Graph call took longer than {timeout} s")
    with graph_errors():
        return future.result()
