"""Error answers of the identity platform: Entra's JSON shape with AADSTS codes, and its error page."""

from __future__ import annotations

import time
import uuid
from typing import Any, Optional

from .._http import Request, Response
from .._pages import message
from .._scopes import ScopeError


class EntraError(Exception):
    """An error answer of the identity platform: OAuth ``error`` + AADSTS code + description."""

    def __init__(self, error: str, code: int, description: str, *, status: int = 400,
                 suberror: Optional[str] = None) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.error, self.code, self.description = error, code, description
        self.status, self.suberror = status, suberror

    @classmethod
    def from_scope_error(cls, exc: ScopeError) -> EntraError:
        return cls(exc.error, exc.code, exc.description)

    def fields(self, base_url: str, correlation_id: Optional[str]) -> dict[str, Any]:
        trace_id, correlation_id = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": (f"AADSTS{self.code}: {self.description} Trace ID: {trace_id} "
                                  f"Correlation ID: {correlation_id} Timestamp: {stamp}"),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{base_url}/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        return body


POST_ONLY = EntraError("invalid_request", 900561, "The endpoint only accepts POST requests. Received a GET request.")


def json_error(req: Request, base_url: str, exc: EntraError) -> Response:
    """The token-endpoint dialect: JSON with the request's correlation id echoed."""
    return Response.json(exc.fields(base_url, req.headers.get("client-request-id")), exc.status)


def error_page(exc: EntraError) -> Response:
    """The browser dialect (authorize, devicelogin): an HTML page."""
    return Response(exc.status, message(
        "Sorry, but we're having trouble signing you in.", f"AADSTS{exc.code}: {exc.description}", True
    ).encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})
