"""Client authentication at the token endpoint: public clients, secrets, certificate assertions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .._directory import App
from .._http import Request
from .._tokens import b64url
from ._core import IdentityCore
from ._errors import EntraError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ASSERTION_SKEW = 300


class ClientAuthentication(IdentityCore):
    """Which registered app a token request comes from, and whether it proved it."""

    def _authenticate_client(self, req: Request, form: dict[str, str], tenant: str) -> App:
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                basic_id, _, basic_secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise EntraError("invalid_client", 7000215, "Invalid client secret provided.", status=401) from None
            client_id, secret = client_id or unquote(basic_id), unquote(basic_secret)
        app = self._app(client_id)
        assertion = form.get("client_assertion")
        if app.kind == "public":
            if secret or assertion:
                raise EntraError("invalid_client", 700025,
                                 "Client is public so neither 'client_assertion' nor 'client_secret' should be "
                                 "presented.", status=401)
            return app
        if assertion:
            self._verify_assertion(app, assertion, form.get("client_assertion_type", ""), tenant)
        elif secret:
            if not app.secret or not hmac.compare_digest(secret.encode(), app.secret.encode()):
                raise EntraError("invalid_client", 7000215,
                                 f"Invalid client secret provided. Ensure the secret being sent in the request "
                                 f"is the client secret value, not the client secret ID, for a secret added to "
                                 f"app '{app.client_id}'.", status=401)
        else:
            raise EntraError("invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.", status=401)
        return app

    def _verify_assertion(self, app: App, assertion: str, assertion_type: str, tenant: str) -> None:
        """A certificate credential: a JWT signed with the registered certificate's key."""
        if assertion_type != ASSERTION_TYPE:
            raise EntraError("invalid_request", 70002,
                             f"The client_assertion_type '{assertion_type}' is not supported.", status=400)
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise EntraError("invalid_client", 50027, "JWT token is invalid or malformed.", status=401) from None
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            raise EntraError("invalid_client", 5002738,
                             f"Invalid JWT token. '{alg}' is not a supported signature algorithm.", status=401)
        certificate = self._assertion_certificate(app, header)
        try:
            claims = jwt.decode(assertion, certificate.public_key(), algorithms=[alg],  # type: ignore[arg-type] # RS/PS256
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_aud": False, "verify_iss": False})
        except jwt.PyJWTError:
            raise EntraError("invalid_client", 700027,
                             "Client assertion contains an invalid signature. [Reason - The provided signature "
                             "value did not match the expected signature value.]", status=401) from None
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise EntraError("invalid_client", 700021,
                             "Client assertion application identifier doesn't match 'client_id' parameter.",
                             status=401)
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not any(self._assertion_audience_ok(a) for a in audiences):
            raise EntraError("invalid_client", 700212,
                             f"The audience of the client assertion is not valid. Expected the token endpoint "
                             f"{self.url}/{tenant}/oauth2/v2.0/token.", status=401)
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, (int, float)) or exp + _ASSERTION_SKEW < now or \
                (isinstance(nbf, (int, float)) and nbf - _ASSERTION_SKEW > now):
            raise EntraError("invalid_client", 700024,
                             "Client assertion is not within its valid time range.", status=401)

    def _assertion_certificate(self, app: App, header: dict[str, Any]) -> x509.Certificate:
        # Clients differ on base64url padding (MSAL pads): compare without it.
        x5t = str(header.get("x5t") or "").rstrip("=")
        x5t_s256 = str(header.get("x5t#S256") or "").rstrip("=")
        for thumbprint, pem in app.certificates.items():
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            sha256 = b64url(hashlib.sha256(cert.public_bytes(Encoding.DER)).digest())
            if (x5t and x5t == b64url(bytes.fromhex(thumbprint))) or (x5t_s256 and x5t_s256 == sha256):
                return cert
        shown = header.get("x5t") or header.get("x5t#S256") or "(none)"
        raise EntraError("invalid_client", 700027,
                         f"Client assertion contains an invalid signature. [Reason - The key was not found., "
                         f"Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph "
                         f"Explorer or directly use MS Graph to see configured keys for app Id "
                         f"'{app.client_id}'.]", status=401)

    def _assertion_audience_ok(self, aud: Any) -> bool:
        if not isinstance(aud, str):
            return False
        parts, ours = urlsplit(aud), urlsplit(self.url)
        if parts.scheme != "https" or parts.port != ours.port or \
                parts.hostname not in (ours.hostname, "127.0.0.1", "localhost"):
            return False
        segments = parts.path.strip("/").split("/")
        return bool(segments) and self.tenant_known(segments[0]) and segments[1:] in (
            ["oauth2", "v2.0", "token"], ["oauth2", "token"], ["v2.0"], [])
