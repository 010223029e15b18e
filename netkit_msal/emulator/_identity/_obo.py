"""The on-behalf-of flow: a web API exchanges the user token it was called with for a downstream token.

Entra's JWT bearer grant (``urn:ietf:params:oauth:grant-type:jwt-bearer`` with ``requested_token_use=
on_behalf_of``): the caller is a confidential app, the assertion an access token this tenant issued to a user
for that app (its audience is the app's client id or one of its Application ID URIs), the downstream scopes
admin-consented for the app (a middle tier cannot ask the user).
"""

from __future__ import annotations

from typing import Any

from .._directory import App
from .._http import Response, TokenRejected
from ._core import IdentityCore
from ._errors import EntraError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OnBehalfOf(IdentityCore):
    """``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` at ``/token``."""

    def _by_on_behalf_of(self, form: dict[str, str], app: App) -> Response:
        for name in ("requested_token_use", "assertion", "scope"):
            if not form.get(name):
                raise EntraError("invalid_request", 900144,
                                 f"The request body must contain the following parameter: '{name}'.")
        if form["requested_token_use"] != "on_behalf_of":
            raise EntraError("unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{JWT_BEARER}' with "
                             f"requested_token_use '{form['requested_token_use']}'.")
        if app.kind == "public":
            raise EntraError("invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.", status=401)
        claims = self._user_assertion(form["assertion"])
        self._check_audience(claims, app)
        if claims.get("idtyp") == "app" or "scp" not in claims:
            raise EntraError("invalid_grant", 50013,
                             "Assertion failed validation: an app-only token carries no user to act on behalf "
                             "of (the on-behalf-of flow exchanges a delegated token).")
        user = self._active_user(self.directory.user(str(claims.get("oid", ""))), str(claims.get("upn", "")))
        scopes = self._scopes(form["scope"])
        names = self._granted(user, app, scopes)  # admin consent: a middle tier cannot prompt
        return self._user_tokens(app, user, scopes, names, nonce=None,
                                 with_client_info=form.get("client_info") == "1")

    def _user_assertion(self, assertion: str) -> dict[str, Any]:
        try:
            return self.verify_access_token(assertion)
        except TokenRejected as exc:
            reason = str(exc)
        if reason == "token expired":
            raise EntraError("invalid_grant", 500133,
                             "Assertion is not within its valid time range. Ensure that the access token is not "
                             "expired before using it for user assertion, or request a new token.")
        if reason == "malformed token":
            raise EntraError("invalid_request", 50027, "JWT token is invalid or malformed.")
        if reason == "invalid signature":
            reason = "The provided signature value did not match the expected signature value."
        raise EntraError("invalid_grant", 50013, f"Assertion failed signature validation. [Reason - {reason}]")

    @staticmethod
    def _check_audience(claims: dict[str, Any], app: App) -> None:
        audience = str(claims.get("aud", ""))
        accepted = {app.client_id.lower(), f"api://{app.client_id}".lower()} | \
            ({app.app_id_uri.lower()} if app.app_id_uri else set())
        if audience.rstrip("/").lower() not in accepted:
            raise EntraError("invalid_grant", 500131,
                             f"Assertion audience does not match the Client app presenting the assertion. The "
                             f"audience in the assertion was '{audience}' and the expected audience is "
                             f"'{app.app_id_uri or app.client_id}' or one of the Application Uris of this "
                             f"application with App ID '{app.client_id}'({app.name}). The downstream client must "
                             f"request a token for the expected audience (the application that made the OBO "
                             f"request) and this application should use that token as the assertion.")
