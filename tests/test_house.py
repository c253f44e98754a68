"""The house in order: the import graph of `src/cbi` has no cycles and no forbidden edges.

The graph is read from the source (AST), not by importing: every `import` and `from ... import`
(at the top of a module and inside functions alike), relative imports resolved, plus
`import_module("cbi....")` with a literal name (an f-string counts up to its first hole), so a
dependency hidden in a function or built from a string still shows.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "cbi"

#: (importer area, imported area): production code of the left never reaches the right.
FORBIDDEN = [
    ("cbi.feeds", "cbi.sandbox"),
    ("cbi.transform", "cbi.sandbox"),
    ("cbi.warehouse", "cbi.sandbox"),
    ("cbi.dashboard", "cbi.sandbox"),
    ("cbi.dashboard", "cbi.feeds"),
    ("cbi.dashboard", "cbi.models"),
    ("cbi.warehouse", "cbi.feeds"),
    ("cbi.warehouse", "cbi.models"),
    ("cbi.transform", "cbi.feeds"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that `name` names (a.b.c -> a.b when c is an attribute)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _relative_base(module: str, is_package: bool, level: int) -> str:
    parts = module.split(".")
    if not is_package:
        parts.pop()
    for _ in range(level - 1):
        parts.pop()
    return ".".join(parts)


def _dynamic_names(call: ast.Call, known: dict[str, Path]) -> list[str]:
    """The modules `import_module(<literal>)` names; for `import_module(f"cbi.x.{...}")`
    every module directly inside `cbi.x` (any of them may be the one loaded)."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called != "import_module" or not call.args:
        return []
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        prefix = str(arg.values[0].value)
        if prefix.endswith("."):
            return [m for m in known if m.startswith(prefix) and "." not in m[len(prefix):]]
        return [prefix]
    return []


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The cbi modules `module` imports, anywhere in its body."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = _relative_base(module, is_package, node.level)
                base = f"{prefix}.{base}" if base else prefix
            # `from pkg import sub` imports the submodule when `sub` is one.
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        elif isinstance(node, ast.Call):
            names = _dynamic_names(node, known)
        for name in names:
            if name.split(".")[0] != PACKAGE:
                continue
            target = _resolve(name, known)
            if target and target != module:
                found.add(target)
    return found


@cache
def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def _in(module: str, area: str) -> bool:
    return module == area or module.startswith(area + ".")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected component of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_is_read_from_every_import():
    """The reader itself: function-level, relative and import_module imports all count."""
    graph = import_graph()
    assert len(graph) > 50
    assert "cbi.warehouse.base" in graph["cbi.warehouse.duckdb.engine"]
    assert "cbi.warehouse.duckdb.engine" in graph["cbi.warehouse.duckdb"]  # a package's re-exports
    assert any(_in(m, "cbi.warehouse") for m in graph["cbi.console"])  # inside a function


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[f"{s}->{t}" for s, t in FORBIDDEN])
def test_no_forbidden_edge(source, target):
    graph = import_graph()
    bad = sorted(f"{m} -> {d}" for m, deps in graph.items() if _in(m, source)
                 for d in deps if _in(d, target))
    assert not bad, f"{source} must not import {target}:\n" + "\n".join(bad)


#: The edges that may start the sandbox (`cbi.sandbox.session.sandbox_session`).
SANDBOX_EDGES = {"cbi.cli", "cbi.ops.serve", "cbi.ops.demo"}


def test_only_the_edges_reach_the_sandbox():
    graph = import_graph()
    reach = {m for m, deps in graph.items() if not _in(m, "cbi.sandbox")
             and any(_in(d, "cbi.sandbox") for d in deps)}
    assert reach <= SANDBOX_EDGES, f"only {sorted(SANDBOX_EDGES)} start the sandbox: {sorted(reach - SANDBOX_EDGES)}"
