"""``Office365``: 4D NetKit's ``New Office365 provider(provider; options)`` as a synchronous facade.

Scopes: app-only (``permission: "service"``) tokens are asked for ``<graph resource>/.default``.
Delegated ones use the provider's configured Graph scopes, so the token the user already signed in
for is reused from the cache (no second sign-in); a configuration without Graph scopes asks for
``<graph resource>/.default`` (every Graph permission the app was granted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

from .._exceptions import NetKitError
from .._scopes import graph_scopes
from .._token import Token
from .._types import HTTPTokenSource
from ._api import Strict, check_mail_type, mailbox_base
from ._calendar import Calendar
from ._category import Category
from ._drive import Drive, drive_path
from ._mail import Mail
from ._options import nonempty_text, validate
from ._transport import RetryPolicy, Transport
from ._user import User

_OPTIONS = {"mailType": check_mail_type, "userId": nonempty_text}


def _check_provider(provider: Any) -> None:
    """4D's error 14 (not of the expected type), saying what to pass instead.

    Anything shaped like a provider (``config`` and ``get_token``: an OAuth2Provider or a view of one) is taken.
    """
    if not isinstance(provider, (Token, Mapping, str, bytes)) and hasattr(provider, "config") \
            and callable(getattr(provider, "get_token", None)):
        return
    if isinstance(provider, (Token, Mapping, str)):
        what = "a token" if not isinstance(provider, Mapping) or "token" in provider or "access_token" in provider \
            else "a parameter object"
        raise NetKitError(f"Office365 takes an OAuth2Provider, not {what}: build the provider with "
                          "OAuth2Provider(params) (a token can go in params['token']) and pass it", code=14)
    raise NetKitError(f"Office365 takes an OAuth2Provider, not {type(provider).__name__}: pass "
                      "OAuth2Provider(params)", code=14)


class Office365(Strict):
    """Mail, users, calendars and categories of Microsoft 365 through Graph, 4D NetKit style.

    ``Office365(provider, {"mailType": "Microsoft" | "MIME" | "JMAP", "userId": ...})``: ``userId``
    (id or UPN) works on that user's mailbox (``/users/{userId}``) instead of ``/me``; an app-only
    (service) provider needs it, here or set later as ``office.mail.user_id`` (4D's tutorial does so)
    before the first call. Keyword arguments tune the transport: ``timeout`` (seconds,
    or (connect, read)), ``retry`` (a ``RetryPolicy``), ``workers`` (threads for many gets at once).
    """

    def __init__(self, provider: HTTPTokenSource, options: Optional[Mapping[str, Any]] = None, *,
                 timeout: Union[float, tuple[float, float]] = (10.0, 60.0),
                 retry: RetryPolicy = RetryPolicy(), workers: int = 4) -> None:  # noqa: B008 - RetryPolicy is frozen
        _check_provider(provider)
        values = validate(options, _OPTIONS, "Office365 options")
        config = provider.config
        user_id = values.get("userId")
        service = config.permission == "service"  # then userId is needed before the first call
        self._options = {"mailType": values.get("mailType", "Microsoft"), "userId": user_id}
        self._transport = Transport(provider, config.graph_endpoint.rstrip("/") + "/v1.0", graph_scopes(config),
                                    timeout=timeout, retry=retry, workers=workers)
        member = {"user_id": user_id, "mail_type": self._options["mailType"], "service": service}
        self.mail = Mail(self._transport, **member)
        self.user = User(self._transport, **member)
        self.calendar = Calendar(self._transport, **member)
        self.category = Category(self._transport, **member)
        self._service = service
        self._drive: Optional[Drive] = None
        self._freeze()

    @property
    def drive(self) -> Drive:
        """The user's OneDrive (``userId``'s with an app-only provider); see ``drive_of`` for others."""
        if self._drive is None:
            self._drive = Drive(self._transport, drive_path(mailbox_base(self.user_id, self._service), None))
        return self._drive

    def drive_of(self, drive: Union[str, Mapping[str, Any]]) -> Drive:
        """Another drive: a drive id, ``{"driveId": ...}``, or ``{"siteId": ...}`` (a SharePoint
        site's default document library)."""
        return Drive(self._transport, drive_path(mailbox_base(self.user_id, self._service), drive))

    @property
    def mail_type(self) -> str:
        """The ``mailType`` given (read-only here: change ``office.mail.mail_type``, as 4D's ``mail.mailType``)."""
        return self._options["mailType"]

    @property
    def user_id(self) -> Optional[str]:
        """The ``userId`` given (read-only here: change ``mail.user_id`` or ``calendar.user_id``)."""
        return self._options["userId"]

    def close(self) -> None:
        """Stop the worker threads (the provider's HTTP session stays open: it is the provider's)."""
        self._transport.close()

    def __enter__(self) -> Office365:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Office365 mailType={self.mail_type!r} userId={self.user_id!r}>"
