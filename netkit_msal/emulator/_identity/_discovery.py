"""OpenID discovery and the signing keys (JWKS)."""

from __future__ import annotations

from .._http import Request, Response
from ._core import IdentityCore


class Discovery(IdentityCore):
    """``/.well-known/openid-configuration`` and ``/discovery/v2.0/keys``."""

    def _endpoints(self, tenant: str) -> dict[str, str]:
        base = f"{self.url}/{tenant}"
        return {
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
        }

    def discovery(self, req: Request, tenant: str) -> Response:
        if not self.tenant_known(tenant):
            return self.tenant_error(req, tenant)
        issuer_tenant = self.directory.tenant_id if tenant.lower() not in ("common", "organizations") \
            else "{tenantid}"
        doc = {
            **self._endpoints(tenant),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.url}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                                 "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time",
                                 "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
                                 "c_hash", "email"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return Response.json(doc)

    def jwks(self, req: Request) -> Response:
        return Response.json({"keys": [{**self.signer.jwk, "issuer": self.issuer}]})
