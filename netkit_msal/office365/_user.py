"""``Office365.user``: 4D's get -> get, getCurrent -> get_current, list -> list, count -> count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from ._api import Api
from ._options import ODATA_CHECKS, field_list, segment, validate
from ._status import GraphList


class User(Api):
    """4D's ``Office365.user``."""

    @staticmethod
    def _select(select: Any) -> Optional[dict[str, str]]:
        return {"$select": field_list("select", select)} if select is not None else None

    def get(self, user_id: str, select: Any = None) -> dict[str, Any]:
        """A user by id or UPN (Graph's user JSON); ``select`` is "a,b" or a list of field names."""
        return self._transport.json("GET", f"/users/{segment('id', user_id)}", params=self._select(select))

    def get_current(self, select: Any = None) -> dict[str, Any]:
        """The signed-in user, or ``userId``'s user in service mode."""
        return self._transport.json("GET", self._base, params=self._select(select))

    def list(self, options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """A list object (``users``); options ``search``, ``filter``, ``select``, ``top``, ``orderBy``."""
        values = validate(options, ODATA_CHECKS, "user.list options")
        return self._list("/users", values, "users")

    def count(self, options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """``list`` with Graph's ``$count``: the list object's ``count`` is the number of users matching
        (every page), as 4D's ``count()`` asks for it."""
        values = validate(options, ODATA_CHECKS, "user.count options")
        return self._list("/users", values, "users", counted=True)
