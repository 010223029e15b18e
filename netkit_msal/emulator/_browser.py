"""A headless browser for the emulator's sign-in pages: what a person's browser would do, without one.

Registered with ``webbrowser`` (``Emulator.install_browser()``), it lets the unmodified MSAL and
azure-identity interactive flows run in tests: it GETs the authorize URL (trusting the emulator's CA),
answers the sign-in page if there is one (picking ``user``, consenting), then follows the 302 to the
redirect URI or submits the ``form_post`` form to it.
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from html.parser import HTMLParser
from typing import Optional
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

logger = logging.getLogger("netkit_msal.emulator")

BROWSER_NAME = "netkit-msal-emulator"
_MAX_STEPS = 6


class _Form:
    def __init__(self, attrs: dict[str, Optional[str]]) -> None:
        self.id = attrs.get("id") or ""
        self.action = attrs.get("action") or ""
        self.method = (attrs.get("method") or "GET").upper()
        self.fields: dict[str, str] = {}
        self.selects: dict[str, list[str]] = {}
        self.selected: dict[str, str] = {}


class _FormParser(HTMLParser):
    """Collects forms with their hidden/text/checkbox inputs and select options."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._select: Optional[str] = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, Optional[str]]]) -> None:
        attrs = dict(attrs_list)
        if tag == "form":
            self.forms.append(_Form(attrs))
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in ("hidden", "text") or (kind == "checkbox" and "checked" in attrs):
                self.forms[-1].fields[attrs["name"] or ""] = attrs.get("value") or ""
        elif tag == "select":
            self._select = attrs.get("name")
            if self._select:
                self.forms[-1].selects[self._select] = []
        elif tag == "option" and self._select:
            value = attrs.get("value") or ""
            self.forms[-1].selects[self._select].append(value)
            if "selected" in attrs:
                self.forms[-1].selected[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


class HeadlessBrowser(webbrowser.BaseBrowser):
    """Signs in at the emulator as ``user`` (default: the page's pre-selected user, else the first).

    With an auto-approving emulator, ``user`` is sent as ``login_hint`` unless the app gave one.
    """

    def __init__(self, ca_file: str, *, user: Optional[str] = None, consent: bool = True) -> None:
        super().__init__(BROWSER_NAME)
        self.ca_file = ca_file
        self.user = user
        self.consent = consent
        #: URLs opened, newest last (handy in tests: did the flow open a browser at all?).
        self.opened: list[str] = []
        self.errors: list[str] = []

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not replace the emulator CA
        session.verify = self.ca_file
        return session

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        """Like a real browser, return at once: the app's redirect listener runs after this returns."""
        self.opened.append(url)
        threading.Thread(target=self._visit_logged, args=(url,), daemon=True,
                         name="netkit-msal-headless-browser").start()
        return True

    def _visit_logged(self, url: str) -> None:
        try:
            self.visit(url)
        except Exception as exc:  # a browser shows errors; it does not crash the app
            self.errors.append(f"{type(exc).__name__}: {exc}")
            logger.warning("headless browser: %s", self.errors[-1])

    def authorize(self, url: str) -> dict[str, str]:
        """Walk the authorize URL up to the redirect and return its parameters, without delivering them.

        For ``initiate_auth_code_flow`` tests: pass the result to ``acquire_token_by_auth_code_flow``.
        """
        return self._walk(url, deliver=False)

    def visit(self, url: str) -> dict[str, str]:
        """Walk the authorize URL and deliver the answer to the redirect URI (GET or form POST)."""
        return self._walk(url, deliver=True)

    def _walk(self, url: str, *, deliver: bool) -> dict[str, str]:
        if self.user:
            url = _with_login_hint(url, self.user)
        with self._session() as session:
            response = session.get(url, allow_redirects=False, timeout=30)
            for _ in range(_MAX_STEPS):
                if response.is_redirect:
                    location = urljoin(response.url, response.headers["Location"])
                    if _is_emulator(location, url):
                        response = session.get(location, allow_redirects=False, timeout=30)
                        continue
                    split = urlsplit(location)
                    params = dict(parse_qsl(split.fragment or split.query, keep_blank_values=True))
                    if deliver:
                        session.get(location, allow_redirects=False, timeout=30)
                    return params
                form = self._form(response)
                if form is None:
                    raise RuntimeError(f"the emulator answered {response.status_code} with no form to submit")
                action = urljoin(response.url, form.action)
                if form.id == "signin":
                    data = dict(form.fields)
                    choices = form.selects.get("user", [])
                    data["user"] = self.user or form.selected.get("user") or (choices[0] if choices else "")
                    data["action"] = "accept" if self.consent else "cancel"
                    if self.consent:
                        data["consent"] = "yes"
                    response = session.post(action, data=data, allow_redirects=False, timeout=30)
                    continue
                if not deliver:
                    return form.fields
                session.post(action, data=form.fields, allow_redirects=False, timeout=30)
                return form.fields
        raise RuntimeError("too many steps at the emulator's sign-in pages")

    @staticmethod
    def _form(response: requests.Response) -> Optional[_Form]:
        if "html" not in response.headers.get("Content-Type", ""):
            return None
        parser = _FormParser()
        parser.feed(response.text)
        return parser.forms[0] if parser.forms else None


def _with_login_hint(url: str, user: str) -> str:
    """A person types their account name when the app gave none: an auto-approving emulator takes it."""
    split = urlsplit(url)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    query.setdefault("login_hint", user)
    return urlunsplit(split._replace(query=urlencode(query)))


def _is_emulator(location: str, start_url: str) -> bool:
    return urlsplit(location).netloc == urlsplit(start_url).netloc


def install(ca_file: str, *, user: Optional[str] = None, consent: bool = True) -> HeadlessBrowser:
    """Register a headless browser as ``webbrowser``'s preferred one and return it."""
    browser = HeadlessBrowser(ca_file, user=user, consent=consent)
    webbrowser.register(BROWSER_NAME, None, browser, preferred=True)
    return browser
