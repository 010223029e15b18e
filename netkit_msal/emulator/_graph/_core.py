"""The small framework under the Graph routes: errors, a router, the request context, collections.

Handlers are functions ``(ctx) -> Response``; they raise ``GraphFail`` for Graph's error answers.
Routes are relative to a mailbox principal (``/me`` or ``/users/{id}``) and carry the permission
they need ("mail.read", "cal.write", ...), checked before the handler runs.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional
from urllib.parse import quote

from .._directory import User
from .._http import Request, Response
from ._odata import ODataError, compile_filter, order_by, parse_orderby, parse_select, select


class GraphFail(Exception):
    """An error answer in Graph's format: ``{"error": {"code", "message", "innerError"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(req: Request, status: int, code: str, message: str,
                   headers: Optional[dict[str, str]] = None) -> Response:
    request_id = str(uuid.uuid4())
    inner = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id}
    client_request_id = req.headers.get("client-request-id")
    if client_request_id:
        inner["client-request-id"] = client_request_id
    return Response.json({"error": {"code": code, "message": message, "innerError": inner}}, status,
                         {"request-id": request_id, **(headers or {})})


def bad_request(message: str, code: str = "BadRequest") -> GraphFail:
    return GraphFail(400, code, message)


def not_found(message: str = "The specified object was not found in the store.",
              code: str = "ErrorItemNotFound") -> GraphFail:
    return GraphFail(404, code, message)


Handler = Callable[["Ctx"], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler
    permission: str


class Router:
    """Method + path pattern (``/messages/{message_id}/$value``) -> handler; matching is case-insensitive."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, permission: str) -> Callable[[Handler], Handler]:
        parts = re.split(r"(\{\w+\})", template)
        regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
        pattern = re.compile(f"^{regex}$", re.IGNORECASE)

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, pattern, handler, permission))
            return handler
        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for a request; GraphFail 400 for an unknown path, 405 for a known path's wrong method."""
        path_known = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict()
                path_known = True
        if path_known:
            raise GraphFail(405, "Request_BadRequest", f"The HTTP method '{method}' is not allowed for this resource.")
        segment = path.rstrip("/").rsplit("/", 1)[-1] or path
        raise bad_request(f"Resource not found for the segment '{segment}'.")


@dataclass
class Ctx:
    """Everything a handler needs about one request."""

    req: Request
    claims: dict
    #: The GraphApi serving the request (its store, directory, counters).
    api: Any = None
    #: The mailbox or user the path addresses (``/me`` resolves to the token's user).
    principal: Optional[User] = None
    #: ``me`` or ``users/{id}`` as written in the path, for context URLs and links.
    prefix: str = "me"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"{self.req.base_url}/v1.0"

    def mailbox(self) -> Any:
        """The ``_store.Mailbox`` of the user the path addresses."""
        assert self.principal is not None
        return self.api.store.mailbox(self.principal)

    @property
    def user_path(self) -> str:
        """``users('<id>')``, as Graph writes it in ``@odata.context``."""
        assert self.principal is not None
        return f"users('{self.principal.id}')"

    def q(self, name: str) -> Optional[str]:
        """A query option, with or without its ``$`` (Graph accepts both), case-insensitively."""
        value = self.req.query.get(name)
        if value is None:
            lower = name.lower()
            bare = lower.lstrip("$")
            for key, candidate in self.req.query.items():
                if key.lower() in (lower, bare):
                    return candidate
        return value

    def body_json(self) -> dict:
        try:
            value = self.req.json()
        except ValueError:
            raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set "
                              "and payload is of valid JSON format.", "BadRequest") from None
        if not isinstance(value, dict):
            raise bad_request("The request body must be a JSON object.")
        return value

    def is_text_body(self) -> bool:
        return self.req.headers.get("content-type", "").split(";")[0].strip().lower() == "text/plain"

    def prefer(self, name: str) -> Optional[str]:
        """A ``Prefer`` header preference value (``outlook.timezone="UTC"`` -> ``UTC``)."""
        for part in self.req.headers.get("prefer", "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip().lower() == name:
                return value.strip().strip('"')
        return None


def selector(ctx: Ctx, allowed: Iterable[str], type_name: str) -> Callable[[dict], dict]:
    """A function applying the request's ``$select`` (400 for an unknown property name)."""
    try:
        names = parse_select(ctx.q("$select"), allowed, type_name)
    except ODataError as exc:
        raise bad_request(str(exc), "RequestBroker--ParseUri") from None
    return lambda item: select(item, names)


def param(data: dict, name: str) -> Any:
    """An action parameter, case-insensitively: msgraph-sdk sends ``Message``, ``DestinationId``..."""
    if name in data:
        return data[name]
    lower = name.lower()
    return next((v for k, v in data.items() if k.lower() == lower), None)


def _skip(ctx: Ctx) -> int:
    token = ctx.q("$skiptoken")
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            offset = -1
        if offset < 0:
            raise bad_request("The $skiptoken is invalid.", "Request_BadRequest")
        return offset
    return _int_option(ctx, "$skip", 0)


def _int_option(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.q(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}' for query option '{name}'.") from None
    if value < 0:
        raise bad_request(f"Invalid value '{raw}' for query option '{name}'.")
    return value


def next_link(ctx: Ctx, skip: int, style: str) -> str:
    """Absolute link to the next page, keeping every query option (properly re-encoded)."""
    params = {k: v for k, v in ctx.req.query.items() if k.lower().lstrip("$") not in ("skip", "skiptoken")}
    if style == "skiptoken":
        params["$skiptoken"] = base64.urlsafe_b64encode(f"offset:{skip}".encode()).decode().rstrip("=")
    else:
        params["$skip"] = str(skip)
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=chr(39) + '(),:/$@')}" for k, v in params.items())
    return f"{ctx.req.base_url}{ctx.req.path}?{query}"


def collection(ctx: Ctx, items: Iterable[Any], render: Callable[[Any], dict], *, context: str,
               default_top: int, max_top: int, style: str = "skip",
               default_order: Optional[list[tuple[str, bool]]] = None,
               search: Optional[Callable[[Any], bool]] = None) -> Response:
    """A Graph collection page: ``$filter``, ``$search``, ``$orderby``, ``$count``, ``$top``, paging.

    Filters and ordering see the stored items (Graph property names; ``_`` keys are internal);
    ``render`` gives what is sent for the page's items.
    """
    selected = list(items)
    try:
        filter_text = ctx.q("$filter")
        if filter_text:
            predicate = compile_filter(filter_text)
            selected = [item for item in selected if predicate(item)]
        if search is not None:
            selected = [item for item in selected if search(item)]
        order_text = ctx.q("$orderby")
        keys = parse_orderby(order_text) if order_text else default_order
        if keys:
            selected = order_by(selected, keys)
    except ODataError as exc:
        raise bad_request(str(exc)) from None
    top = min(_int_option(ctx, "$top", default_top), max_top) or default_top
    skip = _skip(ctx)
    page = selected[skip:skip + top]
    body: dict[str, Any] = {"@odata.context": f"{ctx.base}/$metadata#{context}"}
    if (ctx.q("$count") or "").lower() == "true":
        body["@odata.count"] = len(selected)
    body["value"] = [render(item) for item in page]
    if skip + top < len(selected):
        body["@odata.nextLink"] = next_link(ctx, skip + top, style)
    return Response.json(body)


def entity(ctx: Ctx, context: str, item: dict, status: int = 200, headers: Optional[dict[str, str]] = None
           ) -> Response:
    return Response.json({"@odata.context": f"{ctx.base}/$metadata#{context}", **item}, status, headers)
