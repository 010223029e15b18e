"""kiota's retry middleware under the package's one retry policy (``_net.retry_delay``), for msgraph-sdk clients.

kiota's ``RetryHandler`` retries 429, 503 and 504 for every method: a ``POST /sendMail`` answered 504 (Graph may
have sent the mail) went out twice. Here 429 and 503 (Graph refused the request) are retried for every method,
500/502/504 only for idempotent ones, ``Retry-After`` is honoured within the policy's budget, and beyond it the
error comes back with its ``Retry-After`` (``GraphError.retry_after``). Only the two decisions are replaced;
kiota's loop, request options (``RetryHandlerOption(should_retry=False)``, ``max_retries``) and tracing stay.

Imported by ``graph_client()`` only (it imports kiota).
"""

from __future__ import annotations

from typing import Any, Optional

import httpx
from kiota_abstractions.request_option import RequestOption
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.middleware import BaseMiddleware
from kiota_http.middleware.options import RetryHandlerOption
from msgraph_core.middleware import GraphTelemetryHandler
from msgraph_core.middleware.options import GraphTelemetryHandlerOption

from ._net import IDEMPOTENT, RetryPolicy, retry_delay

_WAITED = "netkit_msal.retry_waited"  # seconds this request has waited so far, in its httpx extensions
_RETRIED = frozenset({429, 500, 502, 503, 504})


class PolicyRetryHandler(RetryHandler):
    """kiota's ``RetryHandler`` deciding by :func:`netkit_msal._net.retry_delay`."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__(RetryHandlerOption(max_retries=min(policy.max_retries, RetryHandlerOption.MAX_MAX_RETRIES)))
        self.policy = policy

    def should_retry(self, request: httpx.Request, options: RetryHandlerOption, response: httpx.Response) -> bool:
        return (options.max_retry > 0 and response.status_code in _RETRIED
                and self._is_request_payload_buffered(request))

    def get_delay_time(self, retry_count: int, response: Optional[httpx.Response] = None,
                       delay: float = RetryHandlerOption.DEFAULT_DELAY) -> float:
        """The policy's wait; ``MAX_DELAY`` (kiota then gives up) when the policy says not to retry."""
        if response is None:
            return RetryHandlerOption.MAX_DELAY
        request = response.request
        waited = float(request.extensions.get(_WAITED, 0.0))
        wait = retry_delay(self.policy, retry_count, response.status_code, response.headers,
                           idempotent=request.method.upper() in IDEMPOTENT, waited=waited)
        if wait is None or wait >= RetryHandlerOption.MAX_DELAY:
            return RetryHandlerOption.MAX_DELAY
        request.extensions[_WAITED] = waited + wait
        return wait


def graph_middleware(options: dict[str, RequestOption], policy: RetryPolicy) -> list[BaseMiddleware]:
    """msgraph-sdk's default middleware chain, its retry handler replaced by :class:`PolicyRetryHandler`."""
    chain: list[Any] = [PolicyRetryHandler(policy) if type(handler) is RetryHandler else handler
                        for handler in KiotaClientFactory.get_default_middleware(options)]
    telemetry = options.get(GraphTelemetryHandlerOption().get_key())
    chain.append(GraphTelemetryHandler(options=telemetry) if isinstance(telemetry, GraphTelemetryHandlerOption)
                 else GraphTelemetryHandler())
    return chain
