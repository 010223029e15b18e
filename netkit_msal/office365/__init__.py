"""4D NetKit's Office365 class for Python: ``Office365(provider, options)`` with ``mail``, ``user``,
``calendar``, ``category`` and ``drive``, over plain ``requests`` (see ``_transport`` for why not msgraph-sdk).
``recipient()`` and ``Attachment`` stand for 4D's ``GraphRecipient`` and ``GraphAttachment``."""

from __future__ import annotations

from ._attachments import Attachment
from ._calendar import Event
from ._convert import recipient
from ._drive import Drive
from ._mail import Message
from ._notifier import Notifier
from ._office365 import Office365
from ._status import GraphList, Status
from ._transport import GraphTimeoutError, RetryPolicy

__all__ = ["Attachment", "Drive", "Event", "GraphList", "GraphTimeoutError", "Message", "Notifier", "Office365",
           "RetryPolicy", "Status", "recipient"]
