"""What ``mail``, ``user``, ``calendar`` and ``category`` share: paths, lists, status objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

from .._exceptions import AuthenticationError, ConfigError, NetKitError
from ._options import odata_query
from ._status import GraphList, Status
from ._transport import Transport


def search_headers(values: Mapping[str, Any], extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Headers for a list call: ``ConsistencyLevel: eventual`` whenever ``search`` is used."""
    headers = dict(extra or {})
    if "search" in values:
        headers["ConsistencyLevel"] = "eventual"
    return headers


class Api:
    """Base of the four members of ``Office365``."""

    def __init__(self, transport: Transport, base: str, mail_type: str) -> None:
        self._transport = transport
        #: ``/me`` or ``/users/{userId}``.
        self._base = base
        self._mail_type = mail_type

    def _list(self, path: str, values: Mapping[str, Any], data_name: str,
              convert: Callable[[list[Any]], list[Any]] = list, *,
              params: Optional[Mapping[str, str]] = None, headers: Optional[Mapping[str, str]] = None) -> GraphList:
        """A 4D list object over ``path`` with the OData options among ``values``."""
        query = {**odata_query(values), **(params or {})}
        send_headers = search_headers(values, headers)
        transport = self._transport

        def fetch(url: str) -> tuple[list[Any], Optional[str]]:
            body = transport.json("GET", url, headers=send_headers) or {}
            return convert(body.get("value") or []), body.get("@odata.nextLink")

        return GraphList(fetch, transport.url(path, query), data_name)

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
