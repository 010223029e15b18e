"""Synchronous Microsoft Graph over plain ``requests``: auth header, errors, bounded retries, ``$batch``.

Why not msgraph-sdk: it is async only and its first call imports ~1,200 generated model modules
(~1 s); a raw keep-alive GET over the provider's ``requests.Session`` costs ~1 ms. The facade needs
Graph's JSON as plain dicts anyway (4D's "Microsoft" mail type is Graph JSON), so ``requests`` +
``json`` is both faster and simpler. The session is the provider's (``provider.http_session()``):
it trusts the configured CA and ignores ``REQUESTS_CA_BUNDLE``.

Retries (``retry_delay`` is the whole policy, a pure function):

- 429 and 503 are retried for every method, POST included: the server refused the request, so
  repeating it can't duplicate anything. ``Retry-After`` (seconds or an HTTP date) is honoured;
  without it the wait doubles from ``backoff``.
- 500, 502, 504 and a connection lost or timed out after the request was sent are retried only
  for idempotent requests (GET, HEAD, PUT, DELETE, PATCH, a ``$batch`` of GETs). A POST such as
  ``sendMail`` may have been accepted: it is reported as an error, never sent again.
- A connection that could not be opened at all is retried for every method (nothing was sent).
- At most ``max_retries`` retries, and at most ``max_wait`` seconds of waiting in total for one
  call: a ``Retry-After`` beyond that budget raises at once, with ``GraphError.retry_after`` set.
- One 401 is retried with a freshly refreshed token (the server refused; the token may have been
  revoked or expired early).
- A 401 with a claims challenge (continuous access evaluation, conditional access step-up) is retried once
  with a token got with those claims; a second challenge raises ``InteractionRequiredError`` carrying them.

Sign-in: the first call may start the provider's flow (browser or device code) when there is no
token yet; after that, a session that can't be renewed silently raises ``InteractionRequiredError``
rather than opening a browser in the middle of a job.

The bearer token goes only to the Graph endpoint's origin: a link from an answer that points to
another host (``@odata.nextLink``) is refused rather than followed with the token.

No token ever appears in a message, a log line or a repr: errors carry method, path, status,
Graph's error code and message, and the request id to quote to Microsoft support.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Union
from urllib.parse import quote, urlencode, urlsplit

import requests

from .._claims import claims_challenge
from .._exceptions import FlowTimeoutError, GraphError, InteractionRequiredError
from .._graph_errors import graph_error_from_body
from .._net import IDEMPOTENT, RetryPolicy, parse_retry_after, retry_delay  # noqa: F401 - parse_retry_after re-exported
from .._types import HTTPTokenSource

log = logging.getLogger("netkit_msal.office365")

#: Graph's limit of requests in one ``$batch``.
BATCH_SIZE = 20


class GraphTimeoutError(GraphError, FlowTimeoutError):
    """Graph did not answer within the timeout (a ``GraphError`` and a ``TimeoutError``)."""


def encode_query(params: Mapping[str, str]) -> str:
    """A query string Graph reads well: ``$`` and OData punctuation kept, spaces as ``%20``."""
    return urlencode(params, safe="$,'():@/", quote_via=quote)


def graph_error(method: str, path: str, status: int, body: bytes, headers: Mapping[str, str]) -> GraphError:
    """A ``GraphError`` from Graph's error body ``{"error": {"code", "message", "innerError"}}``."""
    return graph_error_from_body(f"Graph {method} {path}", status, body, headers)


def _never_sent(error: requests.RequestException) -> bool:
    """True when the connection could not be opened, so the server saw nothing."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    from urllib3.exceptions import NewConnectionError

    seen: Optional[BaseException] = error
    for _ in range(8):  # requests wraps urllib3's MaxRetryError, which holds the reason
        if seen is None or isinstance(seen, NewConnectionError):
            return seen is not None
        reason = getattr(seen, "reason", None)  # an exception in urllib3, a text in some others
        nested = next((arg for arg in seen.args if isinstance(arg, BaseException)), None)
        seen = reason if isinstance(reason, BaseException) else nested or seen.__cause__
    return False


Body = Union[None, bytes, str, Mapping[str, Any], Sequence[Any]]


class Transport:
    """Graph calls for one ``Office365``: base URL, token, session, retries."""

    def __init__(self, provider: HTTPTokenSource, base_url: str, scopes: Optional[list[str]], *,
                 timeout: Union[float, tuple[float, float]] = (10.0, 60.0),
                 retry: RetryPolicy = RetryPolicy(), workers: int = 4) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}".lower()
        self.scopes = scopes
        self.timeout = timeout
        self.retry = retry
        self.workers = workers
        self.session: requests.Session = provider.http_session()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._had_token = False

    def __repr__(self) -> str:
        return f"<Transport {self.base_url}>"

    def url(self, path: str, params: Optional[Mapping[str, str]] = None) -> str:
        """Absolute URL for a path under the version root (``/me/messages``) or an absolute link."""
        url = path if path.startswith("https://") or path.startswith("http://") else self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + encode_query(params)
        return url

    def _authorization(self, refresh: bool = False, claims: Optional[str] = None) -> str:
        # A sign-in may start on the first call only: once a token was had, a lost session raises
        # InteractionRequiredError instead of opening a browser in the middle of a job (4D does).
        token = self.provider.get_token(self.scopes, force_refresh=refresh, interactive=not self._had_token,
                                        claims=claims)
        self._had_token = True
        return f"Bearer {token.access_token}"

    def request(self, method: str, path: str, *, params: Optional[Mapping[str, str]] = None,
                json_body: Body = None, data: Optional[bytes] = None,
                headers: Optional[Mapping[str, str]] = None, idempotent: Optional[bool] = None,
                authorize: bool = True) -> requests.Response:
        """One Graph call with the retry policy; a 2xx response, or ``GraphError``.

        ``authorize=False`` is for upload-session URLs, which carry their own credential and refuse
        a bearer token.
        """
        method = method.upper()
        url = self.url(path, params)
        parts = urlsplit(url)
        shown = parts.path
        if authorize and f"{parts.scheme}://{parts.netloc}".lower() != self._origin:
            # a link from an answer (@odata.nextLink) pointing elsewhere must not get the token
            raise GraphError(f"Graph {method}: refusing to send the token to {parts.netloc}, "
                             f"not the Graph endpoint", error_code="foreignHost")
        send_headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            send_headers.setdefault("Content-Type", "application/json")
        if idempotent is None:
            idempotent = method in IDEMPOTENT
        attempt, waited, refreshed, force_refresh = 0, 0.0, False, False
        claims: Optional[str] = None
        challenged = False
        while True:
            if authorize:
                send_headers["Authorization"] = self._authorization(refresh=force_refresh, claims=claims)
                force_refresh, claims = False, None
            started = time.monotonic()
            try:
                response = self.session.request(method, url, data=data, headers=send_headers,
                                                timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as error:
                never_sent = _never_sent(error)
                delay = retry_delay(self.retry, attempt, None, {}, idempotent=idempotent or never_sent,
                                    waited=waited)
                log.debug("Graph %s %s: %s (retry in %s s)", method, shown, type(error).__name__, delay)
                if delay is None:
                    raise self._connection_error(method, shown, error, never_sent, resent=idempotent,
                                                 attempts=attempt + 1) from None
            else:
                log.debug("Graph %s %s: HTTP %s in %.1f ms", method, shown, response.status_code,
                          (time.monotonic() - started) * 1000)
                status = response.status_code
                if status < 400:
                    return response
                challenge = claims_challenge(response.headers) if status == 401 and authorize else None
                if challenge is not None:
                    if challenged:
                        raise InteractionRequiredError(
                            f"Graph {method} {shown}: the token got for the claims challenge was challenged again",
                            error="insufficient_claims", claims=challenge)
                    challenged, claims = True, challenge  # once, at once, with a token carrying the claims
                    continue
                if status == 401 and authorize and not refreshed:
                    refreshed = force_refresh = True  # once, at once, with a refreshed token
                    continue
                delay = retry_delay(self.retry, attempt, status, response.headers, idempotent=idempotent,
                                    waited=waited)
                if delay is None:
                    raise graph_error(method, shown, status, response.content, response.headers)
            time.sleep(delay)
            attempt += 1
            waited += delay

    @staticmethod
    def _connection_error(method: str, path: str, error: requests.RequestException, never_sent: bool, *,
                          resent: bool, attempts: int) -> GraphError:
        if never_sent:
            what = "could not connect"
        elif isinstance(error, requests.Timeout):
            what = "no answer in time"
        else:
            what = "connection lost before the answer"
        if resent or never_sent:
            what += f" ({attempts} attempt{'s' if attempts > 1 else ''})"
        else:
            what += " (not sent again: the server may have acted on it)"
        text = f"Graph {method} {path}: {what}"
        if isinstance(error, requests.Timeout):
            return GraphTimeoutError(text, error_code="timeout")
        return GraphError(text, error_code="connectionError")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and its JSON body (None for an empty body, such as 202/204)."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise GraphError(f"Graph {method} {urlsplit(response.url).path}: HTTP {response.status_code} "
                             f"answer is not JSON", status=response.status_code, error_code="invalidJson") from None

    # --- many requests at once -------------------------------------------------------------

    def map(self, function: Any, items: Sequence[Any]) -> list[Any]:
        """``function`` over ``items`` on a small thread pool (Graph allows a few concurrent calls)."""
        if len(items) <= 1:
            return [function(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="netkit-graph")
        return list(self._pool.map(function, items))

    def batch(self, requests_: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Run requests through ``$batch`` (20 a batch, batches concurrently); answers in order.

        Each request is ``{"method", "url"}`` (url relative to the version root) with optional
        ``headers`` and ``body``. Each answer is ``{"status", "headers", "body"}``; a non-JSON
        body comes back as bytes. Items Graph throttled (429/503) are sent again in a later batch
        within the retry policy; other failures are returned for the caller to judge.
        """
        results: list[Optional[dict[str, Any]]] = [None] * len(requests_)
        pending = list(range(len(requests_)))
        attempt, waited = 0, 0.0
        while pending:
            chunks = [pending[i:i + BATCH_SIZE] for i in range(0, len(pending), BATCH_SIZE)]
            answers = self.map(lambda chunk: self._batch_once(chunk, requests_), chunks)
            throttled, delays = [], []
            for chunk, chunk_answers in zip(chunks, answers):
                for index, answer in zip(chunk, chunk_answers):
                    results[index] = answer
                    if answer["status"] in (429, 503):
                        delay = retry_delay(self.retry, attempt, answer["status"], answer["headers"],
                                            idempotent=requests_[index]["method"].upper() in IDEMPOTENT,
                                            waited=waited)
                        if delay is not None:
                            throttled.append(index)
                            delays.append(delay)
            pending = throttled
            if pending:
                delay = max(delays)
                time.sleep(delay)
                attempt += 1
                waited += delay
        return results  # type: ignore[return-value]

    def _batch_once(self, chunk: Sequence[int], requests_: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        payload = {"requests": [{"id": str(index), **requests_[index]} for index in chunk]}
        all_get = all(requests_[index]["method"].upper() == "GET" for index in chunk)
        reply = self.json("POST", "/$batch", json_body=payload, idempotent=all_get)
        by_id = {str(item.get("id")): item for item in (reply or {}).get("responses", [])}
        answers = []
        for index in chunk:
            item = by_id.get(str(index))
            if item is None:
                answers.append({"status": 500, "headers": {}, "body": None})
                continue
            headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
            body = item.get("body")
            content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
            if isinstance(body, str) and "json" not in content_type.lower():
                try:
                    body = base64.b64decode(body, validate=True)
                except ValueError:
                    body = body.encode("utf-8")
            answers.append({"status": int(item.get("status", 500)), "headers": headers, "body": body})
        return answers

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
