"""A web app many people sign in to: Flask, one OAuth2Provider, each request acting as its own user only.

App registration (your tenant): platform "Web" with the redirect URI ``http://localhost:5000/auth/callback``
(or your server's), a client secret (or certificate), the Microsoft Graph delegated permissions User.Read and
Mail.Read. Parameter file: ``{"name": "Microsoft", "permission": "signedIn", "clientId": ..., "clientSecret": ...,
"tenant": ..., "scope": "https://graph.microsoft.com/Mail.Read"}``.

    python web_app.py                        # the embedded emulator: pick any seeded user on its sign-in page
    python web_app.py --params web.json      # your tenant; then open http://localhost:5000/

The pattern (issue 15): the provider is shared by every request (one MSAL app, one token cache, one HTTP
session); the signed session cookie holds only the sign-in in progress (its ``state``) and then the account's
username; every request that touches Microsoft 365 goes through ``provider.for_account(username)``, which can
only ever get that account's token (InteractionRequiredError when it must sign in again). MSAL's flow (PKCE
verifier, nonce) stays server-side in the provider, keyed by ``state``: with several worker processes, send the
callback to the process that started the sign-in (sticky sessions), or run one process with threads.

The redirect comes back as a form_post (RFC 9700: the code stays out of URLs, logs and history). That POST
comes from the identity platform's site, so the SameSite=Lax session cookie does not travel with it: the
callback hands the fields to a page of this site that posts them on to ``/auth/finish``, where the cookie is
back and the sign-in is checked to be the one this browser started (no login CSRF) before the code is redeemed.
"""

from __future__ import annotations

import argparse
import secrets
from html import escape
from typing import Any, Optional

from flask import Flask, Response, redirect, request, session, url_for

from netkit_msal import InteractionRequiredError, NetKitError, OAuth2Provider, Office365


def create_app(provider: OAuth2Provider, *, secret_key: Optional[bytes] = None) -> Flask:
    """The Flask app over one shared provider (a signed-in, confidential one: a secret or a certificate)."""
    app = Flask(__name__)
    app.secret_key = secret_key or secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")

    def page(title: str, body: str, status: int = 200) -> Response:
        return Response(f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{escape(title)}</title></head>"
                        f"<body><h1>{escape(title)}</h1>{body}</body></html>", status, mimetype="text/html")

    @app.get("/")
    def home() -> Response:
        user = session.get("account")
        if not user:
            return page("Welcome", '<p><a id="sign-in" href="/login">Sign in</a></p>')
        return page("Welcome", f'<p>Signed in as <span id="user">{escape(user)}</span>.</p>'
                               '<p><a id="inbox" href="/inbox">Inbox</a> · <a id="sign-out" href="/logout">Sign out</a></p>')

    @app.get("/login")
    def login() -> Any:
        state = secrets.token_urlsafe(24)
        session.clear()
        session["flow"] = state  # the sign-in this browser started; the flow itself stays in the provider
        return redirect(provider.get_authorization_url(
            redirect_uri=url_for("callback", _external=True), state=state, response_mode="form_post",
            login_hint=request.args.get("login_hint"), prompt="select_account"))

    @app.post("/auth/callback")
    def callback() -> Response:
        """The identity platform's cross-site form_post: relayed to /auth/finish by a page of this site."""
        fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                         for k, v in request.form.items())
        return Response(f'<!DOCTYPE html><html><head><title>Signing in...</title></head><body '
                        f'onload="document.forms[0].submit()"><form method="POST" action="{url_for("finish")}">'
                        f'{fields}<noscript><button type="submit">Continue</button></noscript></form></body></html>',
                        mimetype="text/html", headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    @app.post("/auth/finish")
    def finish() -> Any:
        started = session.pop("flow", None)
        if not started or not secrets.compare_digest(started, request.form.get("state", "")):
            return page("Sign-in failed", "<p>This sign-in was not started in this browser.</p>", 400)
        try:
            token = provider.complete_authorization(request.form.to_dict())
        except NetKitError as error:
            return page("Sign-in failed", f'<p id="error">{escape(str(error))}</p>', 400)
        session.clear()
        session["account"] = token.username  # the account id the next requests ask tokens for
        return redirect(url_for("inbox"))

    @app.get("/inbox")
    def inbox() -> Any:
        user = session.get("account")
        if not user:
            return redirect(url_for("login"))
        try:
            office = Office365(provider.for_account(user))  # this user's token, never another's
            mails = office.mail.get_mails({"folderId": "inbox", "top": 25, "select": "subject,from"})
            rows = "".join(f"<li class=\"mail\">{escape(str(m.get('subject') or '(no subject)'))}</li>"
                           for m in mails.mails)
        except InteractionRequiredError:
            return redirect(url_for("login"))
        except NetKitError as error:
            return page("Inbox", f'<p id="error">{escape(str(error))}</p>', 502)
        return page("Inbox", f'<p>Mail of <span id="user">{escape(user)}</span></p><ul id="mails">{rows}</ul>'
                             '<p><a id="sign-out" href="/logout">Sign out</a></p>')

    @app.get("/logout")
    def logout() -> Any:
        user = session.pop("account", None)
        session.clear()
        if user:
            provider.sign_out(user)  # this user's tokens leave the shared cache; the others stay
        return redirect(url_for("home"))

    return app


def _emulator_provider(port: int) -> OAuth2Provider:
    """The emulator's confidential app, with its sign-in page shown (a person picks a seeded user)."""
    from _target import open_target
    from netkit_msal.emulator import SECRET_CLIENT_ID, SECRET_CLIENT_SECRET

    target = open_target("signedIn", cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                         loginHint=None, redirectURI=f"http://localhost:{port}/auth/callback")
    target.emulator.set_auto_approve(False)
    print(f"Emulator at {target.emulator.url}; its CA is {target.emulator.ca_file} (trust it in your browser)")
    return target.provider()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", help="your app registration's parameter file (default: the emulator)")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    if args.params:
        from netkit_msal import params_from_file

        provider = OAuth2Provider(params_from_file(args.params))
    else:
        provider = _emulator_provider(args.port)
    with provider:
        create_app(provider).run(host="127.0.0.1", port=args.port, threaded=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
