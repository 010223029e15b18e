"""The device code flow: ``/devicecode``, the ``devicelogin`` page and the device_code grant."""

from __future__ import annotations

import secrets
import string

from .._directory import App
from .._http import Request, Response
from .._pages import device_code_entry, device_code_sign_in, message
from .._scopes import Scopes
from ._core import DEVICE_CODE_LIFETIME, DeviceGrant, IdentityCore
from ._errors import POST_ONLY, EntraError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceCode(IdentityCore):
    """RFC 8628 as Entra answers it (``authorization_pending``, ``slow_down``, ``expired_token``)."""

    def devicecode(self, req: Request, tenant: str) -> Response:
        if not self.tenant_known(tenant):
            return self.tenant_error(req, tenant)
        if req.method != "POST":
            return self._json_error(req, POST_ONLY)
        form = req.form()
        try:
            app = self._app(form.get("client_id", ""))
            scopes = self._scopes(form.get("scope", ""))
            user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
            device_code = "DAQABIQEAAAD." + secrets.token_urlsafe(48)
            grant = DeviceGrant(app.client_id, scopes, user_code, self.clock.now(),
                                 form.get("login_hint") or req.query.get("login_hint") or None,
                                 self.settings.device_code_interval)
            if self.settings.auto_approve:
                try:
                    user = self.default_user(grant.login_hint)
                    names = self._granted(user, app, scopes, interactive=True)
                    self._consent(user, app, Scopes(scopes.resource, scopes.service, tuple(names), scopes.oidc))
                    grant.status, grant.user_id = "approved", user.id
                except EntraError as exc:
                    grant.status, grant.failure = "failed", exc
            with self._lock:
                self._purge(grant.issued_at)
                self._devices[device_code] = grant
                self._user_codes[user_code] = device_code
        except EntraError as exc:
            return self._json_error(req, exc)
        verification_uri = f"{self.url}/devicelogin"
        return Response.json({
            "user_code": user_code, "device_code": device_code, "verification_uri": verification_uri,
            "expires_in": DEVICE_CODE_LIFETIME, "interval": grant.interval,
            "message": f"To sign in, use a web browser to open the page {verification_uri} and enter the code "
                       f"{user_code} to authenticate.",
        })

    def _by_device_code(self, form: dict[str, str], app: App) -> Response:
        device_code = form.get("device_code", "")
        if not device_code:
            raise EntraError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'device_code'.")
        now = self.clock.now()
        with self._lock:
            grant = self._devices.get(device_code)
            if grant is None or grant.client_id != app.client_id:
                raise EntraError("invalid_grant", 70000,
                                 "The provided value for the input parameter 'device_code' is not valid.")
            last, grant.last_poll = grant.last_poll, now
            status = grant.status
            if status == "approved" and now - grant.issued_at <= DEVICE_CODE_LIFETIME:
                grant.status = "redeemed"
        if now - grant.issued_at > DEVICE_CODE_LIFETIME:
            raise EntraError("expired_token", 70019, "Verification code expired.")
        if status == "redeemed":
            raise EntraError("invalid_grant", 54005, "The device code was already redeemed.")
        if status == "declined":
            raise EntraError("authorization_declined", 70000, "The user declined the sign-in request.")
        if status == "failed":
            assert grant.failure is not None
            raise grant.failure
        if status == "pending":
            if last is not None and now - last < grant.interval - 1:
                raise EntraError("slow_down", 70016,
                                 "OAuth 2.0 device flow error. The client is polling too fast; wait the "
                                 "interval between polls.")
            raise EntraError("authorization_pending", 70016,
                             "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
        assert grant.user_id is not None
        user = self._active_user(self.directory.user(grant.user_id))
        names = self._granted(user, app, grant.scopes)
        return self._user_tokens(app, user, grant.scopes, names, nonce=None,
                                 with_client_info=form.get("client_info") == "1",
                                 claims_request=form.get("claims", ""))

    def devicelogin(self, req: Request) -> Response:
        """The page where a person types the user code, picks an account and consents."""
        action = f"{self.url}/devicelogin"
        if req.method != "POST":
            return Response.html(device_code_entry(action))
        form = req.form()
        user_code = form.get("code", "").strip().upper().replace("-", "")
        with self._lock:
            grant = self._devices.get(self._user_codes.get(user_code, ""))
        if grant is None:
            return Response.html(device_code_entry(
                action, "That code didn't work. Check the code and try again."), 400)
        if self.clock.now() - grant.issued_at > DEVICE_CODE_LIFETIME:
            return Response.html(device_code_entry(action, "That code has expired."), 400)
        if grant.status == "approved" and self.settings.auto_approve:
            return Response.html(message("Already approved", "This emulator approves sign-ins "
                                         "automatically; your device is signed in. You may close this window."))
        if grant.status != "pending":
            return Response.html(message("Code already used",
                                         "This code was already used. Start again on your device."), 400)
        app = self._app(grant.client_id)
        if "action" not in form:
            users = [u for u in self.directory.users if not u.shared]
            return Response.html(device_code_sign_in(
                action, user_code, users, grant.login_hint or "", app.name,
                grant.scopes.full(grant.scopes.names) + sorted(grant.scopes.oidc)))
        if form.get("action") != "accept" or form.get("consent") != "yes":
            with self._lock:
                grant.status = "declined"
            return Response.html(message("Sign-in cancelled", "You cancelled the sign-in. You may now "
                                         "close this window."))
        try:
            user = self._active_user(self.directory.user(form.get("user", "")), form.get("user", ""))
            names = self._granted(user, app, grant.scopes, interactive=True)
        except EntraError as exc:
            with self._lock:
                grant.status, grant.failure = "failed", exc
            return Response.html(message("Sign-in failed", f"AADSTS{exc.code}: {exc.description}",
                                         True), 400)
        self._consent(user, app, Scopes(grant.scopes.resource, grant.scopes.service, tuple(names),
                                        grant.scopes.oidc))
        with self._lock:
            grant.status, grant.user_id = "approved", user.id
        return Response.html(message(
            app.name, f"You have signed in to the {app.name} application on your device. You may now close "
                      f"this window."))
