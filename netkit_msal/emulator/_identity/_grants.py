"""The token endpoint: grant dispatch and the authorization_code, refresh_token, client_credentials grants."""

from __future__ import annotations

import hashlib
import hmac
import time

from .._directory import App
from .._http import Request, Response
from .._scopes import OIDC_SCOPES, permissions
from .._tokens import access_token_claims, b64url
from ._client_auth import ClientAuthentication
from ._core import CODE_LIFETIME, REFRESH_TOKEN_LIFETIME
from ._device import DEVICE_GRANT, DeviceCode
from ._errors import POST_ONLY, EntraError
from ._obo import JWT_BEARER, OnBehalfOf


class Grants(ClientAuthentication, DeviceCode, OnBehalfOf):
    """``/oauth2/v2.0/token``."""

    def token(self, req: Request, tenant: str) -> Response:
        if not self.tenant_known(tenant):
            return self.tenant_error(req, tenant)
        if req.method != "POST":
            return self._json_error(req, POST_ONLY)
        form = req.form()
        try:
            app = self._authenticate_client(req, form, tenant)
            grant = form.get("grant_type", "")
            self.count(f"token:{grant.rsplit(':', 1)[-1]}")
            if grant == "authorization_code":
                return self._by_code(form, app)
            if grant == "refresh_token":
                return self._by_refresh_token(form, app)
            if grant == "client_credentials":
                return self._by_client_credentials(form, app)
            if grant == DEVICE_GRANT:
                return self._by_device_code(form, app)
            if grant == JWT_BEARER:
                return self._by_on_behalf_of(form, app)
            if not grant:
                raise EntraError("invalid_request", 900144,
                                 "The request body must contain the following parameter: 'grant_type'.")
            raise EntraError("unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant}'.")
        except EntraError as exc:
            return self._json_error(req, exc)

    def _by_code(self, form: dict[str, str], app: App) -> Response:
        code = form.get("code", "")
        if not code:
            raise EntraError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'code'.")
        with self._lock:
            grant = self._codes.get(code)
            if grant is not None and grant.client_id == app.client_id:
                used, grant.used = grant.used, True
        if grant is None or grant.client_id != app.client_id:
            raise EntraError("invalid_grant", 70000,
                             "The provided value for the 'code' parameter is not valid. The code has expired, "
                             "is malformed or was issued to another application.")
        if used:
            raise EntraError("invalid_grant", 54005,
                             "OAuth2 Authorization code was already redeemed, please retry with a new valid "
                             "code or use an existing refresh token.")
        if self.clock.now() - grant.issued_at > CODE_LIFETIME:
            raise EntraError("invalid_grant", 70008,
                             "The provided authorization code or refresh token has expired due to inactivity. "
                             "Send a new interactive authorization request for this user and resource.")
        redirect_uri = form.get("redirect_uri", "")
        if redirect_uri != grant.redirect_uri:
            raise EntraError("invalid_grant", 500112,
                             f"The reply address '{redirect_uri}' does not match the reply address "
                             f"'{grant.redirect_uri}' provided when requesting Authorization code.")
        if grant.challenge:
            verifier = form.get("code_verifier", "")
            if not verifier:
                raise EntraError("invalid_request", 900144,
                                 "The request body must contain the following parameter: 'code_verifier'.")
            computed = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest()) \
                if grant.method == "S256" else verifier
            if not hmac.compare_digest(computed, grant.challenge):
                raise EntraError("invalid_grant", 501481,
                                 "The Code_Verifier does not match the code_challenge supplied in the "
                                 "authorization request.")
        user = self._active_user(self.directory.user(grant.user_id))
        scopes = self._scopes(form["scope"]) if form.get("scope") else grant.scopes
        names = self._granted(user, app, scopes)
        return self._user_tokens(app, user, scopes, names, nonce=grant.nonce,
                                 with_client_info=form.get("client_info") == "1",
                                 claims_request=form.get("claims", ""))

    def _by_refresh_token(self, form: dict[str, str], app: App) -> Response:
        token = form.get("refresh_token", "")
        if not token:
            raise EntraError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'refresh_token'.")
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None:
            raise EntraError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if grant.client_id != app.client_id:
            raise EntraError("invalid_grant", 70000,
                             "Provided grant is invalid or malformed: the refresh token was issued to another "
                             "application.")
        if grant.seq < self._valid_from.get(grant.user_id, 0):
            raise EntraError("invalid_grant", 50173,
                             "The provided grant has expired due to it being revoked, a fresh auth token is "
                             "needed. The user might have changed or reset their password.")
        if self.clock.now() - grant.issued_at > REFRESH_TOKEN_LIFETIME:
            raise EntraError("invalid_grant", 700082,
                             "The refresh token has expired due to inactivity. The token was issued on "
                             f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(grant.issued_at))} and was "
                             f"inactive for 90.00:00:00.")
        user = self._active_user(self.directory.user(grant.user_id))
        scopes = self._scopes(form.get("scope", ""))
        names = self._granted(user, app, scopes)
        return self._user_tokens(app, user, scopes, names, nonce=None,
                                 with_client_info=form.get("client_info") == "1",
                                 claims_request=form.get("claims", ""), silent=True)

    def _by_client_credentials(self, form: dict[str, str], app: App) -> Response:
        text = form.get("scope", "")
        wanted = [w for w in text.split() if w not in OIDC_SCOPES]
        bad = [w for w in wanted if not w.rstrip("/").endswith("/.default")]
        if len(wanted) > 1 and not bad:
            raise EntraError("invalid_scope", 70011,
                             f"The provided request must include a 'scope' input parameter. The provided value "
                             f"for the input parameter 'scope' is not valid. The scope {text} is not valid.")
        if bad or not wanted:
            raise EntraError("invalid_scope", 1002012,
                             f"The provided value for scope {bad[0] if bad else text} is not valid. Client "
                             f"credential flows must have a scope value with /.default suffixed to the "
                             f"resource identifier (application ID URI).")
        scopes = self._scopes(" ".join(wanted))
        roles = sorted(permissions(app, scopes.service, roles=True))
        lifetime = self.settings.token_lifetime
        extra = self.conditional_access.token_claims(None, form.get("claims", ""), silent=True)
        claims = access_token_claims(issuer=self.issuer, tenant_id=self.directory.tenant_id,
                                     resource=scopes.resource, app=app, user=None, scopes=roles,
                                     now=self.clock.now(), lifetime=lifetime, extra=extra)
        if not roles:
            del claims["roles"]  # Entra issues the token anyway; the API then refuses it
        return Response.json({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                              "access_token": self.signer.sign(claims)})
