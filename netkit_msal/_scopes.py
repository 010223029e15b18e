"""Scopes: 4D's ``scope`` text or list turned into what MSAL wants, one rule for the provider and Graph.

Its own module so that the parameter object, the provider's per-call scopes and the Graph client normalise
scopes the same way (OIDC scopes dropped, short names given the cloud's Graph prefix).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Union

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
    _one_resource(result, key)
    return tuple(result), offline


def _one_resource(scopes: Sequence[str], key: str) -> None:
    """Entra issues a token for one resource (AADSTS28000 otherwise): say so now, naming the key."""
    resources: dict[str, str] = {}
    for scope in scopes:
        if "/" in scope:
            resources.setdefault(scope.rstrip("/").rpartition("/")[0].rstrip("/").lower(), scope)
    if len(resources) > 1:
        first, second = list(resources.values())[:2]
        raise ConfigError(f"{key} names two resources ({first!r} and {second!r}): a token is for one resource; "
                          "ask for each resource's scopes in its own get_token(scopes=...) call",
                          key=key, code=BAD_VALUE)


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


class ScopeConfig(Protocol):
    """What ``graph_scopes`` needs of a parameter object (``Config`` has it): a small type, no import of it."""

    @property
    def permission(self) -> str: ...
    @property
    def scope(self) -> tuple[str, ...]: ...
    @property
    def graph_resource(self) -> str: ...


def graph_scopes(config: ScopeConfig, scopes: Union[str, Sequence[str], None] = None) -> list[str]:
    """The scopes a Graph client asks tokens for: full Graph URIs, one resource (Entra refuses mixed ones).

    ``scopes`` wins; otherwise an app-only provider asks ``<graph resource>/.default`` and a delegated one its
    configured Graph scopes (mail or other APIs' scopes left out), or ``.default`` (all consented) if none.
    The one rule for msgraph-sdk clients and ``Office365``.
    """
    resource = config.graph_resource.rstrip("/")
    prefix = resource.lower() + "/"
    if scopes is not None:
        wanted = list(normalize_scopes(scopes, resource, key="scopes")[0])
        if not wanted:
            raise ConfigError("scopes is empty", key="scopes", code=EMPTY)
    elif config.permission == "service":
        wanted = [f"{resource}/.default"]
    else:
        wanted = [s for s in config.scope if s.lower().startswith(prefix)] or [f"{resource}/.default"]
    foreign = [s for s in wanted if "://" in s and not s.lower().startswith(prefix)]
    if foreign:
        raise ConfigError(f"scopes: {foreign[0]!r} is not a Microsoft Graph scope (this provider's Graph scopes "
                          f"start with {resource}/)", key="scopes")
    if config.permission == "service" and any(not s.endswith("/.default") for s in wanted):
        raise ConfigError(f"scopes: app-only (service) tokens take {resource}/.default; the app's granted roles "
                          "decide what it may do", key="scopes")
    return wanted
