"""One converter from Microsoft Graph's error answer to :class:`GraphError`, for every Graph client here.

msgraph-sdk hands over the answer already parsed (an ``ODataError``), the Office365 transport hands over the raw
JSON body ``{"error": {"code", "message", "innerError": {"request-id"}}}``; both end in :func:`graph_error`, so
the message, ``request_id`` and ``retry_after`` are read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional

from ._exceptions import GraphError
from ._net import parse_retry_after


def graph_error(where: str, status: int, headers: Mapping[str, str], *, code: Optional[str] = None,
                message: Optional[str] = None, request_id: Optional[str] = None) -> GraphError:
    """``<where>: HTTP <status> <code>: <message> (request-id <id>)``, the headers' request id and Retry-After."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    request_id = request_id or lowered.get("request-id") or lowered.get("client-request-id")
    text = f"{where}: HTTP {status}"
    text += f" {code}" if code else ""
    text += f": {message}" if message else ""
    text += f" (request-id {request_id})" if request_id else ""
    return GraphError(text, status=status, error_code=code or None, request_id=request_id or None,
                      retry_after=parse_retry_after(lowered.get("retry-after")))


def graph_error_from_body(where: str, status: int, body: bytes, headers: Mapping[str, str]) -> GraphError:
    """The GraphError for a raw error answer; a body that is not Graph's error JSON still gives one."""
    code = message = request_id = None
    try:
        error: Any = json.loads(body or b"{}").get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict):
        code, message = _text(error.get("code")), _text(error.get("message"))
        inner = error.get("innerError") or error.get("innererror") or {}
        request_id = _text(inner.get("request-id")) if isinstance(inner, dict) else None
    return graph_error(where, status, headers, code=code, message=message, request_id=request_id)


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None
