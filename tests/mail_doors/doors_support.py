"""Names shared by the mail-door tests (a top-level module: pytest puts this folder on sys.path)."""

from __future__ import annotations

import base64
import uuid

ADELE = "adele@contoso.example"
MEGAN = "megan@contoso.example"
SHARED = "sales@contoso.example"


def xoauth2(user: str, token: str) -> str:
    """The XOAUTH2 initial response, as Microsoft documents it (unencoded)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unique_subject(what: str) -> str:
    return f"{what} {uuid.uuid4().hex}"


def mime(sender: str, recipient: str, subject: str, body: str = "Hello through the door.") -> bytes:
    return (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@contoso.example>\r\n\r\n{body}\r\n").encode()
