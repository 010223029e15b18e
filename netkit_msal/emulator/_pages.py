"""The few HTML pages a person (or the headless browser) meets at the emulator.

Plain strings with escaped values; forms carry hidden fields so that no server-side session is needed.
Element names (``form#signin``, ``select[name=user]``, ``input[name=code]``) are part of what the
headless browser relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from ._directory import User

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f2f2f2;margin:0}
main{max-width:440px;margin:8vh auto;background:#fff;padding:40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 16px}
p,li{font-size:15px;line-height:1.4}
label{display:block;margin:8px 0}
select,input[type=text]{width:100%;padding:6px;font-size:15px;box-sizing:border-box}
button{background:#0067b8;color:#fff;border:0;padding:8px 24px;font-size:15px;margin:16px 8px 0 0;cursor:pointer}
button.secondary{background:#ccc;color:#000}
.brand{color:#737373;font-size:13px;margin-bottom:24px}
.error{color:#e81123}
"""


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<style>{_STYLE}</style></head><body><main>"
            f"<div class=\"brand\">netkit-msal · Microsoft identity platform emulator</div>{body}</main></body></html>")


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(f"<input type=\"hidden\" name=\"{escape(k)}\" value=\"{escape(v)}\">" for k, v in fields.items())


def form_post(action: str, fields: Mapping[str, str]) -> str:
    """``response_mode=form_post``: a form that submits itself to the redirect URI."""
    return (f"<!DOCTYPE html><html><head><title>Working...</title></head>"
            f"<body onload=\"document.forms[0].submit()\"><form method=\"POST\" action=\"{escape(action)}\">"
            f"{_hidden(fields)}<noscript><p>Script is disabled. Click Submit to continue.</p>"
            f"<input type=\"submit\" value=\"Submit\"></noscript></form></body></html>")


def _user_select(users: Iterable[User], selected: str) -> str:
    options = "".join(
        f"<option value=\"{escape(u.upn)}\"{' selected' if u.upn.lower() == selected.lower() else ''}>"
        f"{escape(u.display_name)} ({escape(u.upn)})</option>" for u in users)
    return f"<label>Account <select name=\"user\">{options}</select></label>"


def _consent(app_name: str, scopes: Iterable[str]) -> str:
    items = "".join(f"<li>{escape(s)}</li>" for s in scopes) or "<li>Sign you in</li>"
    return (f"<p><b>{escape(app_name)}</b> asks for these permissions:</p><ul>{items}</ul>"
            f"<label><input type=\"checkbox\" name=\"consent\" value=\"yes\" checked> "
            f"I accept (consent on behalf of myself)</label>")


def sign_in(action: str, fields: Mapping[str, str], users: Iterable[User], selected: str,
            app_name: str, scopes: Iterable[str]) -> str:
    """Pick an account and consent: shown by /authorize when the emulator does not auto-approve."""
    return _page("Sign in to your account", (
        f"<h1>Sign in</h1><form id=\"signin\" method=\"POST\" action=\"{escape(action)}\">{_hidden(fields)}"
        f"{_user_select(users, selected)}{_consent(app_name, scopes)}"
        f"<button type=\"submit\" name=\"action\" value=\"accept\">Accept</button>"
        f"<button class=\"secondary\" type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>"
        f"</form>"))


def device_code_entry(action: str, error: str = "") -> str:
    err = f"<p class=\"error\">{escape(error)}</p>" if error else ""
    return _page("Enter code", (
        f"<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>{err}"
        f"<form id=\"devicecode\" method=\"POST\" action=\"{escape(action)}\">"
        f"<input type=\"text\" name=\"code\" autocomplete=\"off\" autofocus placeholder=\"Code\">"
        f"<button type=\"submit\">Next</button></form>"))


def device_code_sign_in(action: str, user_code: str, users: Iterable[User], selected: str,
                        app_name: str, scopes: Iterable[str]) -> str:
    return _page("Sign in", (
        f"<h1>Are you trying to sign in to {escape(app_name)}?</h1>"
        f"<p>Only continue if you got the code from an app or device you trust.</p>"
        f"<form id=\"signin\" method=\"POST\" action=\"{escape(action)}\">{_hidden({'code': user_code})}"
        f"{_user_select(users, selected)}{_consent(app_name, scopes)}"
        f"<button type=\"submit\" name=\"action\" value=\"accept\">Continue</button>"
        f"<button class=\"secondary\" type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>"
        f"</form>"))


def message(title: str, text: str, status_error: bool = False) -> str:
    cls = " class=\"error\"" if status_error else ""
    return _page(title, f"<h1>{escape(title)}</h1><p{cls}>{escape(text)}</p>")
