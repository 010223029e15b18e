"""The managed identity endpoint of an Azure App Service / Functions host, on plain HTTP loopback.

Azure gives such a host ``IDENTITY_ENDPOINT`` (``http://127.0.0.1:<port>/msi/token``) and ``IDENTITY_HEADER`` (a
secret); MSAL's ``ManagedIdentityClient`` then asks ``GET <endpoint>?api-version=2019-08-01&resource=<uri>``
(``&client_id=`` / ``&mi_res_id=`` / ``&object_id=`` for a user-assigned identity) with the header
``X-IDENTITY-HEADER`` and reads ``{access_token, expires_on, resource, token_type, client_id}`` (``expires_on`` in
epoch seconds, as text). The tokens are app-only tokens of the identity's service principal, which holds the same
application permissions as the emulator's service app, so Graph and mail accept them.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from ._directory import SECRET_CLIENT_ID, App, Directory
from ._http import Request, Response
from ._scopes import permissions, service_of
from ._tokens import Clock, Signer, access_token_claims

API_VERSION = "2019-08-01"
PATH = "/msi/token"
_SUBSCRIPTION = "/subscriptions/0f4e2a6c-1b3d-4c5e-8f70-9a8b7c6d5e4f/resourceGroups/netkit"


@dataclass(frozen=True)
class Identity:
    """A managed identity's service principal: ``kind`` is ``systemAssigned`` or ``userAssigned``."""

    kind: str
    client_id: str
    object_id: str
    resource_id: str
    name: str

    def describe(self) -> dict[str, str]:
        return {"kind": self.kind, "clientId": self.client_id, "objectId": self.object_id,
                "resourceId": self.resource_id, "name": self.name}


SYSTEM_ASSIGNED = Identity("systemAssigned", "4b8e1f20-6a3c-4d9e-a1b2-3c4d5e6f7a8b",
                           "9d2c4e6f-8a1b-4c3d-9e5f-6a7b8c9d0e1f",
                           f"{_SUBSCRIPTION}/providers/Microsoft.Web/sites/netkit-app", "netkit-app")
USER_ASSIGNED = Identity("userAssigned", "2e6a8c0d-4f1b-4a3c-8d5e-7f9a1b3c5d7e",
                         "6c8e0a2b-4d6f-4b1c-a3e5-8f0b2d4e6a8c",
                         f"{_SUBSCRIPTION}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/netkit-automation",
                         "netkit-automation")
IDENTITIES = (SYSTEM_ASSIGNED, USER_ASSIGNED)


def _error(status: int, message: str) -> Response:
    """App Service's error shape (MSAL reports ``statusCode`` and ``message``)."""
    return Response.json({"statusCode": status, "message": message}, status)


class ManagedIdentityEndpoint:
    """``GET /msi/token``: the host's identities, the ``X-IDENTITY-HEADER`` secret, token issuance."""

    def __init__(self, directory: Directory, signer: Signer, clock: Clock, issuer: Callable[[], str],
                 token_lifetime: Callable[[], int]) -> None:
        self.directory = directory
        self.signer = signer
        self.clock = clock
        self._issuer = issuer
        self._lifetime = token_lifetime
        self.header = secrets.token_urlsafe(24)

    def environment(self, base_url: str) -> dict[str, str]:
        """What App Service sets for the app: MSAL's ``ManagedIdentityClient`` uses this endpoint with it."""
        return {"IDENTITY_ENDPOINT": f"{base_url}{PATH}", "IDENTITY_HEADER": self.header}

    def roles(self) -> dict[str, list[str]]:
        """Application permissions of every identity: the service app's, per resource."""
        service_app = self.directory.app(SECRET_CLIENT_ID)
        return {resource: sorted(names) for resource, names in (service_app.roles if service_app else {}).items()}

    def _identity(self, query: dict[str, str]) -> Optional[Identity]:
        for key, attribute in (("client_id", "client_id"), ("object_id", "object_id"),
                               ("principal_id", "object_id"), ("mi_res_id", "resource_id")):
            if query.get(key):
                wanted = query[key].lower()
                return next((i for i in IDENTITIES if i.kind == "userAssigned"
                             and getattr(i, attribute).lower() == wanted), None)
        return SYSTEM_ASSIGNED

    def handle(self, req: Request) -> Response:
        if req.path.rstrip("/").lower() != PATH:
            return _error(404, f"No managed identity endpoint at {req.path}")
        if req.method != "GET":
            return _error(405, "The managed identity endpoint takes GET.")
        given = req.headers.get("x-identity-header", "")
        if not given or not hmac.compare_digest(given, self.header):
            return _error(401, "The X-IDENTITY-HEADER header is missing or wrong.")
        if req.query.get("api-version") != API_VERSION:
            return _error(400, f"api-version must be {API_VERSION}.")
        resource = req.query.get("resource", "").strip()
        service = service_of(resource)
        if not resource or service is None:
            return _error(400, f"AADSTS500011: The resource principal named {resource or '(none)'} was not found "
                               f"in the tenant.")
        identity = self._identity(req.query)
        if identity is None:
            return _error(400, "No User Assigned or Delegated Managed Identity found for specified "
                               "ClientId/ResourceId/PrincipalId.")
        return Response.json(self.token(identity, resource, service))

    def token(self, identity: Identity, resource: str, service: str) -> dict[str, Any]:
        service_app = self.directory.app(SECRET_CLIENT_ID)
        roles = sorted(permissions(service_app, service, roles=True)) if service_app else []
        principal = App(identity.client_id, identity.name, "managedIdentity")
        now, lifetime = self.clock.now(), self._lifetime()
        claims = access_token_claims(
            issuer=self._issuer(), tenant_id=self.directory.tenant_id, resource=resource.rstrip("/"),
            app=principal, user=None, scopes=roles, now=now, lifetime=lifetime,
            extra={"oid": identity.object_id, "sub": identity.object_id, "xms_mirid": identity.resource_id,
                   "idtyp": "app"})
        return {"access_token": self.signer.sign(claims), "expires_on": str(int(now) + lifetime),
                "resource": resource, "token_type": "Bearer", "client_id": identity.client_id}
