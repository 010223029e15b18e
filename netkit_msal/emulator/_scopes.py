"""Scope strings as Entra ID reads them: one resource per request, full URIs, ``.default``.

Exchange Online answers to several identifiers (``https://outlook.office.com``,
``https://outlook.office365.com`` and its app id); they share one set of permissions, and the token's
``aud`` is the identifier that was asked for, as Entra does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from ._directory import GRAPH, GRAPH_APP_ID, OUTLOOK, OUTLOOK_365, OUTLOOK_APP_ID, App, Directory

#: OpenID Connect scopes: they ask for tokens or claims, not for a resource's permission.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})

#: Resource identifier -> service (one service principal, possibly several identifiers).
SERVICES = {
    GRAPH: "graph", GRAPH_APP_ID: "graph",
    OUTLOOK: "exchange", OUTLOOK_365: "exchange", OUTLOOK_APP_ID: "exchange",
}

#: Delegated permissions that exist but that no seeded app has admin consent for: a user may consent
#: to them at sign-in; asking for them silently first gives AADSTS65001 (consent required).
_EXTRA_DELEGATED = {
    "graph": {"Files.Read", "Files.ReadWrite", "Files.Read.All", "Files.ReadWrite.All", "Sites.ReadWrite.All",
              "Contacts.Read", "Contacts.ReadWrite",
              "Tasks.Read", "Tasks.ReadWrite", "People.Read", "Directory.Read.All", "Group.Read.All",
              "Sites.Read.All", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared", "Notes.Read",
              "Presence.Read", "Chat.Read", "email", "openid", "profile", "offline_access"},
    "exchange": {"EWS.AccessAsUser.All", "EAS.AccessAsUser.All"},
}


class ScopeError(Exception):
    """A scope parameter Entra ID would refuse: carries the OAuth error and the AADSTS code."""

    def __init__(self, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.error, self.code, self.description = error, code, description


@dataclass(frozen=True)
class Scopes:
    """A parsed scope parameter: one resource and the permission names asked of it."""

    resource: str
    service: str
    names: tuple[str, ...]
    oidc: frozenset[str]

    def full(self, names: Iterable[str]) -> list[str]:
        return [f"{self.resource}/{name}" for name in names]

    @property
    def is_default(self) -> bool:
        return ".default" in self.names


def service_of(resource: str) -> Optional[str]:
    """The service a resource identifier names; a web API's Application ID URI (``api://...``) is its own."""
    key = resource.rstrip("/").lower()
    return SERVICES.get(key) or (key if key.startswith("api://") else None)


def permissions(app: App, service: str, *, roles: bool = False) -> set[str]:
    """Admin-consented delegated permissions (or app roles) of an app on a service."""
    table = app.roles if roles else app.delegated
    found: set[str] = set()
    for resource, names in table.items():
        if service_of(resource) == service:
            found |= names
    return found


def known_delegated(directory: Directory, service: str) -> set[str]:
    known = set(_EXTRA_DELEGATED.get(service, ()))
    api = directory.api(service) if service.startswith("api://") else None
    known |= set(api.exposed_scopes if api else ())
    for app in directory.apps.values():
        known |= permissions(app, service)
    return known


def _split(scope: str) -> tuple[str, str]:
    """``https://graph.microsoft.com/User.Read`` -> (resource, name); a bare name means Graph."""
    if "/" not in scope:
        return GRAPH, scope
    resource, _, name = scope.rstrip("/").rpartition("/")
    return resource.rstrip("/"), name


def parse_scopes(text: str, directory: Directory) -> Scopes:
    """Parse a token request's scope parameter: one resource only (AADSTS28000 otherwise)."""
    found = parse_consent_scopes(text, directory)
    if len(found) > 1:
        raise ScopeError("invalid_scope", 28000,
                         f"Provided value for the input parameter scope is not valid because it contains "
                         f"more than one resource. Scope {text} is not valid.")
    return found[0]


def parse_consent_scopes(text: str, directory: Directory) -> list[Scopes]:
    """Parse an authorize request's scope parameter: several resources may be consented to at once."""
    words = text.split()
    oidc = frozenset(w for w in words if w in OIDC_SCOPES)
    wanted = [w for w in words if w not in OIDC_SCOPES]
    if not wanted:
        if not oidc:
            raise ScopeError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'scope'.")
        # Entra gives a Graph token when only OpenID scopes are asked for.
        return [Scopes(GRAPH, "graph", ("User.Read",), oidc)]
    resources: dict[str, list[str]] = {}
    for word in wanted:
        resource, name = _split(word)
        resources.setdefault(resource, []).append(name)
    found = []
    for resource, names in resources.items():
        service = service_of(resource)
        if service is None or service.startswith("api://") and directory.api(service) is None:
            raise ScopeError("invalid_resource", 500011,
                             f"The resource principal named {resource} was not found in the tenant named "
                             f"{directory.domain}. This can happen if the application has not been installed "
                             f"by the administrator of the tenant or consented to by any user in the tenant. "
                             f"You might have sent your authentication request to the wrong tenant.")
        # Permission names are case-insensitive at Entra; tokens carry the canonical spelling.
        known = {n.lower(): n for n in known_delegated(directory, service) | {".default"}}
        unknown = [n for n in names if n.lower() not in known]
        if unknown:
            raise ScopeError("invalid_scope", 70011,
                             f"The provided value for the input parameter 'scope' is not valid. "
                             f"The scope {resource}/{unknown[0]} is not valid.")
        canonical = tuple(dict.fromkeys(known[n.lower()] for n in names))
        found.append(Scopes(resource.rstrip("/"), service, canonical, oidc))
    return found
