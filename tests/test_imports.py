"""The package's imports run one way: from the command line down to the core, with no circle.

Read from the source with ``ast``, so imports inside functions and under ``TYPE_CHECKING`` count
as much as those at the top of a file (a circle hidden in a function is still a circle: it
decides what a module can be read without). The order is the one ``README.md`` draws:

    cli
    checkdata | batch | demo
    pipeline
    outputs
    results
    analysis
    models
    problem
    inputs
    scenario
    network | rules
    io
    _errors : _version : _record : _messages : _text : _tiles : coords   (core)

A module may import from its own package and from any layer below its own; siblings joined by
"|" may not import each other; the core modules may import each other (without a circle).
A private module (``siting.network._dijkstra``) and a private name (``_norm``) stay inside their
package. ``python tests/test_imports.py`` prints the edges that break a rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "siting"
LAYERS = [
    {"cli"},
    {"checkdata", "batch", "demo"},
    {"pipeline"},
    {"outputs"},
    {"results"},
    {"analysis"},
    {"models"},
    {"problem"},
    {"inputs"},
    {"scenario"},
    {"network", "rules"},
    {"io"},
    {"_errors", "_version", "_record", "_messages", "_text", "_tiles", "coords", "_moved"},
]
CORE = LAYERS[-1]
LAYER_OF = {part: i for i, layer in enumerate(LAYERS) for part in layer}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("siting", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str | None, int]]:
    """(module imported, name taken from it or None, line) for every siting import in a file."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [
                (alias.name, None, node.lineno)
                for alias in node.names
                if alias.name.split(".")[0] == "siting"
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if source.split(".")[0] != "siting":
                continue
            for alias in node.names:
                child = f"{source}.{alias.name}"
                if child in known:
                    out.append((child, None, node.lineno))
                else:
                    out.append((source, alias.name, node.lineno))
    return out


def graph() -> tuple[nx.DiGraph, list[tuple[str, str, str | None, int]]]:
    """The import graph between the package's modules, and every import as (from, to, name,
    line)."""
    found = modules()
    g = nx.DiGraph()
    g.add_nodes_from(found)
    edges = []
    for name, path in found.items():
        for target, taken, line in imports(name, path, set(found)):
            edges.append((name, target, taken, line))
            if target != name:
                g.add_edge(name, target)
    return g, edges


def _part(module: str) -> str:
    """The top-level package or module a dotted name belongs to ('' for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def circles() -> list[list[str]]:
    g, _ = graph()
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


def broken_rules() -> list[str]:
    """Every import that goes against the order, between siblings, or to a private part of
    another package, as 'file:line: why'."""
    _, edges = graph()
    found = modules()
    out = []
    for source, target, taken, line in edges:
        where = f"{found[source].relative_to(PACKAGE.parent)}:{line}"
        mine, theirs = _part(source), _part(target)
        if source == "siting":
            continue  # the package's front door imports whatever it offers
        if target == "siting":
            out.append(f"{where}: imports the package root (`siting`): import the module")
            continue
        if mine != theirs:
            if mine not in LAYER_OF or theirs not in LAYER_OF:
                out.append(f"{where}: {mine or theirs} has no place in the order")
                continue
            below = LAYER_OF[theirs] > LAYER_OF[mine]
            core = mine in CORE and theirs in CORE
            if not below and not core:
                out.append(f"{where}: {source} -> {target} goes up or sideways")
            tail = target.split(".")[2:]
            if any(p.startswith("_") for p in tail):
                out.append(f"{where}: {target} is private to siting.{theirs}")
            if taken and taken.startswith("_") and not taken.startswith("__"):
                out.append(f"{where}: {taken} is private to {target}")
    return out


def test_no_import_circle() -> None:
    found = circles()
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_imports_follow_the_order() -> None:
    found = broken_rules()
    assert not found, "\n".join(found)


def test_every_module_has_a_place() -> None:
    parts = {_part(m) for m in modules()} - {""}
    assert parts <= set(LAYER_OF), sorted(parts - set(LAYER_OF))


def test_the_version_is_the_projects() -> None:
    import tomllib

    from siting._version import __version__

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    assert __version__ == project["version"]


def test_the_reader_finds_imports_in_functions(tmp_path: Path) -> None:
    """The reader is not blind to the imports a circle hides in (a guard on the guard)."""
    path = tmp_path / "m.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from siting.outputs import folder\n"
        "def f():\n    from ..network import _dijkstra\n    from .b import _x\n"
    )
    found = imports("siting.inputs.m", path, {"siting.outputs.folder", "siting.network._dijkstra"})
    assert found == [
        ("siting.outputs.folder", None, 3),
        ("siting.network._dijkstra", None, 5),
        ("siting.inputs.b", "_x", 6),
    ]


if __name__ == "__main__":
    for circle in circles():
        print("circle:", " <-> ".join(circle))
    for problem in broken_rules():
        print(problem)
