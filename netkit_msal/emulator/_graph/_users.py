"""``/me``, ``/users`` and ``/users/{id | userPrincipalName}`` from the emulated directory."""

from __future__ import annotations

from .._directory import Directory, User
from .._http import Response
from . import _schema
from ._core import Ctx, GraphFail, bad_request, collection, entity
from ._odata import ODataError, parse_directory_search, parse_select

#: What Graph returns for a user without ``$select``.
DEFAULT_PROPERTIES = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                      "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
ALL_PROPERTIES = DEFAULT_PROPERTIES + ("accountEnabled", "department", "companyName", "mailNickname",
                                       "usageLocation", "userType", "createdDateTime", "otherMails")
_TYPE = "microsoft.graph.user"


def user_json(user: User) -> dict:
    """Every property the emulator knows for a user (``$select`` picks from these)."""
    return {
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": user.given_name or None,
        "jobTitle": user.job_title or None,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": user.surname or None,
        "userPrincipalName": user.upn,
        "id": user.id,
        "accountEnabled": user.enabled and not user.shared,
        "department": user.department or None,
        "companyName": "Contoso",
        "mailNickname": user.upn.split("@")[0],
        "usageLocation": "US",
        "userType": "Member",
        "createdDateTime": "2024-01-01T00:00:00Z",
        "otherMails": [],
    }


def _selection(ctx: Ctx) -> tuple[str, ...]:
    """The ``$select`` names: any property Graph's user type declares, with Graph's spelling."""
    try:
        names = parse_select(ctx.q("$select"), [*ALL_PROPERTIES, *_schema.properties("user")], _TYPE)
    except ODataError as exc:
        raise bad_request(str(exc), "Request_BadRequest") from None
    return tuple(names) if names else DEFAULT_PROPERTIES


def _render(data: dict, names: tuple[str, ...]) -> dict:
    """Only the selected properties (null or [] for what the emulator keeps no value of); Graph adds no
    ``id`` to a directory object's ``$select``."""
    return {name: data[name] if name in data else _schema.empty_value("user", name) for name in names}


def get_user(ctx: Ctx) -> Response:
    names = _selection(ctx)
    assert ctx.principal is not None
    suffix = f"({','.join(names)})" if names != DEFAULT_PROPERTIES else ""
    return entity(ctx, f"users{suffix}/$entity", _render(user_json(ctx.principal), names))


def list_users(ctx: Ctx, directory: Directory) -> Response:
    names = _selection(ctx)
    eventual = ctx.req.headers.get("consistencylevel", "").lower() == "eventual"
    search = None
    search_text = ctx.q("$search")
    if search_text is not None:
        if not eventual:
            raise bad_request("Request with $search query parameter only works through MSGraph with a special "
                              "request header: 'ConsistencyLevel: eventual'", "Request_UnsupportedQuery")
        try:
            search = parse_directory_search(search_text)
        except ODataError as exc:
            raise bad_request(str(exc), "Request_UnsupportedQuery") from None
    if (ctx.q("$count") or "").lower() == "true" and not eventual:
        raise GraphFail(400, "Request_BadRequest", "$count is not currently supported.")
    suffix = f"({','.join(names)})" if names != DEFAULT_PROPERTIES else ""
    return collection(ctx, [user_json(u) for u in directory.users], lambda data: _render(data, names),
                      context=f"users{suffix}", default_top=100, max_top=999, style="skiptoken", search=search,
                      type_name="user")
