"""The engine's modules: no import circle (lazy imports inside functions count too), none over 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import lrtui.engine

ENGINE = Path(lrtui.engine.__file__).parent
MAX_LINES = 600


def engine_imports() -> dict[str, set[str]]:
    """Each engine module's imports of other engine modules, wherever in the module they are written."""
    modules = {p.stem: p for p in ENGINE.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else ([a.name for a in node.names] if isinstance(node, ast.Import) else [])
            )
            found |= {n.split(".")[2] for n in names if n.startswith("lrtui.engine.")}
        graph[name] = found & modules.keys()
    return graph


def test_no_engine_module_imports_itself_through_others() -> None:
    graph = engine_imports()
    circles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        for dep in sorted(graph[name]):
            if dep in path:
                circles.append(path[path.index(dep) :] + [dep])
            else:
                visit(dep, path + [dep])

    for name in sorted(graph):
        visit(name, [name])
    assert not circles, circles


def test_no_engine_module_is_over_600_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in ENGINE.glob("*.py")}
    assert not {name: n for name, n in sizes.items() if n > MAX_LINES}
