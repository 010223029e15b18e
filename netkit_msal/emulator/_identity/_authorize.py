"""The authorize endpoint (code flow with PKCE, the sign-in and consent page) and sign-out."""

from __future__ import annotations

import secrets
import uuid
from typing import Optional
from urllib.parse import urlencode, urlsplit

from .._directory import App
from .._http import Request, Response
from .._pages import form_post, message, sign_in
from .._scopes import ScopeError, parse_consent_scopes
from .._tokens import client_info
from ._core import AuthCode, IdentityCore
from ._errors import EntraError, error_page


class Authorize(IdentityCore):
    """``/oauth2/v2.0/authorize`` and ``/oauth2/v2.0/logout``."""

    @staticmethod
    def _redirect_allowed(app: App, redirect_uri: str) -> bool:
        """Exact match; for http://localhost and http://127.0.0.1 registrations Entra ignores only the port."""
        if redirect_uri in app.redirect_uris:
            return True
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in ("localhost", "127.0.0.1"):
            return False
        try:
            parts.port  # noqa: B018 -- raises ValueError on a bad port
        except ValueError:
            return False
        for registered in app.redirect_uris:
            reg = urlsplit(registered)
            if (reg.scheme == "http" and reg.hostname == parts.hostname and reg.username is None
                    and parts.username is None and (reg.path or "/") == (parts.path or "/")
                    and reg.query == parts.query and not parts.fragment):
                return True
        return False

    def authorize(self, req: Request, tenant: str) -> Response:
        params = dict(req.query)
        if req.method == "POST":
            params.update(req.form())
        if not self.tenant_known(tenant):
            return error_page(EntraError("invalid_request", 90002, f"Tenant '{tenant}' not found."))
        try:
            app = self._app(params.get("client_id", ""))
        except EntraError as exc:
            return error_page(exc)
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not self._redirect_allowed(app, redirect_uri):
            return error_page(EntraError(
                "invalid_request", 50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
                f"URIs configured for the application '{app.client_id}'. Make sure the redirect URI sent in "
                f"the request matches one added to your application in the Azure portal."))
        mode = params.get("response_mode") or "query"
        state = params.get("state")
        try:
            return self._authorize(tenant, params, app, redirect_uri, mode, state)
        except EntraError as exc:
            fields = exc.fields(self.url, req.headers.get("client-request-id"))
            # invalid_grant is a token-endpoint error: at authorize, OpenID Connect's consent_required
            # (prompt=none) or access_denied (a refused sign-in) say it.
            error = exc.error if exc.error != "invalid_grant" else exc.suberror or "access_denied"
            reply = {"error": error, "error_description": fields["error_description"],
                     "error_uri": fields["error_uri"]}
            if exc.suberror:
                reply["suberror"] = exc.suberror
            if state is not None:
                reply["state"] = state
            return self._deliver(redirect_uri, mode, reply)

    def _authorize(self, tenant: str, params: dict[str, str], app: App, redirect_uri: str, mode: str,
                   state: Optional[str]) -> Response:
        if params.get("response_type") != "code":
            raise EntraError("unsupported_response_type", 700054,
                             f"response_type '{params.get('response_type', '')}' is not enabled for the "
                             f"application.")
        if mode not in ("query", "fragment", "form_post"):
            raise EntraError("invalid_request", 900144, f"Unsupported response_mode '{mode}'.")
        try:
            # Several resources may be consented to at once; the code is for the first one.
            consented = parse_consent_scopes(params.get("scope", ""), self.directory)
        except ScopeError as exc:
            raise EntraError.from_scope_error(exc) from None
        scopes = consented[0]
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or "plain"
        if challenge and method not in ("S256", "plain"):
            raise EntraError("invalid_request", 50148,
                             f"The code_challenge_method '{method}' is not supported; use S256 or plain.")
        prompt = params.get("prompt", "")
        step = params.get("emu_step")
        if step == "signin":
            if params.get("action") != "accept" or params.get("consent") != "yes":
                raise EntraError("access_denied", 65004, "User declined to consent to access the app.")
            user = self._active_user(self.directory.user(params.get("user", "")), params.get("user", ""))
        elif self.settings.auto_approve or prompt == "none":
            if not self.settings.auto_approve:
                raise EntraError("login_required", 50058,
                                 "A silent sign-in request was sent but no user is signed in.")
            user = self.default_user(params.get("login_hint"))
            if prompt == "none":
                for each in consented:
                    self._granted(user, app, each)  # consent_required when the user would be asked
        else:
            hidden = {k: v for k, v in params.items() if k not in ("user", "consent", "action")}
            hidden["emu_step"] = "signin"
            users = [u for u in self.directory.users if not u.shared]
            asked = [s for each in consented for s in each.full(each.names)] + sorted(scopes.oidc)
            page = sign_in(f"{self.url}/{tenant}/oauth2/v2.0/authorize", hidden, users,
                           params.get("login_hint", ""), app.name, asked)
            return Response.html(page)
        for each in consented:
            self._consent(user, app, each)
        code = secrets.token_urlsafe(48)
        with self._lock:
            self._purge(self.clock.now())
            self._codes[code] = AuthCode(app.client_id, redirect_uri, scopes, user.id, challenge, method,
                                          params.get("nonce") or None, self.clock.now())
        reply = {"code": code}
        if params.get("client_info") == "1":
            reply["client_info"] = client_info(user, self.directory.tenant_id)
        if state is not None:
            reply["state"] = state
        reply["session_state"] = str(uuid.uuid5(uuid.NAMESPACE_URL, user.id))
        return self._deliver(redirect_uri, mode, reply)

    @staticmethod
    def _deliver(redirect_uri: str, mode: str, fields: dict[str, str]) -> Response:
        if mode == "form_post":
            return Response.html(form_post(redirect_uri, fields))
        if mode == "fragment":
            return Response.redirect(f"{redirect_uri}#{urlencode(fields)}")
        sep = "&" if "?" in redirect_uri else "?"
        return Response.redirect(f"{redirect_uri}{sep}{urlencode(fields)}")

    def logout(self, req: Request, tenant: str) -> Response:
        """Front-channel sign-out: there is no browser session to end; go back to the app if it asked."""
        target = req.query.get("post_logout_redirect_uri")
        if target:
            return Response.redirect(target)
        return Response.html(message("You signed out of your account",
                                     "It's a good idea to close all browser windows."))
