"""Scopes: 4D's ``scope`` text or list turned into what MSAL wants, one rule for the provider and Graph.

Its own module so that the parameter object, the provider's per-call scopes and the Graph client normalise
scopes the same way (OIDC scopes dropped, short names given the cloud's Graph prefix).
"""

from __future__ import annotations

from typing import Any

from ._exceptions import BAD_VALUE, EMPTY, WRONG_TYPE, ConfigError

RESERVED_SCOPES = ("openid", "profile", "offline_access")
_OIDC_ONLY = ("email",)


def normalize_scopes(scopes: Any, graph_resource: str, *, key: str = "scope") -> tuple[tuple[str, ...], bool]:
    """Scopes as MSAL wants them: a list of full URIs, reserved OIDC scopes dropped.

    Returns (scopes, offline_access_was_asked). Short names such as ``User.Read`` and ``.default`` get the Graph
    prefix; ``email`` stays as it is (an OpenID Connect scope).
    """
    if isinstance(scopes, str):
        items = scopes.split()
    elif isinstance(scopes, (list, tuple)):
        items = []
        for item in scopes:
            if not isinstance(item, str):
                raise ConfigError(f"{key} must hold text only, not {type(item).__name__}", key=key, code=WRONG_TYPE)
            items.extend(item.split())
    else:
        raise ConfigError(f"{key} must be text or a list of text", key=key, code=WRONG_TYPE)
    result: list[str] = []
    offline = False
    for item in items:
        lowered = item.lower()
        if lowered in RESERVED_SCOPES:
            offline = offline or lowered == "offline_access"
            continue
        if "/" not in item and ":" not in item and lowered not in _OIDC_ONLY:
            item = f"{graph_resource}/{item}"
        if item not in result:
            result.append(item)
    return tuple(result), offline


def config_scopes(value: Any, graph_resource: str, permission: str) -> tuple[tuple[str, ...], bool]:
    if value is None:
        default = ".default" if permission == "service" else "User.Read"
        return (f"{graph_resource}/{default}",), False
    scopes, offline = normalize_scopes(value, graph_resource)
    if not scopes:
        if permission == "service":
            raise ConfigError("scope is empty: service tokens need a '<resource>/.default' scope",
                              key="scope", code=EMPTY)
        # Only openid/profile/offline_access: a sign-in; its access token is Graph's User.Read, as Entra ID gives.
        return (f"{graph_resource}/User.Read",), offline
    if permission == "service":
        wrong = [s for s in scopes if not s.endswith("/.default")]
        if wrong:
            raise ConfigError(
                f"scope {wrong[0]!r}: service (app-only) tokens take '<resource>/.default' scopes, "
                f"e.g. {graph_resource}/.default; the app's granted roles decide what the token may do",
                key="scope", code=BAD_VALUE,
            )
    return scopes, offline
