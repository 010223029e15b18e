"""Option objects with 4D NetKit's keys, checked before any request is sent.

4D NetKit silently ignores a misspelled key (its issue #85), so a typo like ``fodlerId`` lists the
whole mailbox instead of one folder. Here every option object is validated: an unknown key raises
``ConfigError`` naming it and a close spelling, a value of the wrong type names its key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional
from urllib.parse import quote

from .._exceptions import ConfigError
from .._suggest import suggest_key

Checker = Callable[[str, Any], Any]


def unknown_key_error(key: str, allowed: Sequence[str], where: str) -> ConfigError:
    """The error for a key that is not one of ``allowed``, with a close spelling when there is one."""
    close = suggest_key(key, allowed)  # the provider's rule, so every object suggests alike
    hint = f" (did you mean {close!r}?)" if close else ""
    return ConfigError(f"{where}: unknown key {key!r}{hint}", key=key, suggestion=close)


def check_keys(obj: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    """Raise ``ConfigError`` for the first key of ``obj`` not in ``allowed``."""
    for key in obj:
        if key not in allowed:
            raise unknown_key_error(str(key), allowed, where)


def text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be text, not {type(value).__name__}", key=key, code=10)
    return value


def nonempty_text(key: str, value: Any) -> str:
    if not text(key, value).strip():
        raise ConfigError(f"{key} must not be empty", key=key, code=9)
    return value


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {type(value).__name__}", key=key, code=10)
    return value


def positive_int(key: str, value: Any) -> int:
    """A whole number from 1; numeric text such as ``"50"`` is read as a number, as 4D does."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key} must be a whole number from 1, not {value!r}", key=key, code=3)
    return value


def field_list(key: str, value: Any) -> str:
    """``select``/``orderBy``: text ``"id,subject"`` or a list of field names."""
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    raise ConfigError(f"{key} must be text or a list of texts", key=key, code=10)


def one_of(*choices: str) -> Checker:
    """One of ``choices``, compared without case as 4D does ("mime" is "MIME"); returns the canonical spelling."""
    canonical = {choice.lower(): choice for choice in choices}

    def check(key: str, value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in canonical:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}", key=key)
        return canonical[value.lower()]
    return check


# The OData keys shared by every list function, and what Graph calls them.
ODATA = {"search": "$search", "filter": "$filter", "select": "$select", "top": "$top", "orderBy": "$orderby"}
ODATA_CHECKS: dict[str, Checker] = {
    "search": text, "filter": text, "select": field_list, "top": positive_int, "orderBy": field_list,
}


def validate(options: Optional[Mapping[str, Any]], checks: Mapping[str, Checker], where: str) -> dict[str, Any]:
    """Check an option object against ``checks`` (key -> checker) and return the converted values."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigError(f"{where}: options must be an object (dict), not {type(options).__name__}",
                          key="options", code=10)
    check_keys(options, list(checks), where)
    return {key: checks[key](key, value) for key, value in options.items() if value is not None}


def odata_query(values: Mapping[str, Any]) -> dict[str, str]:
    """Graph query parameters for the OData keys among validated ``values``.

    ``search`` is wrapped in double quotes unless it already is, as Graph requires.
    """
    query = {}
    for key, param in ODATA.items():
        if key in values:
            value = values[key]
            if key == "search" and not value.startswith('"'):
                value = f'"{value}"'
            query[param] = str(value)
    return query


def segment(key: str, value: Any) -> str:
    """One id as a URL path segment: never empty, so a call can't hit the whole collection.

    4D NetKit's ``deleteEvent`` with an empty id sends DELETE to the events collection; here an
    empty id is a ``ConfigError`` before anything is sent.
    """
    return quote(nonempty_text(key, value), safe="")
