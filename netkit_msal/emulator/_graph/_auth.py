"""Who may call what: the access token's audience, and its scopes (delegated) or roles (app-only).

Graph answers a missing, bad or expired token and a token for another resource with 401 and a
``WWW-Authenticate: Bearer`` challenge; a valid token lacking the permission a route needs with 403. A token
conditional access no longer accepts (CAE, an authentication context) gets 401 with a claims challenge.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Optional

from .._directory import GRAPH, GRAPH_APP_ID
from .._http import Request, TokenRejected
from ._core import GraphFail

GRAPH_AUDIENCES = frozenset({GRAPH, GRAPH + "/", GRAPH_APP_ID})

_USER_ALL = frozenset({"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
                       "Directory.ReadWrite.All"})
_FILES_WRITE_ALL = frozenset({"Files.ReadWrite.All", "Sites.ReadWrite.All"})
_FILES_ALL = _FILES_WRITE_ALL | {"Files.Read.All", "Sites.Read.All"}
#: permission -> (delegated scopes for one's own data, delegated scopes for someone else's)
_DELEGATED: dict[str, tuple[frozenset, frozenset]] = {
    "user.read": (_USER_ALL | {"User.Read", "User.ReadWrite"}, _USER_ALL),
    "mail.read": (frozenset({"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic"}),
                  frozenset({"Mail.Read.Shared", "Mail.ReadWrite.Shared"})),
    "mail.write": (frozenset({"Mail.ReadWrite"}), frozenset({"Mail.ReadWrite.Shared"})),
    "mail.send": (frozenset({"Mail.Send"}), frozenset({"Mail.Send.Shared"})),
    "cal.read": (frozenset({"Calendars.Read", "Calendars.ReadWrite"}),
                 frozenset({"Calendars.Read.Shared", "Calendars.ReadWrite.Shared"})),
    "cal.write": (frozenset({"Calendars.ReadWrite"}), frozenset({"Calendars.ReadWrite.Shared"})),
    "settings.read": (frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}), frozenset()),
    "settings.write": (frozenset({"MailboxSettings.ReadWrite"}), frozenset()),
    "files.read": (_FILES_ALL | {"Files.Read", "Files.ReadWrite"}, _FILES_ALL),
    "files.write": (_FILES_WRITE_ALL | {"Files.ReadWrite"}, _FILES_WRITE_ALL),
}
_APP: dict[str, frozenset] = {
    "user.read": frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    "mail.read": frozenset({"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic.All"}),
    "mail.write": frozenset({"Mail.ReadWrite"}),
    "mail.send": frozenset({"Mail.Send"}),
    "cal.read": frozenset({"Calendars.Read", "Calendars.ReadWrite"}),
    "cal.write": frozenset({"Calendars.ReadWrite"}),
    "settings.read": frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}),
    "settings.write": frozenset({"MailboxSettings.ReadWrite"}),
    "files.read": _FILES_ALL,
    "files.write": _FILES_WRITE_ALL,
}


def _unauthorized(req: Request, tenant_id: str, message: str) -> GraphFail:
    challenge = (f'Bearer realm="", authorization_uri="{req.base_url}/{tenant_id}/oauth2/v2.0/authorize", '
                 f'client_id="{GRAPH_APP_ID}"')
    return GraphFail(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": challenge})


#: A token's claims -> the claims to challenge it with and Graph's message, or None when it passes.
AccessPolicy = Callable[[dict], Optional[tuple[dict[str, Any], str]]]


def _claims_challenge(req: Request, claims: dict[str, Any], message: str) -> GraphFail:
    """Graph's CAE / step-up answer, as Entra documents it (``claims`` is base64 of the JSON claims request)."""
    encoded = base64.b64encode(json.dumps(claims, separators=(",", ":")).encode("utf-8")).decode("ascii")
    challenge = (f'Bearer realm="", authorization_uri="{req.base_url}/common/oauth2/authorize", '
                 f'client_id="{GRAPH_APP_ID}", error="insufficient_claims", claims="{encoded}"')
    return GraphFail(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": challenge})


def authenticate(req: Request, verify: Callable[[str], dict], tenant_id: str,
                 policy: Optional[AccessPolicy] = None) -> dict:
    """The verified claims of the request's bearer token for Graph; GraphFail 401 otherwise."""
    token = req.bearer_token()
    if not token:
        raise _unauthorized(req, tenant_id, "Access token is empty.")
    try:
        claims = verify(token)
    except TokenRejected as exc:
        reason = str(exc) or "invalid token"
        if "expir" in reason.lower():
            raise _unauthorized(req, tenant_id, "Lifetime validation failed, the token is expired.") from None
        raise _unauthorized(req, tenant_id, f"Access token validation failure: {reason}.") from None
    if claims.get("aud") not in GRAPH_AUDIENCES:
        raise _unauthorized(req, tenant_id, "Access token validation failure. Invalid audience.")
    challenge = policy(claims) if policy is not None else None
    if challenge is not None:
        raise _claims_challenge(req, *challenge)
    return claims


def is_app_only(claims: dict) -> bool:
    return claims.get("idtyp") == "app" or ("scp" not in claims and "roles" in claims)


def granted(claims: dict) -> set[str]:
    if is_app_only(claims):
        return set(claims.get("roles") or [])
    return set(str(claims.get("scp") or "").split())


def require(claims: dict, permission: str, *, own: bool) -> None:
    """GraphFail 403 unless the token carries a scope or role that allows ``permission``."""
    held = granted(claims)
    if is_app_only(claims):
        needed = _APP[permission]
    else:
        mine, others = _DELEGATED[permission]
        needed = mine if own else others
    if held & needed:
        return
    if permission.startswith("user."):
        raise GraphFail(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    raise GraphFail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
