"""OData query options as Graph applies them: ``$filter``, ``$orderby``, ``$select``, ``$search``.

Pure functions over plain dicts (the rendered Graph entities), so they are tested without HTTP.
A ``$filter`` is compiled once into a predicate; paths such as ``from/emailAddress/address`` walk
nested dicts, and ``any``/``all`` lambdas walk lists (``toRecipients/any(r: r/emailAddress/address eq 'x')``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, Optional

from ..._iso import parse_iso_datetime

Predicate = Callable[[Any, dict], bool]
Operand = Callable[[Any, dict], Any]


class ODataError(ValueError):
    """A query option Graph would refuse with 400; the message says what is wrong."""


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
     |(?P<dt>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w-])
     |(?P<num>-?\d+(?:\.\d+)?)(?![\w-])
     |(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
     |(?P<name>[A-Za-z_@][\w@.]*(?:/[A-Za-z_@][\w@.]*)*)
     |(?P<punct>[(),:])
    )""", re.VERBOSE)

_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith", "contains"}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?$")


def parse_datetime(text: str) -> datetime:
    """An ISO date or date-time; no offset means UTC (Graph's rule for query values)."""
    parsed = parse_iso_datetime(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def path_getter(path: str) -> Callable[[Any], Any]:
    """A function reading ``a/b/c`` in nested dicts (keys case-insensitive, as Graph's property names)."""
    parts = path.split("/")

    def get(item: Any) -> Any:
        value = item
        for part in parts:
            if not isinstance(value, dict):
                return None
            if part in value:
                value = value[part]
                continue
            lower = part.lower()
            value = next((v for k, v in value.items() if k.lower() == lower), None)
        return value
    return get


def get_path(item: Any, path: str) -> Any:
    return path_getter(path)(item)


class _Parser:
    def __init__(self, text: str, known: Optional[Callable[[str], bool]] = None, type_name: str = "") -> None:
        self.text = text
        self.known = known
        self.type_name = type_name
        #: The property paths the filter reads, in order (lambda variables' paths left out).
        self.paths: list[str] = []
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise ODataError(f"Invalid filter clause: syntax error at position {pos} in '{self.text}'.")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.pos = 0
        self.lambda_vars: list[str] = []

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got.lower() != value:
            raise ODataError(f"Invalid filter clause: expected '{value}' but found '{got or 'end of input'}'.")

    def keyword(self, word: str) -> bool:
        kind, value = self.peek()
        if kind == "name" and value.lower() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        if not self.tokens:
            raise ODataError("Invalid filter clause: the expression is empty.")
        predicate = self.or_expr()
        if self.peek()[0] != "end":
            raise ODataError(f"Invalid filter clause: unexpected '{self.peek()[1]}'.")
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda item, env: any(p(item, env) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.keyword("and"):
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda item, env: all(p(item, env) for p in parts)

    def not_expr(self) -> Predicate:
        if self.keyword("not"):
            inner = self.not_expr()
            return lambda item, env: not inner(item, env)
        return self.primary()

    def primary(self) -> Predicate:
        kind, value = self.peek()
        if value == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        if kind == "name" and value.lower() in _FUNCTIONS and self.peek(1)[1] == "(":
            return self.function()
        if kind == "name" and "/" in value and value.rsplit("/", 1)[1].lower() in ("any", "all") \
                and self.peek(1)[1] == "(":
            return self.lambda_expr()
        left = self.operand()
        op_kind, op = self.take()
        if op.lower() not in _COMPARE:
            raise ODataError(f"Invalid filter clause: expected a comparison operator, found '{op or 'end of input'}'.")
        right = self.operand()
        return _comparison(left, op.lower(), right)

    def function(self) -> Predicate:
        name = self.take()[1].lower()
        self.expect("(")
        left = self.operand()
        self.expect(",")
        right = self.operand()
        self.expect(")")

        def check(item: Any, env: dict) -> bool:
            a, b = left(item, env), right(item, env)
            if not isinstance(a, str) or not isinstance(b, str):
                return False
            a, b = a.casefold(), b.casefold()
            if name == "startswith":
                return a.startswith(b)
            if name == "endswith":
                return a.endswith(b)
            return b in a
        return check

    def lambda_expr(self) -> Predicate:
        path, quantifier = self.take()[1].rsplit("/", 1)
        collection = self.path_operand(path)
        self.expect("(")
        var = self.take()[1]
        self.expect(":")
        self.lambda_vars.append(var)
        body = self.or_expr()
        self.lambda_vars.pop()
        self.expect(")")
        test = any if quantifier.lower() == "any" else all

        def check(item: Any, env: dict) -> bool:
            values = collection(item, env)
            if not isinstance(values, list):
                return False
            return test(body(item, {**env, var: v}) for v in values)
        return check

    def path_operand(self, path: str) -> Operand:
        head, _, rest = path.partition("/")
        if head in self.lambda_vars:
            inner = path_getter(rest)
            return lambda item, env: inner(env[head]) if rest else env[head]
        if self.known is not None and not self.known(path):
            raise unknown_property(path, self.known, self.type_name)
        self.paths.append(path)
        getter = path_getter(path)
        return lambda item, env: getter(item)

    def operand(self) -> Operand:
        kind, value = self.take()
        if kind == "str":
            text = value[1:-1].replace("''", "'")
            return lambda item, env: text
        if kind == "dt":
            moment = parse_datetime(value)
            return lambda item, env: moment
        if kind == "num":
            number = float(value) if "." in value else int(value)
            return lambda item, env: number
        if kind == "guid":
            return lambda item, env: value
        if kind == "name":
            constants = {"true": True, "false": False, "null": None}
            if value.lower() in constants:
                constant = constants[value.lower()]
                return lambda item, env: constant
            return self.path_operand(value)
        raise ODataError(f"Invalid filter clause: unexpected '{value or 'end of input'}'.")


def _normalise(a: Any, b: Any) -> tuple[Any, Any]:
    """Make two values comparable: date-times with date-time strings, strings case-insensitively."""
    if isinstance(b, datetime) and isinstance(a, str) and _DATETIME.match(a):
        return parse_datetime(a), b
    if isinstance(a, datetime) and isinstance(b, str) and _DATETIME.match(b):
        return a, parse_datetime(b)
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold(), b.casefold()
    return a, b


def _comparison(left: Operand, op: str, right: Operand) -> Predicate:
    def check(item: Any, env: dict) -> bool:
        a, b = _normalise(left(item, env), right(item, env))
        if op == "eq":
            return a == b
        if op == "ne":
            return a != b
        if a is None or b is None:
            return False
        try:
            if op == "gt":
                return a > b
            if op == "ge":
                return a >= b
            if op == "lt":
                return a < b
            return a <= b
        except TypeError:
            return False
    return check


def unknown_property(path: str, known: Callable[[str], bool], type_name: str) -> ODataError:
    """Graph's message for a path naming an undeclared property: it names the first unknown segment."""
    parts = path.split("/")
    bad = next((parts[i - 1] for i in range(1, len(parts) + 1) if not known("/".join(parts[:i]))), parts[-1])
    return ODataError(f"Could not find a property named '{bad}' on type '{type_name}'.")


def compile_filter(text: str) -> Callable[[Any], bool]:
    """``$filter`` text -> predicate over one entity dict; raises ODataError for bad syntax."""
    predicate = _Parser(text).parse()
    return lambda item: bool(predicate(item, {}))


def parse_filter(text: str, known: Optional[Callable[[str], bool]], type_name: str
                 ) -> tuple[Callable[[Any], bool], list[str]]:
    """``$filter`` -> (predicate, property paths read, in order); with ``known``, a path it refuses is an
    ODataError naming the property and ``type_name``, as Graph's message does."""
    parser = _Parser(text, known, type_name)
    predicate = parser.parse()
    return (lambda item: bool(predicate(item, {}))), parser.paths


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """``$orderby`` text -> [(path, descending)]."""
    keys = []
    for clause in text.split(","):
        words = clause.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ODataError(f"Invalid $orderby clause '{clause.strip()}'.")
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return keys


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def order_by(items: Iterable[Any], keys: list[tuple[str, bool]]) -> list[Any]:
    """Stable multi-key sort, as ``$orderby`` asks (missing values first when ascending)."""
    result = list(items)
    for path, descending in reversed(keys):
        getter = path_getter(path)
        result.sort(key=lambda item: _sort_key(getter(item)), reverse=descending)
    return result


def parse_select(text: Optional[str], allowed: Iterable[str], type_name: str) -> Optional[list[str]]:
    """``$select`` -> property names with Graph's spelling, or None; an unknown name is an ODataError."""
    if not text:
        return None
    by_lower = {name.lower(): name for name in allowed}
    names = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        known = by_lower.get(name.lower())
        if known is None:
            raise ODataError(f"Could not find a property named '{name}' on type '{type_name}'.")
        names.append(known)
    return names


def select(item: dict, names: Optional[list[str]], always: tuple[str, ...] = ("id",)) -> dict:
    """Keep the selected properties (plus ``id`` and OData annotations), in Graph's order."""
    if names is None:
        return item
    keep = set(names) | set(always)
    return {k: v for k, v in item.items() if k in keep or k.startswith("@odata.")}


_SEARCH_CLAUSE = re.compile(r'\s*(?:"(?P<q>[^"]*)"|(?P<op>AND|OR)\b|(?P<bare>\S+))')


def parse_directory_search(text: str) -> Callable[[dict], bool]:
    """Directory ``$search``: ``"property:value"`` clauses joined by AND / OR, matched by word prefix."""
    clauses: list[tuple[str, str]] = []
    joins: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _SEARCH_CLAUSE.match(text, pos)
        if not match:
            break
        pos = match.end()
        if match.group("op"):
            joins.append(match.group("op"))
            continue
        if match.group("bare") is not None:
            raise ODataError("Syntax error: $search clauses must be quoted, as in \"displayName:adele\".")
        prop, sep, value = match.group("q").partition(":")
        if not sep or not prop.strip():
            raise ODataError("Syntax error: $search clauses take the form \"property:value\".")
        clauses.append((prop.strip(), value.strip().casefold()))
    if not clauses:
        raise ODataError("Syntax error: $search is empty.")

    def matches(item: dict, prop: str, value: str) -> bool:
        field = get_path(item, prop)
        if not isinstance(field, str):
            return False
        field = field.casefold()
        return field.startswith(value) or any(w.startswith(value) for w in re.split(r"[\s@._-]+", field))

    def test(item: dict) -> bool:
        result = matches(item, *clauses[0])
        for index, clause in enumerate(clauses[1:]):
            if index < len(joins) and joins[index] == "OR":
                result = result or matches(item, *clause)
            else:
                result = result and matches(item, *clause)
        return result
    return test


_MESSAGE_SEARCH_FIELDS = {
    "subject": ("subject",),
    "body": ("body/content",),
    "from": ("from/emailAddress/address", "from/emailAddress/name"),
    "to": ("toRecipients",),
    "cc": ("ccRecipients",),
    "participants": ("from/emailAddress/address", "from/emailAddress/name", "toRecipients", "ccRecipients"),
}


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(_flatten(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value)
    return value if isinstance(value, str) else ""


def parse_message_search(text: str) -> Callable[[dict], bool]:
    """Mail ``$search`` (KQL-like): terms, ``"phrases"`` and ``field:value``; every term must match."""
    terms: list[tuple[tuple[str, ...], str]] = []
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        stripped = stripped[1:-1]
    for match in re.finditer(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))', stripped):
        field, phrase, word = match.group(1), match.group(2), match.group(3)
        value = (phrase if phrase is not None else word or "").casefold()
        if field and field.lower() in _MESSAGE_SEARCH_FIELDS:
            terms.append((_MESSAGE_SEARCH_FIELDS[field.lower()], value))
        elif value and value not in ("and",):
            if field:
                value = f"{field.casefold()}:{value}"
            terms.append((("subject", "body/content", "from", "toRecipients", "ccRecipients"), value))

    def test(item: dict) -> bool:
        for fields, value in terms:
            if not any(value in _flatten(get_path(item, f)).casefold() for f in fields):
                return False
        return True
    return test
