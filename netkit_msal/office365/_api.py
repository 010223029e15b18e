"""What ``mail``, ``user``, ``calendar`` and ``category`` share: paths, lists, status objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Optional
from urllib.parse import quote

from .._exceptions import AuthenticationError, ConfigError, NetKitError
from ._convert import MAIL_TYPES
from ._options import nonempty_text, odata_query, one_of
from ._status import GraphList, Status
from ._transport import Transport


def search_headers(values: Mapping[str, Any], extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Headers for a list call: ``ConsistencyLevel: eventual`` whenever ``search`` is used."""
    headers = dict(extra or {})
    if "search" in values:
        headers["ConsistencyLevel"] = "eventual"
    return headers


check_mail_type = one_of(*MAIL_TYPES)


def user_base(user_id: Optional[str]) -> str:
    """``/users/{userId}`` for another mailbox, ``/me`` without one."""
    return f"/users/{quote(user_id, safe='@')}" if user_id else "/me"


def mailbox_base(user_id: Optional[str], service: bool) -> str:
    """``/me`` or ``/users/{userId}``; an app-only (``service``) provider has no "me"."""
    if user_id is None and service:
        raise ConfigError('userId is missing: an app-only ("service") provider has no "me"; give the id '
                          "or UPN of the mailbox, in Office365's options or as user_id", key="userId", code=2)
    return user_base(user_id)


class Strict:
    """Assigning an attribute that does not exist raises, once the object is built.

    4D code writes members such as ``mail.userId``; in Python the member is ``user_id``, and a
    misspelled assignment that silently did nothing would hide the bug (4D's issue #85 again).
    """

    _frozen = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen and not name.startswith("_") and name not in self.__dict__ \
                and not hasattr(type(self), name):
            public = sorted(n for n in dir(type(self)) if not n.startswith("_"))
            snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
            hint = f" (the Python name is {snake!r})" if snake != name and snake in public else ""
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}{hint}")
        object.__setattr__(self, name, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)


class Api(Strict):
    """Base of the members of ``Office365``: ``user_id`` and ``mail_type`` can be changed between
    calls (4D's ``mail.userId`` and ``mail.mailType`` are writable) and take effect on the next one."""

    def __init__(self, transport: Transport, user_id: Optional[str], mail_type: str, *,
                 service: bool = False) -> None:
        self._transport = transport
        #: App-only: there is no "me", so a call without ``user_id`` is refused (``_base``).
        self._service = service
        self.user_id = user_id
        self.mail_type = mail_type
        self._freeze()

    @property
    def user_id(self) -> Optional[str]:
        """The mailbox used (id or UPN), or None for the signed-in user (``/me``)."""
        return self._user_id

    @user_id.setter
    def user_id(self, value: Optional[str]) -> None:
        if value is not None and value != "":
            nonempty_text("userId", value)
        self._user_id = value or None

    @property
    def _base(self) -> str:
        return mailbox_base(self._user_id, self._service)

    @property
    def mail_type(self) -> str:
        """"Microsoft", "MIME" or "JMAP" (any case on the way in)."""
        return self._mail_type

    @mail_type.setter
    def mail_type(self, value: str) -> None:
        self._mail_type = check_mail_type("mailType", value)

    def _list(self, path: str, values: Mapping[str, Any], data_name: str,
              convert: Callable[[list[Any]], list[Any]] = list, *,
              params: Optional[Mapping[str, str]] = None, headers: Optional[Mapping[str, str]] = None,
              counted: bool = False) -> GraphList:
        """A 4D list object over ``path`` with the OData options among ``values``. ``counted`` asks
        Graph for ``$count`` (with ``ConsistencyLevel: eventual``) and keeps it as the list's ``count``."""
        query = {**odata_query(values), **(params or {})}
        send_headers = search_headers(values, headers)
        if counted:
            query["$count"] = "true"
            send_headers["ConsistencyLevel"] = "eventual"
        transport = self._transport
        seen: dict[str, int] = {}

        def fetch(url: str) -> tuple[list[Any], Optional[str]]:
            body = transport.json("GET", url, headers=send_headers) or {}
            if isinstance(body.get("@odata.count"), int):
                seen["count"] = body["@odata.count"]
            return convert(body.get("value") or []), body.get("@odata.nextLink")

        result = GraphList(fetch, transport.url(path, query), data_name)
        if counted:
            result.count = seen.get("count")
        return result

    @staticmethod
    def _status(action: Callable[[], Status]) -> Status:
        """Run a change; Graph's refusal becomes a failed status. Bad input (ConfigError) and a
        sign-in problem (AuthenticationError) still raise: the caller has to act on those."""
        try:
            return action()
        except (ConfigError, AuthenticationError):
            raise
        except NetKitError as error:
            return Status.failed(error)
