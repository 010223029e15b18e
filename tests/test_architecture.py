"""The package's shape, checked from its source with ``ast`` (issue 19): no import circle among its modules, and
no module over 600 lines.

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``, relative and absolute. ``from
package import name`` is an edge to ``package.name`` when that is a module, else to ``package``. Importing
``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too, but those edges are not counted: a package's ``__init__``
re-exporting its modules would otherwise make every package a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import netkit_msal

PACKAGE = Path(netkit_msal.__file__).resolve().parent
ROOT = PACKAGE.name
MAX_LINES = 600



def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` (at ``path``) imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:  # ``import netkit_msal.x.y`` where y is a name: the nearest module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not (base == ROOT or base.startswith(ROOT + ".")):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                add(candidate if candidate in known else base)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(name, path, known) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def test_the_analysis_sees_every_kind_of_import():
    """The checker itself: edges from imports in functions, under TYPE_CHECKING, relative and absolute."""
    graph = import_graph()
    assert "netkit_msal._exceptions" in graph["netkit_msal._config"]  # module level, relative
    assert "netkit_msal.cache._redis" in graph["netkit_msal.cache"]  # inside a function
    assert "netkit_msal._scopes" in graph["netkit_msal._config"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    found = list(cycles(import_graph()))
    assert not found, "import circles: " + "; ".join(" <-> ".join(cycle) for cycle in found)


def test_no_module_over_600_lines():
    long = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    over = {name: lines for name, lines in long.items() if lines > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"
