"""The pages the redirect receiver answers with: 4D's ``authenticationPage``/``authenticationErrorPage`` (a URL to
redirect to, or a file), the built-in ones otherwise, and plain-text refusals. They never show the code."""

from __future__ import annotations

import mimetypes
import os
import string
from html import escape
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from ._certificates import read_file
from ._exceptions import ConfigError

_PAGES = Path(__file__).parent / "_pages"

#: What the receiver answers: (status, headers, body).
Answer = tuple[int, dict[str, str], bytes]


class Page:
    """What the browser gets after the redirect: a 302 to a URL, a file's content, or a built-in page."""

    def __init__(self, spec: Optional[str], *, key: str, builtin: str) -> None:
        self.location: Optional[str] = None
        self.template: Optional[string.Template] = None
        self.body = b""
        self.content_type = "text/html; charset=utf-8"
        self.builtin = spec is None
        if spec is None:
            self.template = string.Template((_PAGES / builtin).read_text(encoding="utf-8"))
            return
        if not isinstance(spec, (str, os.PathLike)) or not os.fspath(spec).strip():
            raise ConfigError(f"{key} must be a URL or a file path", key=key, code=10)
        spec = os.fspath(spec)
        if urlsplit(spec).scheme.lower() in ("http", "https"):
            self.location = spec
            return
        path = Path(os.path.expanduser(spec))
        self.body = read_file(path, key)
        guessed = mimetypes.guess_type(path.name)[0] or "text/html"
        self.content_type = f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed

    def render(self, params: dict[str, str]) -> bytes:
        if self.template is None:
            return self.body
        return self.template.safe_substitute(
            error=escape(params.get("error", "")),
            error_description=escape(params.get("error_description", "")),
        ).encode("utf-8")


def plain(status: int, text: str) -> Answer:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, (text + "\n").encode("utf-8")
