"""The emulated tenant: its users and app registrations, seeded with fixed ids.

Fixed ids keep printed parameter objects, samples and test expectations stable across runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

GRAPH = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OUTLOOK = "https://outlook.office.com"
#: App-only IMAP/POP tokens are asked for with ``https://outlook.office365.com/.default``.
OUTLOOK_365 = "https://outlook.office365.com"
OUTLOOK_APP_ID = "00000002-0000-0ff1-ce00-000000000000"

TENANT_ID = "6e1f8c2a-93b4-4d5e-8f70-1a2b3c4d5e6f"
DOMAIN = "contoso.example"

PUBLIC_CLIENT_ID = "7008ebf5-4c2e-4b8a-9d1f-0a1b2c3d4e5f"
SECRET_CLIENT_ID = "5a1c9e3d-2b4f-4e6a-8c0d-1e2f3a4b5c6d"
SECRET_CLIENT_SECRET = "emulator-secret~not-for-production"
CERT_CLIENT_ID = "3c7e2a9b-6d1f-4a8e-b5c0-9f8e7d6c5b4a"
#: The secret app is also a web API (a middle tier for the on-behalf-of flow): its Application ID URI and scope.
API_URI = f"api://{SECRET_CLIENT_ID}"
API_SCOPE = f"{API_URI}/access_as_user"

_GRAPH_DELEGATED = {
    "User.Read", "User.ReadBasic.All", "User.Read.All", "Mail.Read", "Mail.ReadWrite", "Mail.Send",
    "Mail.Read.Shared", "Mail.ReadWrite.Shared", "Mail.Send.Shared", "Calendars.Read", "Calendars.ReadWrite",
    "Calendars.Read.Shared", "Calendars.ReadWrite.Shared",
    "MailboxSettings.Read", "MailboxSettings.ReadWrite",
}
_OUTLOOK_DELEGATED = {"IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send"}
_GRAPH_ROLES = {
    "User.Read.All", "Mail.Read", "Mail.ReadWrite", "Mail.Send", "Calendars.Read",
    "Calendars.ReadWrite", "MailboxSettings.Read", "Files.ReadWrite.All", "Sites.ReadWrite.All",
}
_OUTLOOK_ROLES = {"IMAP.AccessAsApp", "POP.AccessAsApp"}
#: Loopback redirect URIs of the seeded apps: MSAL's (no path) and the one 4D's documentation uses.
_LOOPBACK_REDIRECTS = ("http://localhost", "http://127.0.0.1", "http://localhost/authorize/",
                       "http://127.0.0.1/authorize/")


@dataclass
class User:
    id: str
    upn: str
    display_name: str
    given_name: str
    surname: str
    job_title: str = ""
    department: str = ""
    enabled: bool = True
    #: A shared mailbox: nobody signs in as it, delegates use it.
    shared: bool = False

    @property
    def mail(self) -> str:
        return self.upn


@dataclass
class App:
    client_id: str
    name: str
    #: "public" (no secret: desktop, CLI, device code) or "confidential" (secret or certificate).
    kind: str
    secret: Optional[str] = None
    #: SHA-1 thumbprints (hex, upper case) of certificates registered for this app; filled at start.
    certificate_thumbprints: set[str] = field(default_factory=set)
    #: Public PEM certificates by thumbprint, used to verify client assertions; filled at start.
    certificates: dict[str, str] = field(default_factory=dict)
    #: Exact redirect URIs. Loopback ones (http://127.0.0.1, http://localhost) match on any port, as in
    #: Entra; their path must match.
    redirect_uris: tuple[str, ...] = ()
    #: Delegated permissions this app may be granted, per resource URI.
    delegated: dict[str, set[str]] = field(default_factory=dict)
    #: Application permissions (app roles) granted to this app, per resource URI.
    roles: dict[str, set[str]] = field(default_factory=dict)
    #: A web API: its Application ID URI (``api://<client id>``) and the delegated scopes it exposes.
    app_id_uri: Optional[str] = None
    exposed_scopes: frozenset[str] = frozenset()


@dataclass
class Directory:
    tenant_id: str
    domain: str
    users: list[User]
    apps: dict[str, App]

    def user(self, key: str) -> Optional[User]:
        """A user by id or by UPN (case-insensitive), or None."""
        key_lower = key.lower()
        for user in self.users:
            if user.id == key or user.upn.lower() == key_lower:
                return user
        return None

    def app(self, client_id: str) -> Optional[App]:
        return self.apps.get(client_id)

    def api(self, resource: str) -> Optional[App]:
        """The app exposing a web API by its Application ID URI or client id, or None."""
        key = resource.rstrip("/").lower()
        return next((a for a in self.apps.values() if a.exposed_scopes and
                     key in ((a.app_id_uri or "").lower(), a.client_id, f"api://{a.client_id}")), None)


def _user(n: int, login: str, given: str, surname: str, title: str, department: str, **kw) -> User:
    return User(
        id=f"{n:08d}-0000-4000-8000-{n:012d}",
        upn=f"{login}@{DOMAIN}",
        display_name=f"{given} {surname}".strip(),
        given_name=given,
        surname=surname,
        job_title=title,
        department=department,
        **kw,
    )


def seed_directory() -> Directory:
    """A fresh copy of the seeded tenant (tests may change it: disable users, add apps)."""
    users = [
        _user(1, "adele", "Adele", "Vance", "Retail Manager", "Retail"),
        _user(2, "megan", "Megan", "Bowen", "Marketing Manager", "Marketing"),
        _user(3, "alex", "Alex", "Wilber", "Marketing Assistant", "Marketing"),
        _user(4, "diego", "Diego", "Siciliani", "HR Manager", "HR"),
        _user(5, "lynne", "Lynne", "Robbins", "Planner", "Retail"),
        _user(6, "sales", "Sales", "", "", "Sales", shared=True),
    ]
    delegated = {GRAPH: set(_GRAPH_DELEGATED), OUTLOOK: set(_OUTLOOK_DELEGATED)}
    roles = {GRAPH: set(_GRAPH_ROLES), OUTLOOK_365: set(_OUTLOOK_ROLES)}
    apps = {
        PUBLIC_CLIENT_ID: App(
            PUBLIC_CLIENT_ID, "NetKit public client", "public",
            redirect_uris=(*_LOOPBACK_REDIRECTS, "https://login.microsoftonline.com/common/oauth2/nativeclient"),
            delegated={**delegated, API_URI: {"access_as_user"}},
        ),
        SECRET_CLIENT_ID: App(
            SECRET_CLIENT_ID, "NetKit web app and daemon (secret)", "confidential",
            secret=SECRET_CLIENT_SECRET,
            # the web app sample's callback (samples/web_app.py) on loopback, any port
            redirect_uris=(*_LOOPBACK_REDIRECTS, "http://localhost/auth/callback", "http://127.0.0.1/auth/callback",
                           "https://app.contoso.example/auth/callback"),
            delegated=delegated, roles=roles, app_id_uri=API_URI, exposed_scopes=frozenset({"access_as_user"}),
        ),
        CERT_CLIENT_ID: App(
            CERT_CLIENT_ID, "NetKit daemon (certificate)", "confidential",
            roles=roles,
        ),
    }
    return Directory(TENANT_ID, DOMAIN, users, apps)
