"""Graph v1.0 type facts for the query rules: which properties a type declares, what a path names.

Read from ``schema.json`` (generated from Microsoft's metadata by ``_schema_gen``), once, on first use.
Type names are the metadata's without namespace (``message``, ``event``, ``recipient``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

_FILE = Path(__file__).with_name("schema.json")


@lru_cache(maxsize=1)
def description() -> dict[str, Any]:
    """The whole committed description: ``{"types": {...}, "enums": {...}}``."""
    return json.loads(_FILE.read_text("utf-8"))


def type_name(name: str) -> Optional[str]:
    """The schema's spelling of a type (``microsoft.graph.Message`` -> ``message``), or None if not kept."""
    short = name.rsplit(".", 1)[-1].lower()
    return next((t for t in description()["types"] if t.lower() == short), None)


def properties(name: str) -> dict[str, list[Any]]:
    """Structural properties of a type, inherited ones included: ``{name: [type, nullable]}``."""
    return description()["types"][name]["properties"]


def navigation(name: str) -> dict[str, str]:
    return description()["types"][name].get("navigation", {})


def element(type_text: str) -> str:
    return type_text[len("Collection("):-1] if type_text.startswith("Collection(") else type_text


def path_type(name: str, path: str) -> Optional[str]:
    """The type a ``/``-separated property path names from ``name`` (collections as ``Collection(x)``),
    or None when a segment is not declared. Names match case-insensitively, as Graph's do."""
    current: Optional[str] = name
    found: Optional[str] = None
    for segment in path.split("/"):
        if current is None or current not in description()["types"]:
            return None
        declared = {**{k: v[0] for k, v in properties(current).items()}, **navigation(current)}
        found = next((t for k, t in declared.items() if k.lower() == segment.lower()), None)
        if found is None:
            return None
        current = element(found)
    return found


def empty_value(name: str, prop: str) -> Any:
    """What Graph writes for a selected property the item has no value for: [] or null."""
    declared = properties(name).get(prop)
    return [] if declared and declared[0].startswith("Collection(") else None
