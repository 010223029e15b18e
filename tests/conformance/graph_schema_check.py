"""Holds a JSON answer against the Graph v1.0 types in ``schema.json`` (Microsoft's metadata, compacted).

``problems(value, "message")`` lists every way the value differs from the declared type: a property the
type does not declare, a value not of its Edm type, enum value outside its members, null where the
metadata says not nullable, a wrong shape for complex types and collections. Instance annotations
(``@odata.etag``, ``@removed``...) are allowed; ``@odata.type`` switches to the derived type it names.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from netkit_msal.emulator._graph import _schema

#: Properties the service returns although the metadata omits them (Microsoft says so for sizeInBytes).
#: ``identity`` and ``identitySet`` are open types: OneDrive's identities carry the user's ``email``, and a
#: SharePoint library's owner is a ``group`` (Microsoft's drive examples show both).
SERVICE_EXTRAS = {"mailFolder": {"sizeInBytes"}, "identity": {"email"}, "identitySet": {"group"}}

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DURATION = re.compile(r"^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _derives(name: str, base: str) -> bool:
    types = _schema.description()["types"]
    while name:
        if name == base:
            return True
        name = types.get(name, {}).get("base", "")
    return False


def _edm(value: Any, kind: str, where: str) -> list[str]:
    ok = {
        "Edm.String": lambda v: isinstance(v, str),
        "Edm.Boolean": lambda v: isinstance(v, bool),
        "Edm.Int32": lambda v: isinstance(v, int) and not isinstance(v, bool) and -2**31 <= v < 2**31,
        "Edm.Int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Edm.Int16": lambda v: isinstance(v, int) and not isinstance(v, bool) and -2**15 <= v < 2**15,
        "Edm.Byte": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 256,
        "Edm.Double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) or v in ("NaN", "INF", "-INF"),
        "Edm.Single": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "Edm.Decimal": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "Edm.DateTimeOffset": lambda v: isinstance(v, str) and bool(_DATETIME.match(v)),
        "Edm.Date": lambda v: isinstance(v, str) and bool(_DATE.match(v)),
        "Edm.TimeOfDay": lambda v: isinstance(v, str) and bool(_TIME.match(v)),
        "Edm.Guid": lambda v: isinstance(v, str) and bool(_GUID.match(v)),
        "Edm.Duration": lambda v: isinstance(v, str) and bool(_DURATION.match(v)),
        "Edm.Binary": _is_base64,
        "Edm.Stream": lambda v: True,
        "Edm.Untyped": lambda v: True,
    }.get(kind)
    if ok is None:
        return [f"{where}: unknown Edm type {kind}"]
    return [] if ok(value) else [f"{where}: {value!r} is not {kind}"]


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def problems(value: Any, type_text: str, where: str = "$", nullable: bool = True) -> list[str]:
    """Every difference between ``value`` and the declared ``type_text`` (empty when it conforms)."""
    if value is None:
        return [] if nullable else [f"{where}: null, but the metadata says not nullable"]
    if type_text.startswith("Collection("):
        if not isinstance(value, list):
            return [f"{where}: expected a collection, got {type(value).__name__}"]
        inner = _schema.element(type_text)
        return [p for n, item in enumerate(value) for p in problems(item, inner, f"{where}[{n}]", nullable=False)]
    if type_text.startswith("Edm."):
        return _edm(value, type_text, where)
    enums = _schema.description()["enums"]
    if type_text in enums:
        if not isinstance(value, str):
            return [f"{where}: enum {type_text} must be a string, got {value!r}"]
        bad = [v for v in value.split(",") if v.strip() not in enums[type_text]]
        return [f"{where}: {value!r} is not a member of {type_text} {enums[type_text]}"] if bad else []
    types = _schema.description()["types"]
    if type_text not in types:
        return [f"{where}: type {type_text} is not in schema.json (add it to _schema_gen.ROOTS)"]
    if not isinstance(value, dict):
        return [f"{where}: expected a {type_text} object, got {type(value).__name__}"]
    actual = type_text
    declared_type = value.get("@odata.type")
    if isinstance(declared_type, str):
        actual = declared_type.lstrip("#").replace("microsoft.graph.", "")
        if actual not in types or not _derives(actual, type_text):
            return [f"{where}: @odata.type {declared_type} is not a {type_text}"]
    props, navs = _schema.properties(actual), _schema.navigation(actual)
    found: list[str] = []
    for key, item in value.items():
        if key.startswith("@") or "@" in key:
            continue  # instance and property annotations
        if key in props:
            found += problems(item, props[key][0], f"{where}.{key}", props[key][1])
        elif key in navs:
            found += problems(item, navs[key], f"{where}.{key}")
        elif key not in SERVICE_EXTRAS.get(actual, ()):
            found.append(f"{where}: property '{key}' is not declared on {actual}")
    return found
