"""4D NetKit's status and list objects, with attribute and item access.

Functions that change something return a ``Status`` (``success``, ``statusText``, ``errors``,
``status``, ``id``) instead of raising on a Graph refusal, as 4D does. List functions return a
``GraphList``: the first page is loaded at once (a failure raises), ``next()``/``previous()``
move between pages and return a boolean, and iterating yields every item of every page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Optional

from .._exceptions import GraphError, NetKitError

COMPONENT = "4DNK"

#: One page: (items already converted, absolute link to the next page or None).
Page = tuple[list[Any], Optional[str]]


def error_entry(error: NetKitError) -> dict[str, Any]:
    """One item of 4D's ``errors`` collection."""
    entry: dict[str, Any] = {"errCode": error.code, "message": error.message, "componentSignature": COMPONENT}
    if isinstance(error, GraphError):
        entry.update(status=error.status, errorCode=error.error_code, requestId=error.request_id)
    return entry


class Status(dict):
    """A 4D status object: a dict with attribute access (``status.success`` or ``status["success"]``)."""

    _error: NetKitError  # a failed status's error, for raise_for_status

    def __getattr__(self, name: str) -> Any:
        try:
            return self[_ALIASES.get(name, name)]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def ok(cls, status: int, text: str = "OK", **extra: Any) -> Status:
        return cls(success=True, statusText=text, errors=[], status=status, **extra)

    @classmethod
    def failed(cls, error: NetKitError) -> Status:
        status = cls(success=False, statusText=error.message, errors=[error_entry(error)],
                     status=getattr(error, "status", None))
        status._error = error
        return status

    def raise_for_status(self) -> None:
        """Raise the error a failed status holds (for code that prefers exceptions)."""
        error = self.__dict__.get("_error")
        if error is not None:
            raise error


_ALIASES = {"status_text": "statusText", "is_last_page": "isLastPage"}


class GraphList:
    """A 4D list object over Graph's paged collections.

    ``fetch(url)`` returns one page; ``first`` is the URL of page 1. Visited pages are remembered as
    URLs only (4D refetches a page on ``previous()`` too), so walking a big mailbox keeps one page in
    memory.
    """

    count: Optional[int]  # with the list option count: the collection's size (@odata.count)
    calendarId: Optional[str]  # the calendar of an event list

    def __init__(self, fetch: Callable[[str], Page], first: str, data_name: str) -> None:
        self._fetch = fetch
        self._urls = [first]
        self._data_name = data_name
        self.page = 1
        self.success = True
        self.statusText = "OK"
        self.errors: list[dict[str, Any]] = []
        self._items, self._next = fetch(first)  # a failure on the first page raises, as 4D throws

    @property
    def isLastPage(self) -> bool:
        return self._next is None

    is_last_page = isLastPage

    @property
    def status_text(self) -> str:
        return self.statusText

    @property
    def data(self) -> list[Any]:
        """The current page's items (also under 4D's name: ``mails``, ``folders``, ``users``...)."""
        return self._items

    def __getattr__(self, name: str) -> Any:
        if name == self.__dict__.get("_data_name"):
            return self._items
        raise AttributeError(name)

    def __getitem__(self, key: str) -> Any:
        if key in ("page", "isLastPage", "success", "statusText", "errors", self._data_name):
            return getattr(self, key)
        raise KeyError(key)

    def _load(self, index: int) -> bool:
        try:
            items, next_url = self._fetch(self._urls[index])
        except NetKitError as error:
            self.success, self.statusText, self.errors = False, error.message, [error_entry(error)]
            self._error = error
            return False
        self._items, self._next = items, next_url
        self.page = index + 1
        self.success, self.statusText, self.errors = True, "OK", []
        return True

    def next(self) -> bool:
        """Load the next page; False on the last page or when Graph refused (see ``errors``)."""
        if self._next is None:
            return False
        del self._urls[self.page:]
        self._urls.append(self._next)
        if self._load(self.page):
            return True
        self._urls.pop()
        return False

    def previous(self) -> bool:
        """Load the previous page again; False on page 1 or when Graph refused."""
        return self.page > 1 and self._load(self.page - 2)

    def __iter__(self) -> Iterator[Any]:
        """Every item of every page, from page 1 (reloaded if the list moved); the list ends on the
        last page. A refusal while following a link raises the ``GraphError`` rather than ending early.
        """
        if self.page != 1 and not self._load(0):
            raise self._error
        while True:
            yield from self._items
            if self._next is None:
                return
            if not self.next():
                raise self._error

    def __repr__(self) -> str:
        return (f"<GraphList {self._data_name} page={self.page} items={len(self._items)} "
                f"isLastPage={self.isLastPage} success={self.success}>")
