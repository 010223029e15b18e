"""``Office365``: 4D NetKit's ``New Office365 provider(provider; options)`` as a synchronous facade.

Scopes: app-only (``permission: "service"``) tokens are asked for ``<graph resource>/.default``.
Delegated ones use the provider's configured Graph scopes, so the token the user already signed in
for is reused from the cache (no second sign-in); a configuration without Graph scopes asks for
``<graph resource>/.default`` (every Graph permission the app was granted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union
from urllib.parse import quote

from .._exceptions import ConfigError
from ._calendar import Calendar
from ._category import Category
from ._convert import MAIL_TYPES
from ._drive import Drive, drive_path
from ._mail import Mail
from ._options import nonempty_text, one_of, validate
from ._transport import RetryPolicy, Transport
from ._user import User

_OPTIONS = {"mailType": one_of(*MAIL_TYPES), "userId": nonempty_text}


def graph_scopes(config: Any) -> Optional[list[str]]:
    """Scopes to ask the provider for; None means the configured ones (the cached token's)."""
    resource = config.graph_resource.rstrip("/")
    default = [f"{resource}/.default"]
    if config.permission == "service":
        return default
    configured = list(config.scope)
    graph = [scope for scope in configured if scope.startswith(resource + "/")]
    if graph and len(graph) == len(configured):
        return None
    return graph or default


class Office365:
    """Mail, users, calendars and categories of Microsoft 365 through Graph, 4D NetKit style.

    ``Office365(provider, {"mailType": "Microsoft" | "MIME" | "JMAP", "userId": ...})``: ``userId``
    (id or UPN) works on that user's mailbox (``/users/{userId}``) instead of ``/me``; it is required
    with an app-only (service) provider. Keyword arguments tune the transport: ``timeout`` (seconds,
    or (connect, read)), ``retry`` (a ``RetryPolicy``), ``workers`` (threads for many gets at once).
    """

    def __init__(self, provider: Any, options: Optional[Mapping[str, Any]] = None, *,
                 timeout: Union[float, tuple[float, float]] = (10.0, 60.0),
                 retry: RetryPolicy = RetryPolicy(), workers: int = 4) -> None:
        values = validate(options, _OPTIONS, "Office365 options")
        config = provider.config
        user_id = values.get("userId")
        if config.permission == "service" and user_id is None:
            raise ConfigError('userId is missing: an app-only ("service") provider has no "me"; '
                              "give the id or UPN of the mailbox to use", key="userId", code=2)
        self.mail_type: str = values.get("mailType", "Microsoft")
        self.user_id: Optional[str] = user_id
        base = f"/users/{quote(user_id, safe='@')}" if user_id else "/me"
        self._transport = Transport(provider, config.graph_endpoint.rstrip("/") + "/v1.0", graph_scopes(config),
                                    timeout=timeout, retry=retry, workers=workers)
        self.mail = Mail(self._transport, base, self.mail_type)
        self.user = User(self._transport, base, self.mail_type)
        self.calendar = Calendar(self._transport, base, self.mail_type)
        self.category = Category(self._transport, base, self.mail_type)
        self._base = base
        self._drive: Optional[Drive] = None

    @property
    def drive(self) -> Drive:
        """The user's OneDrive (``userId``'s with an app-only provider); see ``drive_of`` for others."""
        if self._drive is None:
            self._drive = Drive(self._transport, drive_path(self._base, None))
        return self._drive

    def drive_of(self, drive: Union[str, Mapping[str, Any]]) -> Drive:
        """Another drive: a drive id, ``{"driveId": ...}``, or ``{"siteId": ...}`` (a SharePoint
        site's default document library)."""
        return Drive(self._transport, drive_path(self._base, drive))

    def close(self) -> None:
        """Stop the worker threads (the provider's HTTP session stays open: it is the provider's)."""
        self._transport.close()

    def __enter__(self) -> "Office365":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Office365 mailType={self.mail_type!r} userId={self.user_id!r}>"
