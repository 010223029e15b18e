"""4D NetKit's Office365 class for Python: ``Office365(provider, options)`` with ``mail``, ``user``,
``calendar``, ``category`` and ``drive``, over plain ``requests`` (see ``_transport`` for why not msgraph-sdk)."""

from __future__ import annotations

from ._drive import Drive
from ._mail import Attachment, Message
from ._office365 import Office365
from ._status import GraphList, Status
from ._transport import GraphTimeoutError, RetryPolicy

__all__ = ["Attachment", "Drive", "GraphList", "GraphTimeoutError", "Message", "Office365", "RetryPolicy", "Status"]
