"""Plain request and response values shared by the emulator's server and its services.

The server parses bytes into a ``Request`` and writes a ``Response`` back; the identity platform
and Graph services are functions from one to the other, testable without sockets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Optional
from urllib.parse import parse_qsl


@dataclass
class Request:
    """One HTTP request as the emulator's services see it."""

    method: str
    #: Decoded path without the query string; runs of ``/`` collapsed (msgraph-sdk sends ``//``).
    path: str
    #: Query parameters, last value wins, names as sent (``$top``, not ``%24top``).
    query: dict[str, str] = field(default_factory=dict)
    #: Header names in lower case.
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: ``https://127.0.0.1:<port>``: for absolute links (``@odata.nextLink``, discovery).
    base_url: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def bearer_token(self) -> Optional[str]:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class Response:
    """One HTTP response; the server adds ``Content-Length`` and keep-alive headers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: A binary file to send after the headers instead of ``body`` (``length`` bytes from where it
    #: stands), so big downloads are streamed, not held in memory; the server closes it.
    stream: Optional[BinaryIO] = None
    length: int = 0

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
        return cls(status, json.dumps(obj).encode("utf-8"),
                   {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(status, b"", {"Location": location})

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status, b"", {})


class TokenRejected(Exception):
    """An access token failed verification; the message says why (never the token itself)."""
