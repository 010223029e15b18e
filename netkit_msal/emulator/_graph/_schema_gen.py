"""Writes ``schema.json``: the Graph v1.0 types the emulator serves, taken from Microsoft's metadata.

Run ``python -m netkit_msal.emulator._graph._schema_gen METADATA.xml[.gz] [OUT.json]``; the conformance
test regenerates it from ``tests/conformance/graph-v1.0-metadata.xml.gz`` and fails when the committed
file drifts. Each type lists every property including inherited ones as ``[type, nullable]`` (``graph.``
prefixes dropped), its navigation properties, and each enum its members. Only the root types below and
what they reach are kept, so the file stays small.
"""

from __future__ import annotations

import gzip
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOTS = ("user", "message", "mailFolder", "event", "calendar", "outlookCategory", "fileAttachment",
         "uploadSession", "subscription", "driveItem", "drive")
_NS = "{http://docs.oasis-open.org/odata/ns/edm}"
SCHEMA_FILE = Path(__file__).with_name("schema.json")


def _short(type_name: str) -> str:
    for prefix in ("graph.", "microsoft.graph."):
        type_name = type_name.replace(prefix, "")
    return type_name


def _element_type(type_name: str) -> str:
    return type_name[len("Collection("):-1] if type_name.startswith("Collection(") else type_name


def generate(metadata: bytes) -> dict[str, Any]:
    """The compact description of the root types and every type they reach through properties."""
    root = ET.fromstring(metadata)
    schema = next(s for s in root.iter(f"{_NS}Schema") if s.get("Namespace") == "microsoft.graph")
    structured: dict[str, ET.Element] = {}
    enums: dict[str, list[str]] = {}
    for node in schema:
        name = node.get("Name") or ""
        if node.tag in (f"{_NS}EntityType", f"{_NS}ComplexType"):
            structured[name] = node
        elif node.tag == f"{_NS}EnumType":
            enums[name] = [m.get("Name") or "" for m in node.iter(f"{_NS}Member")]

    def own(name: str) -> tuple[dict[str, list[Any]], dict[str, str]]:
        node = structured[name]
        base = node.get("BaseType")
        props, navs = own(_short(base)) if base else ({}, {})
        for prop in node.findall(f"{_NS}Property"):
            props[prop.get("Name") or ""] = [_short(prop.get("Type") or ""), prop.get("Nullable") != "false"]
        for nav in node.findall(f"{_NS}NavigationProperty"):
            navs[nav.get("Name") or ""] = _short(nav.get("Type") or "")
        return props, navs

    types: dict[str, Any] = {}
    used_enums: set[str] = set()
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in types:
            continue
        node = structured[name]
        props, navs = own(name)
        entry: dict[str, Any] = {"kind": "entity" if node.tag == f"{_NS}EntityType" else "complex"}
        if node.get("BaseType"):
            entry["base"] = _short(node.get("BaseType") or "")
        if node.get("Abstract") == "true":
            entry["abstract"] = True
        if node.get("OpenType") == "true":
            entry["open"] = True
        entry["properties"] = props
        if navs:
            entry["navigation"] = navs
        types[name] = entry
        for type_name, _ in props.values():
            inner = _element_type(type_name)
            if inner in enums:
                used_enums.add(inner)
            elif inner in structured:
                pending.append(inner)
                # Complex values may carry a derived type (``@odata.type``): keep the derived ones too.
                pending.extend(n for n, s in structured.items() if _short(s.get("BaseType") or "") == inner
                               and s.tag == f"{_NS}ComplexType")
    return {"source": "Microsoft Graph v1.0 $metadata (msgraph-metadata clean_v10_metadata, MIT)",
            "types": dict(sorted(types.items())), "enums": {n: enums[n] for n in sorted(used_enums)}}


def read_metadata(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def dumps(description: dict[str, Any]) -> str:
    """The committed text form (one property per line keeps diffs readable)."""
    return json.dumps(description, indent=1, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m netkit_msal.emulator._graph._schema_gen METADATA.xml[.gz] [OUT.json]",
              file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) > 1 else SCHEMA_FILE
    out.write_text(dumps(generate(read_metadata(Path(argv[0])))), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
