"""Mail: messages, MIME, sending, replies, attachments with upload sessions, mail folders.

One module per concern: ``_messages``, ``_sending``, ``_attachments`` (with upload sessions),
``_folders``; ``_common`` holds what they share. ``router`` holds all their routes.

Choices where Graph leaves room (documented for the Office365 facade):
- ``DELETE /messages/{id}`` removes the message from every folder (Graph moves it to the hidden
  Recoverable Items, where no folder listing sees it). To "trash" a message, ``move`` it to ``deleteditems``.
- ``move`` and ``copy`` answer 201 with the message under a **new id**, as Exchange does.
- Delivery: every recipient (to, cc, bcc) who is a directory user gets a copy in their inbox (bcc list
  removed); other addresses are accepted and dropped. The sender's copy goes to ``sentitems``.
"""

from __future__ import annotations

from .._core import Router
from ._attachments import router as _attachments_router
from ._folders import router as _folders_router
from ._messages import router as _messages_router
from ._sending import router as _sending_router

__all__ = ["router"]

router = Router()
router.routes = _messages_router.routes + _sending_router.routes + _attachments_router.routes + _folders_router.routes
