"""The emulator's request counters and injected faults, shared by the emulator and its admin route."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from ._http import Response

#: Endpoint names used by stats() and inject_fault().
ENDPOINTS = ("discovery", "authorize", "token", "devicecode", "devicelogin", "jwks", "logout", "graph", "admin")
_FAULT_ENDPOINTS = tuple(e for e in ENDPOINTS if e != "admin")
#: Graph counters beside the endpoints: delta calls, /subscriptions calls, subscriptions created,
#: change and lifecycle notification POSTs delivered.
GRAPH_COUNTERS = ("delta", "subscriptions", "subscriptions.created", "notifications")


class Stats:
    """Thread-safe request counters."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts.get(name, 0) for name in ENDPOINTS + GRAPH_COUNTERS} | dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class Fault:
    """One injected misbehaviour of an endpoint, for the next ``remaining`` requests (None: until cleared)."""

    endpoint: str
    status: Optional[int] = None
    remaining: Optional[int] = 1
    retry_after: Optional[float] = None
    latency: float = 0.0
    drop: bool = False
    body: Any = None

    def answers(self) -> bool:
        """Whether this fault answers in place of the endpoint (else it only delays or drops)."""
        return self.status is not None or self.body is not None

    def response(self, correlation_id: Optional[str]) -> Response:
        """The injected answer: ``body`` as given (a text is sent as is, anything else as JSON, ``Infinity``
        included), else an error answer in the endpoint's dialect: Graph's JSON or Entra's."""
        headers = {} if self.retry_after is None else {"Retry-After": _seconds(self.retry_after)}
        if self.body is not None:
            raw = self.body if isinstance(self.body, str) else json.dumps(self.body, allow_nan=True)
            return Response(self.status or 200, raw.encode("utf-8"),
                            {"Content-Type": "application/json; charset=utf-8", **headers})
        assert self.status is not None
        request_id = str(uuid.uuid4())
        if self.endpoint == "graph":
            code = {429: "TooManyRequests", 503: "ServiceUnavailable", 500: "InternalServerError",
                    504: "GatewayTimeout"}.get(self.status, "generalException")
            return Response.json({"error": {"code": code, "message": f"Injected fault: HTTP {self.status}.",
                                            "innerError": {"date": _now(), "request-id": request_id,
                                                           "client-request-id": correlation_id or request_id}}},
                                 self.status, {"request-id": request_id, **headers})
        error, aadsts = ("temporarily_unavailable", 90033) if self.status in (429, 503) else ("server_error", 90100)
        return Response.json({"error": error,
                              "error_description": f"AADSTS{aadsts}: A transient error has occurred. Please try "
                                                   f"again. (injected fault: HTTP {self.status})",
                              "error_codes": [aadsts], "trace_id": request_id,
                              "correlation_id": correlation_id or request_id},
                             self.status, headers)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Faults:
    """Faults queued per endpoint; each request takes the first one still active."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        if fault.endpoint not in _FAULT_ENDPOINTS:
            raise ValueError(f"unknown endpoint {fault.endpoint!r}; one of {', '.join(_FAULT_ENDPOINTS)}")
        if fault.status is not None and not 400 <= fault.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("count must be at least 1 (or None: until clear_faults())")
        with self._lock:
            self._queue.append(fault)

    def take(self, endpoint: str) -> Optional[Fault]:
        with self._lock:
            for fault in self._queue:
                if fault.endpoint == endpoint:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._queue.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
