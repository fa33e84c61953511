"""The package layout is the architecture: a feature reaches another only through its public
modules, never its pages, console or private names, and no module imports itself in a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "bookings"

# What one feature may import of another: its records, its rules and (to show them) its forms.
PUBLIC = {"models", "service", "forms"}
# The app's wiring: the factory, the command line and the table registry import every feature.
WIRING = {"bookings", "bookings.cli", "bookings.models"}
# Shared web pieces, owned by no feature (they too use features only through PUBLIC).
SHARED_PACKAGES = {"web"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import, local ones included."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    yield f"{base}.{alias.name}", None, node.lineno
                else:
                    yield base, alias.name, node.lineno


def _feature(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in SHARED_PACKAGES or f"bookings.{parts[1]}" not in MODULES:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() else None


def _violations() -> list[str]:
    found = []
    for module in MODULES:
        for target, name, line in _imports(module):
            if not target.startswith("bookings") or target not in MODULES:
                continue
            where = f"{module}:{line} imports {target}{'.' + name if name else ''}"
            if name and name.startswith("_") and target != module:
                found.append(f"{where}: a private name")
            if module in WIRING:
                continue
            mine, theirs = _feature(module), _feature(target)
            if theirs is None or mine == theirs:
                continue
            if target.rpartition(".")[2] not in PUBLIC:
                found.append(f"{where}: not one of {theirs}'s public modules {sorted(PUBLIC)}")
    return found


def _cycles() -> list[list[str]]:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for module in MODULES:
        for target, _name, _line in _imports(module):
            if target in MODULES and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_a_feature_reaches_another_only_through_its_public_modules():
    assert _violations() == []


def test_no_module_of_the_package_imports_itself_in_a_circle():
    assert _cycles() == []


def test_the_checks_see_the_whole_package():
    """The walk finds the features and resolves their imports (else the tests above pass empty)."""
    features = {_feature(module) for module in MODULES} - {None}
    assert {"booking", "events", "networks", "feeds", "mail", "accounts", "stats"} <= features
    imported = {target for module in MODULES for target, _, _ in _imports(module)}
    assert "bookings.db" in imported and "bookings.booking.service" in imported
