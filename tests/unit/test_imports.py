"""The import graph of gnivo_cli and rewards has no cycle.

Two graphs are checked. The module-level one (imports that run when a module loads; `if TYPE_CHECKING:`
blocks never run) must have no cycle, or a module could see a half-initialised other. The full one also
counts imports written inside functions and under TYPE_CHECKING: deferring an import defers its cost, not
the dependency, so a cycle there is still two modules that each need the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gnivo_cli", "rewards")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(node: ast.Import | ast.ImportFrom, package: str) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        base_parts = package.split(".")
        base_parts = base_parts[: len(base_parts) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    # `from package import module` imports that submodule too.
    return {base} | {f"{base}.{alias.name}" for alias in node.names}


def _all_imports(tree: ast.Module, package: str) -> set[str]:
    """Names imported anywhere in the module: at module level, in functions, under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found |= _imported_names(node, package)
    return found


def _module_level_imports(tree: ast.Module, package: str) -> set[str]:
    """Names imported by statements that run at import time (not inside functions or TYPE_CHECKING)."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(_imported_names(node, package))
            elif isinstance(node, ast.If):
                if not _is_type_checking(node):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    return found


def import_graph(*, deferred: bool) -> dict[str, set[str]]:
    """Module -> the project modules it imports: at load time, or anywhere with `deferred`."""
    files = {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        imported = _all_imports(tree, package) if deferred else _module_level_imports(tree, package)
        graph[module] = {name for name in imported if name in files and name != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graphs_see_the_packages_and_their_imports():
    loaded = import_graph(deferred=False)
    everything = import_graph(deferred=True)
    assert "gnivo_cli.recipe.loader" in loaded and "rewards.base" in loaded
    assert "gnivo_cli.errors" in loaded["gnivo_cli.recipe.loader"]
    # recipe.py checks data sources with an import inside a function: only the full graph has that edge
    assert "gnivo_cli.data.loading" in everything["gnivo_cli.recipe.loader"]
    assert "gnivo_cli.data.loading" not in loaded["gnivo_cli.recipe.loader"]


def test_find_cycle_reports_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_at_load_time():
    cycle = find_cycle(import_graph(deferred=False))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_counting_deferred_imports():
    cycle = find_cycle(import_graph(deferred=True))
    assert cycle is None, "import cycle (deferred imports included): " + " -> ".join(cycle or [])
