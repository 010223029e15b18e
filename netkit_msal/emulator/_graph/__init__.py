"""The emulator's Microsoft Graph v1.0 subset: users, mail, calendars, categories, drives and ``$batch``.

``GraphApi.handle`` takes every ``/v1.0/...`` request the server receives: it checks the bearer token
(audience, then the scope or role the route needs), resolves ``/me`` or ``/users/{id | upn}``, and
dispatches to the route handlers in ``_mail`` and ``_calendar`` (``_users`` for the user entities).
One lock serialises requests against the in-memory store.

Routes, each under ``/me`` and ``/users/{id | upn}`` (``{folder}`` is an id or a well-known name;
``/mailFolders/{a}/childFolders/{b}/...`` is read as ``/mailFolders/{b}/...``):

- ``GET /users`` (``$select $filter $search $orderby $top $count``, ``$skiptoken`` paging), ``GET /me``,
  ``GET /users/{id | upn}``;
- ``/messages`` and ``/mailFolders/{folder}/messages``: GET list (``$select $filter $search $orderby
  $top $skip $count $expand=attachments``), POST (JSON or base64 MIME in ``text/plain``);
  ``/messages/{id}``: GET, PATCH, DELETE, ``/$value``, POST ``move copy send reply replyAll forward
  createReply createReplyAll createForward permanentDelete``; ``/attachments``: GET, POST (3 MB),
  ``/{id}`` GET DELETE, ``/{id}/$value``, POST ``createUploadSession``; POST ``/sendMail``;
- ``/mailFolders`` and ``/mailFolders/{folder}/childFolders``: GET (``includeHiddenFolders``), POST;
  ``/mailFolders/{folder}``: GET, PATCH, DELETE;
- ``/calendar``, ``/calendars`` (GET, POST), ``/calendars/{id}`` (GET, PATCH, DELETE); ``/events``
  (GET, POST), ``/calendarView``, ``/events/{id}`` (GET, PATCH, DELETE) and ``/events/{id}/instances``
  under the mailbox, ``/calendar`` and ``/calendars/{id}``; ``/events/{id}/attachments`` as a message's
  (list, POST, ``/{id}`` GET DELETE, ``/$value``, ``createUploadSession``);
- ``/outlook/masterCategories`` (GET, POST), ``/outlook/masterCategories/{id}`` (GET, DELETE);
- ``/mailFolders/{folder}/messages/delta``, ``/calendarView/delta`` (also under ``/calendar`` and
  ``/calendars/{id}``): delta queries (``_delta``); ``/subscriptions``: change notifications
  delivered to loopback URLs (``_subscriptions``);
- drives (``/drive`` under a user, ``/drives/{id}``, ``/sites/{id}/drive``): see ``_drive``;
- ``POST /v1.0/$batch`` (20 requests at most; injected faults hit each inner request, as Graph throttles);
  upload URLs ``/v1.0/_emulator/uploadSessions/{token}`` (``_uploads``) take PUT chunks with
  ``Content-Range`` and no token, as Graph's do;
- ``/$count`` after any collection (``/users/$count`` wants ``ConsistencyLevel: eventual``): text/plain.

Query options are held to Graph's v1.0 types (``schema.json``, generated from Microsoft's metadata by
``_schema_gen``): ``$select``, ``$filter`` and ``$orderby`` name declared properties or answer 400.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from .._directory import Directory
from .._http import Request, Response
from . import _calendar, _delta, _drive, _event_attachments, _mail, _uploads
from ._auth import authenticate, is_app_only, require
from ._core import Ctx, GraphFail, Router, bad_request, error_response
from ._drive_store import DriveStore
from ._store import Store
from ._subscriptions import Subscriptions
from ._users import get_user, list_users

__all__ = ["GraphApi"]

MAX_BATCH = 20
_UPLOAD_PREFIX = "/v1.0/_emulator/uploadSessions/"
_CHILD_FOLDER = re.compile(r"/mailFolders/[^/]+/childFolders/([^/]+)", re.IGNORECASE)

_ROUTES = Router()
_ROUTES.routes = (_delta.router.routes  # delta first: /messages/delta is not a message id
                  + _mail.router.routes + _calendar.router.routes + _event_attachments.router.routes)


class GraphApi:
    """Graph v1.0 for the emulator; ``handle(Request) -> Response`` for every path under ``/v1.0/``."""

    def __init__(self, directory: Directory, verify_access_token: Callable[[str], dict],
                 count: Callable[[str], None], *, state_file: Optional[str] = None,
                 clock: Optional[Callable[[], float]] = None, drive_dir: Optional[Any] = None) -> None:
        self.directory = directory
        self.verify_access_token = verify_access_token
        self.count = count
        #: Conditional access (CAE, authentication contexts): a token's claims -> a claims challenge or None
        #: (``_auth.AccessPolicy``).
        self.access_policy: Optional[Callable[[dict], Any]] = None
        self.lock = threading.RLock()
        #: Called before each authenticated request (the Dovecot bridge brings in what other doors changed).
        self.before_request: list[Callable[[], None]] = []
        self.store = Store(directory, state_file)
        #: Attachment upload sessions by their URL token (not persisted).
        self.upload_sessions: dict[str, dict] = {}
        self.changes = _delta.ChangeLog()
        self.subscriptions = Subscriptions(self, clock) if clock else Subscriptions(self)
        self.store.listeners += [self.changes.record, self.subscriptions.changed]
        #: OneDrive/SharePoint drives; content on disk (the Emulator puts it in its state folder).
        self.drives = DriveStore(drive_dir)
        #: Injected faults for ``$batch``: Graph throttles each inner request on its own (its answer in
        #: the batch gets the 429 and Retry-After), never the batch whole. Set by the Emulator.
        self.inner_fault: Optional[Callable[[Request], Optional[Response]]] = None

    # -- public knobs ---------------------------------------------------------------------
    def save(self) -> None:
        """Write mailboxes and calendars to the state file (no-op without one)."""
        with self.lock:
            self.store.save()

    def seed_messages(self, user_upn: str, count: int, folder: str = "inbox") -> list[str]:
        """Add ``count`` generated messages to a user's folder (benchmarks); returns the new ids."""
        user = self.directory.user(user_upn)
        if user is None:
            raise KeyError(f"no user {user_upn!r} in the directory")
        with self.lock:
            return self.store.seed_messages(user, count, folder)

    def close(self) -> None:
        """Stop delivering change notifications (the thread starts again when needed); remove drive content."""
        self.subscriptions.close()
        self.drives.close()

    # -- dispatch -------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        try:
            if req.path.startswith(_drive.PUBLIC_PREFIX):
                return _drive.public(self, req)
            if req.path.startswith(_UPLOAD_PREFIX):
                token = req.path[len(_UPLOAD_PREFIX):]
                with self.lock:
                    return _uploads.upload_chunk(self, Ctx(req, {}, self), token)
            claims = authenticate(req, self.verify_access_token, self.directory.tenant_id, self.access_policy)
            for sync in list(self.before_request):
                sync()
            return self._dispatch(req, claims)
        except GraphFail as fail:
            return error_response(req, fail.status, fail.code, fail.message, fail.headers)

    def _dispatch(self, req: Request, claims: dict) -> Response:
        path = req.path[len("/v1.0"):] if req.path.lower().startswith("/v1.0") else req.path
        path = path.rstrip("/") or "/"
        if path.lower() == "/$batch":
            if req.method != "POST":
                raise GraphFail(405, "Request_BadRequest", "$batch takes POST.")
            return self._batch(req, claims)
        parts = path.strip("/").split("/")
        head = parts[0].lower()
        if head == "subscriptions":
            return self.subscriptions.handle(req, claims, parts[1:])
        if head == "me":
            if is_app_only(claims):
                raise bad_request("/me request is only valid with delegated authentication flow.")
            principal = self.directory.user(str(claims.get("oid") or ""))
            if principal is None:
                raise GraphFail(404, "Request_ResourceNotFound", "The signed-in user is not in the directory.")
            prefix, rest = "me", _tail(parts, 1)
        elif head == "users":
            counting = len(parts) == 2 and parts[1].lower() == "$count"
            if len(parts) == 1 or counting:
                if req.method != "GET":
                    raise GraphFail(405, "Request_BadRequest", "Only GET is supported on /users here.")
                require(claims, "user.read", own=False)
                if counting and req.headers.get("consistencylevel", "").lower() != "eventual":
                    # Directory objects count only with the advanced query header, as Graph answers.
                    raise GraphFail(400, "Request_BadRequest", "$count is not currently supported.")
                return list_users(Ctx(req, claims, self, prefix="users", count_only=counting), self.directory)
            key = parts[1]
            principal = self.directory.user(key)
            if principal is None:
                if len(parts) == 2:
                    raise GraphFail(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of "
                                    "its queried reference-property objects are not present.")
                raise GraphFail(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
            prefix, rest = f"users/{key}", _tail(parts, 2)
        elif head in ("drives", "sites"):
            return _drive.top_level(self, req, claims, parts)
        else:
            raise bad_request(f"Resource not found for the segment '{parts[0]}'.")
        own = not is_app_only(claims) and principal.id == claims.get("oid")
        ctx = Ctx(req, claims, self, principal=principal, prefix=prefix)
        if rest.lower() == "/drive" or rest.lower().startswith("/drive/"):
            return _drive.principal_drive(self, ctx, rest[len("/drive"):], own)
        if not rest:
            if req.method != "GET":
                raise GraphFail(405, "Request_BadRequest", "Only GET is supported on a user here.")
            require(claims, "user.read", own=own)
            return get_user(ctx)
        rest = _CHILD_FOLDER.sub(r"/mailFolders/\1", rest)
        if rest.lower().endswith("/$count") and req.method == "GET":
            # A /$count segment: the collection's size as text/plain (its $filter and $search apply).
            rest, ctx.count_only = rest[:-len("/$count")], True
        route, params = _ROUTES.match(req.method, rest)
        require(claims, route.permission, own=own)
        ctx.params = params
        with self.lock:
            answer = route.handler(ctx)
        if ctx.count_only and not answer.headers.get("Content-Type", "").startswith("text/plain"):
            raise bad_request("Resource not found for the segment '$count'.")
        return answer

    # -- $batch ---------------------------------------------------------------------------
    def _batch(self, req: Request, claims: dict) -> Response:
        try:
            payload = req.json()
        except ValueError:
            raise bad_request("Invalid batch payload: not JSON.") from None
        requests = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(requests, list) or not requests:
            raise bad_request("Invalid batch payload: 'requests' must be a non-empty array.")
        if len(requests) > MAX_BATCH:
            raise bad_request(f"Number of batch requests exceeds the maximum of {MAX_BATCH}.")
        ids = [str(r["id"]) if isinstance(r, dict) and isinstance(r.get("id"), (str, int)) else "" for r in requests]
        if len(set(ids)) != len(ids) or "" in ids:
            raise bad_request("Each batch request needs a unique id.")
        statuses: dict[str, int] = {}
        responses = []
        for item, item_id in zip(requests, ids):
            # msgraph-core writes ``depends_on``; Graph documents ``dependsOn``.
            depends = item.get("dependsOn") or item.get("depends_on") or []
            if not isinstance(depends, list) or not isinstance(item.get("headers") or {}, dict):
                answer = error_response(req, 400, "BadRequest", "dependsOn must be an array, headers an object.")
            elif any(statuses.get(str(d), 424) >= 400 for d in depends):
                answer = error_response(req, 424, "FailedDependency", "A request this one depends on failed.")
            else:
                answer = self._batch_one(req, claims, item)
            statuses[item_id] = answer.status
            responses.append(_batch_response(item_id, answer))
        return Response.json({"responses": responses})

    def _batch_one(self, outer: Request, claims: dict, item: dict) -> Response:
        method = str(item.get("method") or "").upper()
        url = item.get("url")
        if method not in ("GET", "POST", "PATCH", "PUT", "DELETE") or not isinstance(url, str) or not url:
            return error_response(outer, 400, "BadRequest", "Each batch request needs a method and a url.")
        try:
            parts = urlsplit(url)
        except ValueError:
            return error_response(outer, 400, "BadRequest", f"Invalid url '{url}'.")
        # decoded as the server decodes a request's own path: /users/adele%40contoso.example/... is Adele's
        path = re.sub(r"/{2,}", "/", "/" + unquote(parts.path).lstrip("/"))
        if not path.lower().startswith("/v1.0/"):
            path = "/v1.0" + path
        if path.lower().rstrip("/") == "/v1.0/$batch":
            return error_response(outer, 400, "BadRequest", "Nested batch requests are not supported.")
        headers = {k.lower(): ", ".join(map(str, v)) if isinstance(v, list) else str(v)
                   for k, v in (item.get("headers") or {}).items()}
        headers["authorization"] = outer.headers.get("authorization", "")
        body = item.get("body")
        if body is None:
            raw = b""
        elif isinstance(body, (dict, list)):
            raw = json.dumps(body).encode()
            headers.setdefault("content-type", "application/json")
        else:
            # Graph takes non-JSON bodies base64-encoded in a batch (msgraph-core sends them so).
            try:
                raw = base64.b64decode(str(body), validate=True)
            except ValueError:
                raw = str(body).encode()
        inner = Request(method, path, dict(parse_qsl(parts.query, keep_blank_values=True)), headers, raw,
                        outer.base_url)
        fault = self.inner_fault(inner) if self.inner_fault is not None else None
        if fault is not None:
            return fault
        try:
            return self._dispatch(inner, claims)
        except GraphFail as fail:
            return error_response(inner, fail.status, fail.code, fail.message, fail.headers)


def _tail(parts: list[str], start: int) -> str:
    """The path after the principal (``/messages/{id}``), or "" for the principal itself."""
    return "/" + "/".join(parts[start:]) if len(parts) > start else ""


def _batch_response(item_id: str, answer: Response) -> dict[str, Any]:
    """One entry of a batch answer: JSON bodies inline, other bodies base64 (as Graph does)."""
    result: dict[str, Any] = {"id": item_id, "status": answer.status, "headers": dict(answer.headers)}
    if answer.body:
        if answer.headers.get("Content-Type", "").startswith("application/json"):
            result["body"] = json.loads(answer.body)
        else:
            result["body"] = base64.b64encode(answer.body).decode()
    return result
