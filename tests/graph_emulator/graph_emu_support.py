"""Helpers for the Graph emulator's own tests: a GraphApi called directly, with a stub token verifier.

The stub accepts JSON claims as the "token" (so tests state exactly which claims they send) and
rejects tokens named "bad" / "expired" as the real verifier would. HTTP tests use the real Emulator.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit

from netkit_msal.emulator._directory import GRAPH
from netkit_msal.emulator._graph import GraphApi
from netkit_msal.emulator._http import Request, Response, TokenRejected

BASE = "https://127.0.0.1:4443"
ALL_DELEGATED = ("User.Read User.ReadBasic.All Mail.ReadWrite Mail.Send Calendars.ReadWrite "
                 "MailboxSettings.ReadWrite")
ALL_ROLES = ["User.Read.All", "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite", "MailboxSettings.Read"]


def verify(token: str) -> dict:
    """Stub verifier: the token is base64url JSON claims; "bad" and "expired" are rejected."""
    if token in ("bad", "expired"):
        raise TokenRejected("token expired" if token == "expired" else "signature invalid")
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def token(user=None, scopes: str = ALL_DELEGATED, roles: Optional[list[str]] = None, aud: str = GRAPH) -> str:
    if user is None:
        claims: dict[str, Any] = {"aud": aud, "idtyp": "app", "roles": roles if roles is not None else ALL_ROLES}
    else:
        claims = {"aud": aud, "oid": user.id, "upn": user.upn, "scp": scopes}
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")


class Client:
    """Calls GraphApi.handle like the server does; ``as_`` switches the bearer token."""

    def __init__(self, api: GraphApi, bearer: Optional[str]) -> None:
        self.api = api
        self.bearer = bearer

    def as_(self, bearer: Optional[str]) -> Client:
        return Client(self.api, bearer)

    def request(self, method: str, path: str, query: Optional[dict] = None, json_body: Any = None,
                body: bytes = b"", headers: Optional[dict] = None) -> Response:
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        if self.bearer is not None:
            sent["authorization"] = f"Bearer {self.bearer}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("content-type", "application/json")
        if not path.startswith("/v1.0"):
            path = "/v1.0" + path
        return self.api.handle(Request(method, path, dict(query or {}), sent, body, BASE))

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def follow(self, link: str, **kw: Any) -> Response:
        """GET an absolute ``@odata.nextLink`` as a client would (query decoded like the server does)."""
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == BASE
        return self.get(parts.path, query=dict(parse_qsl(parts.query)), **kw)


def body(response: Response) -> Any:
    return json.loads(response.body)
