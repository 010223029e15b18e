"""Test knobs of the emulator: request counters, injected faults, and the ``/_emulator/...`` admin route.

The admin route offers over HTTP what the Python object offers, so that a test in another process
(or a person with curl) can drive an emulator started by ``netkit-msal emulator``:

==========================================  =================================================
``GET  /_emulator``                         what ``netkit-msal emulator`` prints (endpoints, params, ...)
``GET  /_emulator/stats``                   request counters
``POST /_emulator/stats/reset``             zero them
``POST /_emulator/token-lifetime``          ``{"seconds": 600}``
``POST /_emulator/auto-approve``            ``{"enabled": false}``
``POST /_emulator/device-code-interval``    ``{"seconds": 1}`` (Entra: 5)
``POST /_emulator/clock``                   ``{"advance": 3600}`` (shift the emulator's now)
``POST /_emulator/faults``                  ``{"endpoint": "token", "status": 429, "count": 2,
                                            "retry_after": 1, "latency": 0.0, "drop": false}``
``DELETE /_emulator/faults``                clear all faults
``POST /_emulator/users/{upn}/revoke``      revoke the user's refresh tokens
``POST /_emulator/users/{upn}/disable``     ``{"disabled": true}`` (default true)
``GET  /_emulator/subscriptions``           Graph subscriptions in force
``POST /_emulator/subscriptions/lifecycle`` ``{"event": "missed", "subscriptionId": null}`` (Graph's
                                            lifecycle notification; no id: every subscription)
==========================================  =================================================

Bodies are JSON (form-encoded works too). The route is never subject to injected faults.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from ._http import Request, Response

if TYPE_CHECKING:
    from ._emulator import Emulator

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

    def response(self, correlation_id: Optional[str]) -> Response:
        """An error answer in the endpoint's dialect: Graph's JSON or Entra's."""
        assert self.status is not None
        headers = {} if self.retry_after is None else {"Retry-After": _seconds(self.retry_after)}
        request_id = str(uuid.uuid4())
        if self.endpoint == "graph":
            code = {429: "TooManyRequests", 503: "ServiceUnavailable", 500: "InternalServerError",
                    504: "GatewayTimeout"}.get(self.status, "generalException")
            return Response.json({"error": {"code": code, "message": f"Injected fault: HTTP {self.status}.",
                                            "innerError": {"request-id": request_id,
                                                           "client-request-id": correlation_id or request_id}}},
                                 self.status, {"request-id": request_id, **headers})
        error, aadsts = ("temporarily_unavailable", 90033) if self.status in (429, 503) else ("server_error", 90100)
        return Response.json({"error": error,
                              "error_description": f"AADSTS{aadsts}: A transient error has occurred. Please try "
                                                   f"again. (injected fault: HTTP {self.status})",
                              "error_codes": [aadsts], "trace_id": request_id,
                              "correlation_id": correlation_id or request_id},
                             self.status, headers)


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


class AdminApi:
    """``/_emulator/...``: the emulator's knobs over HTTP."""

    def __init__(self, emulator: "Emulator") -> None:
        self.emulator = emulator

    def handle(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")[1:]
        try:
            body = self._body(req)
            return self._route(req.method, parts, body)
        except (ValueError, TypeError, KeyError) as exc:
            return Response.json({"error": "bad_request", "message": str(exc)}, 400)

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        if not req.body:
            return {}
        if "json" in req.headers.get("content-type", "json"):
            data = req.json()
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            return data
        return dict(req.form())

    def _route(self, method: str, parts: list[str], body: dict[str, Any]) -> Response:
        emu = self.emulator
        if method == "GET" and parts == []:
            return Response.json(emu.describe())
        if method == "GET" and parts == ["stats"]:
            return Response.json(emu.stats())
        if method in ("POST", "DELETE") and parts in (["stats", "reset"], ["stats"]):
            emu.reset_stats()
            return Response.json(emu.stats())
        if method == "POST" and parts == ["token-lifetime"]:
            emu.set_token_lifetime(int(body["seconds"]))
            return Response.json({"token_lifetime": emu.settings.token_lifetime})
        if method == "POST" and parts == ["auto-approve"]:
            emu.set_auto_approve(_bool(body.get("enabled", True)))
            return Response.json({"auto_approve": emu.settings.auto_approve})
        if method == "POST" and parts == ["device-code-interval"]:
            emu.set_device_code_interval(int(body["seconds"]))
            return Response.json({"device_code_interval": emu.settings.device_code_interval})
        if method == "POST" and parts == ["clock"]:
            emu.advance_clock(float(body["advance"]))
            return Response.json({"offset": emu.clock.offset})
        if parts == ["faults"] and method == "DELETE":
            emu.clear_faults()
            return Response.empty()
        if parts == ["faults"] and method == "POST":
            emu.inject_fault(
                str(body["endpoint"]),
                status=None if body.get("status") is None else int(body["status"]),
                count=None if body.get("count", 1) is None else int(body.get("count", 1)),
                retry_after=None if body.get("retry_after") is None else float(body["retry_after"]),
                latency=float(body.get("latency", 0.0)),
                drop=_bool(body.get("drop", False)),
            )
            return Response.empty()
        if method == "GET" and parts == ["subscriptions"]:
            return Response.json({"value": emu.subscriptions()})
        if method == "POST" and parts == ["subscriptions", "lifecycle"]:
            try:
                told = emu.send_lifecycle_event(str(body.get("event")), body.get("subscriptionId"))
            except (ValueError, KeyError) as error:
                return Response.json({"error": "bad_request", "message": str(error).strip("'\"")}, 400)
            return Response.json({"subscriptions": told})
        if method == "POST" and len(parts) == 3 and parts[0] == "users" and parts[2] in ("revoke", "disable"):
            user = emu.directory.user(parts[1])
            if user is None:
                return Response.json({"error": "not_found", "message": f"no user {parts[1]!r}"}, 404)
            if parts[2] == "revoke":
                emu.revoke_refresh_tokens(user.upn)
            else:
                emu.disable_user(user.upn, _bool(body.get("disabled", True)))
            return Response.empty()
        return Response.json({"error": "not_found", "message": "unknown admin route"}, 404)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)

