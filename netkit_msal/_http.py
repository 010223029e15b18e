"""HTTP for MSAL and for the clients built on a provider: trust the system CAs plus ``caFile``.

Where ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are set, requests uses them instead of ``Session.verify`` and
of what MSAL asks, so the extra CA would be ignored. The session therefore has ``trust_env=False`` and carries
its own SSL context; proxies from the environment (``HTTPS_PROXY``, ``NO_PROXY``) still apply, except to
loopback addresses.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from typing import Any, Optional, Union

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.util.retry import Retry

from ._net import is_loopback_host, parse_retry_after, ssl_context
from ._version import __version__

__all__ = ["Session", "make_session", "ssl_context"]

#: (connect, read) seconds for one request to the identity platform.
DEFAULT_TIMEOUT = (10.0, 30.0)

#: An SSL context, or a function returning one (called on the first HTTPS request).
ContextSource = Union[ssl.SSLContext, Callable[[], ssl.SSLContext], None]


class _TransientRetry(Retry):
    """Retry quickly what is safe to retry.

    A refused connection never reached the server: always retried. For the identity platform's session, a
    500/502/503/504 is retried too, unless it carries ``Retry-After``: MSAL honours that itself (it replays the
    error for that long instead of calling again). A read time-out is never retried, so a slow server fails within
    the timeout, and a request that may have been processed is not sent twice.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return not has_retry_after and super().is_retry(method, status_code, has_retry_after)


def _retry(server_errors: bool) -> Retry:
    return _TransientRetry(total=2, connect=2, read=False, status=2 if server_errors else 0, other=0, redirect=0,
                           allowed_methods=None, status_forcelist=(500, 502, 503, 504) if server_errors else None,
                           backoff_factor=0.2, raise_on_status=False, respect_retry_after_header=False)


class _ContextAdapter(HTTPAdapter):
    """Uses one SSL context for every pool (direct or through a proxy), and retries transient failures."""

    def __init__(self, context: ssl.SSLContext, retry: Retry) -> None:
        self._context = context
        super().__init__(max_retries=retry)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Verify against the context's CAs only: requests would load certifi's bundle into it per connection."""
        super().cert_verify(conn, url, verify, cert)
        if verify is True:
            conn.ca_certs = conn.ca_cert_dir = None


class Session(requests.Session):
    """A requests session with a default timeout and environment proxies but not the environment's CA bundle.

    The HTTPS adapter and its SSL context are built on the first HTTPS request: loading the system CAs costs
    ~20 ms, which a token served from the cache (``netkit-msal token`` in a new process) never needs to pay.
    """

    def __init__(self, ca_file: Optional[str] = None,
                 timeout: Union[float, tuple[float, float]] = DEFAULT_TIMEOUT, *,
                 context: ContextSource = None, retry_server_errors: bool = False) -> None:
        super().__init__()
        self.trust_env = False
        self.headers["User-Agent"] = f"netkit-msal/{__version__} {self.headers['User-Agent']}"  # MSAL adds x-client-*
        self.timeout = timeout
        self._identity = retry_server_errors  # the identity platform's session (MSAL's)
        self._https: Optional[tuple[Optional[str], ContextSource, bool]] = (ca_file, context, retry_server_errors)
        self._https_lock = threading.Lock()
        self.mount("http://", HTTPAdapter(max_retries=_retry(retry_server_errors)))

    def get_adapter(self, url: str) -> BaseAdapter:
        if self._https is not None and url.lower().startswith("https://"):
            with self._https_lock:
                if self._https is not None:
                    ca_file, context, retry_server_errors = self._https
                    if callable(context):
                        context = context()
                    adapter = _ContextAdapter(context or ssl_context(ca_file), _retry(retry_server_errors))
                    self.mount("https://", adapter)
                    self._https = None
        return super().get_adapter(url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]  # noqa: E501 -- passes everything on
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = super().request(method, url, *args, **kwargs)
        if self._identity and response.status_code == 429:
            _carry_retry_after(response)
        return response

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        if not proxies and not is_loopback_host(requests.utils.urlparse(url).hostname):
            proxies = get_environ_proxies(url)
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


def _carry_retry_after(response: requests.Response) -> None:
    """Put a 429's ``Retry-After`` into its OAuth error body as ``retry_after``: MSAL hands the body back without
    the headers, and the AuthenticationError should say when to try again. The request is not repeated: MSAL
    replays this answer (persisted with its HTTP cache, so in new processes too) until that time has passed."""
    seconds = parse_retry_after(response.headers.get("Retry-After"))
    if seconds is None:
        return
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict):
        body["retry_after"] = seconds
        response._content = json.dumps(body).encode("utf-8")
        response.encoding = "utf-8"


def make_session(ca_file: Optional[str] = None, timeout: Optional[float] = None, *,
                 context: ContextSource = None, retry_server_errors: bool = False) -> Session:
    """A session for one provider; ``timeout`` caps the read timeout (4D's ``timeout`` parameter).

    ``retry_server_errors`` is for the identity platform only (token requests are safe to repeat after a 5xx);
    other callers (Graph) keep their own retry policy.
    """
    connect, read = DEFAULT_TIMEOUT
    limits = DEFAULT_TIMEOUT if timeout is None else (min(connect, timeout), min(read, timeout))
    return Session(ca_file, limits, context=context, retry_server_errors=retry_server_errors)

