"""The small framework under the Graph routes: errors, a router, the request context, collections.

Handlers are functions ``(ctx) -> Response``; they raise ``GraphFail`` for Graph's error answers.
Routes are relative to a mailbox principal (``/me`` or ``/users/{id}``) and carry the permission
they need ("mail.read", "cal.write", ...), checked before the handler runs.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import quote

from .._directory import User
from .._http import Request, Response
from . import _schema
from ._odata import ODataError, order_by, parse_filter, parse_orderby, parse_select, select, unknown_property


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
    # Graph echoes the caller's client-request-id, or repeats its request-id when none was sent.
    inner = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id,
             "client-request-id": req.headers.get("client-request-id") or request_id}
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
    #: A ``/$count`` path segment: ``collection`` answers the number as text/plain.
    count_only: bool = False

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


def query_fail(exc: ODataError, type_name: str) -> GraphFail:
    """Graph's 400 for a bad query option: Outlook answers ``RequestBroker--ParseUri``, the directory
    ``Request_BadRequest``."""
    code = "Request_BadRequest" if _schema.type_name(type_name) == "user" else "RequestBroker--ParseUri"
    return bad_request(str(exc), code)


def selector(ctx: Ctx, allowed: Iterable[str], type_name: str) -> Callable[[dict], dict]:
    """A function applying the request's ``$select``: any property the type declares in Graph's metadata
    (or in ``allowed``) may be named, a missing one is written as null or []; 400 for an unknown name."""
    schema_type = _schema.type_name(type_name)
    declared = _schema.properties(schema_type) if schema_type else {}
    graph_name = f"microsoft.graph.{schema_type}" if schema_type else type_name
    try:
        names = parse_select(ctx.q("$select"), [*allowed, *declared], graph_name)
    except ODataError as exc:
        raise query_fail(exc, type_name) from None
    if names is None:
        return lambda item: item

    def pick(item: dict) -> dict:
        out = select(item, names)
        for name in names:
            if name not in out and schema_type and name in declared:
                out[name] = _schema.empty_value(schema_type, name)
        return out
    return pick


def odata_bool(value: Any) -> Optional[bool]:
    """An Edm.Boolean as Graph's JSON reader takes it: true/false, or the text "true"/"false" (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


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
               search: Optional[Callable[[Any], bool]] = None, type_name: Optional[str] = None) -> Response:
    """A Graph collection page: ``$filter``, ``$search``, ``$orderby``, ``$count``, ``$top``, paging.

    Filters and ordering see the stored items (Graph property names; ``_`` keys are internal);
    ``render`` gives what is sent for the page's items. With ``type_name`` the property paths in
    ``$filter`` and ``$orderby`` must be declared by that Graph type (400 otherwise, as Graph answers).
    """
    selected = list(items)
    schema_type = _schema.type_name(type_name) if type_name else None
    known = (lambda path: _schema.path_type(schema_type, path) is not None) if schema_type else None
    graph_name = f"microsoft.graph.{schema_type}"
    try:
        filter_text = ctx.q("$filter")
        order_text = ctx.q("$orderby")
        keys = parse_orderby(order_text) if order_text else default_order
        if order_text and known:
            for path, _ in keys or []:
                if not known(path):
                    raise unknown_property(path, known, graph_name)
        if filter_text:
            predicate, paths = parse_filter(filter_text, known, graph_name)
            if order_text and schema_type == "message":
                _check_outlook_order(paths, keys or [])
            selected = [item for item in selected if predicate(item)]
        if search is not None:
            selected = [item for item in selected if search(item)]
        if keys:
            selected = order_by(selected, keys)
    except ODataError as exc:
        raise query_fail(exc, type_name or "") from None
    if ctx.count_only:
        return Response(200, str(len(selected)).encode(), {"Content-Type": "text/plain"})
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


def _check_outlook_order(filter_paths: list[str], keys: list[tuple[str, bool]]) -> None:
    """Outlook's rule for ``$filter`` with ``$orderby``: the ordered properties come first in the filter,
    in the same order; otherwise 400 ``InefficientFilter``."""
    ordered = [path.lower() for path, _ in keys]
    if [p.lower() for p in filter_paths[:len(ordered)]] != ordered:
        raise GraphFail(400, "InefficientFilter", "The restriction or sort order is too complex for this operation.")


def entity(ctx: Ctx, context: str, item: dict, status: int = 200, headers: Optional[dict[str, str]] = None
           ) -> Response:
    return Response.json({"@odata.context": f"{ctx.base}/$metadata#{context}", **item}, status, headers)
