"""``Office365.category``: the mailbox's master categories (4D's ``list``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from ._api import Api
from ._options import ODATA_CHECKS, validate
from ._status import GraphList


class Category(Api):
    """4D's ``Office365.category``."""

    def list(self, options: Optional[Mapping[str, Any]] = None) -> GraphList:
        """A list object (``categories``); options ``filter``, ``select``, ``top``, ``orderBy``."""
        checks = {key: check for key, check in ODATA_CHECKS.items() if key != "search"}
        values = validate(options, checks, "category.list options")
        return self._list(f"{self._base}/outlook/masterCategories", values, "categories")
