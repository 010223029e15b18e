"""The Microsoft identity platform (Entra ID v2.0 endpoints), as plain Request -> Response functions.

Endpoints: OpenID discovery, JWKS, ``authorize``, ``token`` (authorization_code with PKCE,
refresh_token, client_credentials with secret or certificate assertion, device_code),
``devicecode`` and the ``devicelogin`` page. Errors have Entra's JSON shape and AADSTS codes.
One concern per module: ``_core`` (state, shared helpers), ``_errors``, ``_discovery``,
``_authorize``, ``_client_auth``, ``_grants``, ``_device``, ``_conditional_access`` (CAE, auth contexts).
"""

from __future__ import annotations

from ._authorize import Authorize
from ._client_auth import ASSERTION_TYPE
from ._core import CODE_LIFETIME, DEVICE_CODE_LIFETIME, REFRESH_TOKEN_LIFETIME, Settings
from ._device import DEVICE_GRANT
from ._discovery import Discovery
from ._errors import EntraError
from ._grants import Grants

__all__ = ["IdentityPlatform", "Settings", "EntraError", "ASSERTION_TYPE", "DEVICE_GRANT", "CODE_LIFETIME",
           "DEVICE_CODE_LIFETIME", "REFRESH_TOKEN_LIFETIME"]


class IdentityPlatform(Grants, Authorize, Discovery):
    """Entra ID's v2.0 endpoints for one tenant."""
