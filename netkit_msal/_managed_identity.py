"""The ``managedIdentity`` parameter: which Azure managed identity a service provider takes its tokens from.

``true`` is the system-assigned identity; ``{"clientId"|"objectId"|"resourceId": "..."}`` names a user-assigned
one. Such a provider needs no ``clientId`` and no secret: MSAL's ``ManagedIdentityClient`` finds the host's
identity endpoint (App Service, Functions, Container Apps, Arc, Service Fabric, Machine Learning, VM's IMDS) from
the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from ._exceptions import BAD_VALUE, EMPTY, WRONG_TYPE, ConfigError

#: Our key -> MSAL's ``UserAssignedManagedIdentity`` keyword.
_SELECTORS = {"clientId": "client_id", "objectId": "object_id", "resourceId": "resource_id"}
#: Keys that make no sense with a managed identity (the identity is the credential).
_CONFLICTS = ("clientId", "clientSecret", "privateKey", "thumbprint", "certificateFile", "redirectURI", "flow")
#: What the cached tokens and ``Config.client_id`` show for the system-assigned identity (MSAL's own label).
SYSTEM_ASSIGNED = "SYSTEM_ASSIGNED_MANAGED_IDENTITY"


@dataclass(frozen=True)
class ManagedIdentity:
    """A system-assigned identity (``kind`` None) or a user-assigned one named by ``kind`` = ``value``."""

    kind: Optional[str] = None  # "client_id" | "object_id" | "resource_id"
    value: Optional[str] = None

    @property
    def label(self) -> str:
        return self.value if self.value else SYSTEM_ASSIGNED

    def msal(self) -> Any:
        """MSAL's identity object for ``ManagedIdentityClient``."""
        import msal

        if self.kind is None:
            return msal.SystemAssignedManagedIdentity()
        return msal.UserAssignedManagedIdentity(**{self.kind: self.value})


def managed_identity_from(values: Mapping[str, Any]) -> Optional[ManagedIdentity]:
    """The ``managedIdentity`` parameter checked against the others; None when it is absent or false."""
    value = values.get("managedIdentity")
    if value is None or value is False:
        return None
    for key in _CONFLICTS:
        if key in values:
            hint = ('; a user-assigned identity is {"managedIdentity": {"clientId": ...}}'
                    if key == "clientId" else "")
            raise ConfigError(f"{key} cannot be given with managedIdentity: the managed identity is the app and "
                              f"its credential{hint}", key=key, code=BAD_VALUE)
    if str(values.get("permission", "service")).strip().lower() != "service":
        raise ConfigError('managedIdentity gets app-only tokens: permission must be "service"', key="permission",
                          code=BAD_VALUE)
    if value is True:
        return ManagedIdentity()
    if not isinstance(value, Mapping):  # the key's types (bool, object) are checked before
        raise ConfigError("managedIdentity must be true or an object", key="managedIdentity", code=WRONG_TYPE)
    unknown = [k for k in value if k not in _SELECTORS]
    if unknown or len(value) != 1:
        raise ConfigError('managedIdentity takes exactly one of "clientId", "objectId", "resourceId" (a user-'
                          'assigned identity), or true (the system-assigned one)', key="managedIdentity",
                          code=BAD_VALUE)
    (key, text), = value.items()
    if not isinstance(text, str):
        raise ConfigError(f"managedIdentity.{key} must be text", key=f"managedIdentity.{key}", code=WRONG_TYPE)
    if not text.strip():
        raise ConfigError(f"managedIdentity.{key} is empty", key=f"managedIdentity.{key}", code=EMPTY)
    return ManagedIdentity(_SELECTORS[key], text.strip())
