"""The ``/_emulator/...`` admin route: the emulator's test knobs over HTTP (counters and faults: ``_knobs``).

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
                                            "retry_after": 1, "latency": 0.0, "drop": false,
                                            "body": {...}}`` (``body``: answer with that JSON)
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

from typing import Any, Optional, Protocol

from ._directory import Directory, User
from ._http import Request, Response
from ._identity import Settings
from ._tokens import Clock


class Knobs(Protocol):
    """What the admin route needs of the emulator (``Emulator`` has it; no import of it here)."""

    settings: Settings
    clock: Clock
    directory: Directory

    def describe(self) -> dict[str, Any]: ...
    def stats(self) -> dict[str, int]: ...
    def reset_stats(self) -> None: ...
    def set_token_lifetime(self, seconds: int) -> None: ...
    def set_auto_approve(self, enabled: bool) -> None: ...
    def set_device_code_interval(self, seconds: int) -> None: ...
    def advance_clock(self, seconds: float) -> None: ...
    def clear_faults(self) -> None: ...
    def inject_fault(self, endpoint: str, *, status: Optional[int] = None, count: Optional[int] = 1,
                     retry_after: Optional[float] = None, latency: float = 0.0, drop: bool = False,
                     body: Any = None) -> None: ...
    def revoke_refresh_tokens(self, upn: User | str) -> None: ...
    def disable_user(self, upn: User | str, disabled: bool = True) -> None: ...
    def challenge_sessions(self, upn: User | str, *, revoke: bool = False) -> None: ...
    def require_auth_context(self, upn: User | str, context: str, grant: str = "silent") -> None: ...
    def clear_conditional_access(self, upn: User | str | None = None) -> None: ...
    def subscriptions(self) -> list[dict[str, Any]]: ...
    def send_lifecycle_event(self, event: str, subscription_id: Optional[str] = None) -> list[str]: ...


class AdminApi:
    """``/_emulator/...``: the emulator's knobs over HTTP."""

    def __init__(self, emulator: Knobs) -> None:
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
                body=body.get("body"),
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
        if method == "DELETE" and parts == ["conditional-access"]:
            emu.clear_conditional_access()
            return Response.empty()
        if method == "POST" and len(parts) == 3 and parts[0] == "users" and parts[2] in (
                "revoke", "disable", "challenge-sessions", "auth-context"):
            user = emu.directory.user(parts[1])
            if user is None:
                return Response.json({"error": "not_found", "message": f"no user {parts[1]!r}"}, 404)
            if parts[2] == "challenge-sessions":
                emu.challenge_sessions(user.upn, revoke=_bool(body.get("revoke", False)))
            elif parts[2] == "auth-context":
                try:
                    emu.require_auth_context(user.upn, str(body["context"]), str(body.get("grant", "silent")))
                except (KeyError, ValueError) as error:
                    return Response.json({"error": "bad_request", "message": str(error).strip("'\"")}, 400)
            elif parts[2] == "revoke":
                emu.revoke_refresh_tokens(user.upn)
            else:
                emu.disable_user(user.upn, _bool(body.get("disabled", True)))
            return Response.empty()
        return Response.json({"error": "not_found", "message": "unknown admin route"}, 404)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)

