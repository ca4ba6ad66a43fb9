"""The import graph of ``src/notelock``: no cycle anywhere, own modules imported
at module top, faces kept apart (cli/ and server/ never import kernel/).

Checked on the source (every ``import`` statement, wherever it stands), so a
cycle cannot hide behind a function-local import; each check has a positive
control that shows it does find what it looks for.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "notelock"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, modules: set[str]) -> list[tuple[str, bool, bool]]:
    """(imported notelock module, at module top?, names a private attribute?) for every import in *path*."""
    name = module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    for n in tree.body:  # `if TYPE_CHECKING:` / try blocks at top level count as top
        if isinstance(n, (ast.If, ast.Try)):
            top |= {id(c) for c in ast.walk(n)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("notelock"):
                    found.append((alias.name, id(node) in top, False))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, is_package, node)
            if not target.startswith("notelock"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                # `from pkg import module` imports the module; `from mod import name` the module
                mod = sub if sub in modules else target
                dunder = alias.name.startswith("__") and alias.name.endswith("__")
                private = alias.name.startswith("_") and not dunder and sub not in modules
                found.append((mod, id(node) in top, private))
    return found


def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    edges: dict[str, set[str]] = {}
    for path in files:
        me = module_name(path)
        targets = set()
        for target, _top, _private in imports_of(path, modules):
            # importing a.b.c runs a and a.b too; the edge that matters is to the module itself
            if target in modules and target != me:
                targets.add(target)
        edges[me] = targets
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_in_notelock():
    edges = graph()
    assert "notelock.core.hashing.api" in edges and "notelock.kernel.recording" in edges
    assert find_cycle(edges) is None, " → ".join(find_cycle(edges) or [])


def test_cycle_finder_positive_control():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_own_modules_are_imported_at_module_top_and_by_public_names():
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    late, private = [], []
    for path in files:
        for target, top, priv in imports_of(path, modules):
            if not top:
                late.append(f"{module_name(path)} → {target}")
            if priv:
                private.append(f"{module_name(path)} → {target}")
    # the extension's entry points stay lazy so `import notelock` stays cheap
    allowed = {"notelock → notelock.kernel", "notelock.server → notelock.server.config",
               "notelock.server → notelock.server.handlers", "notelock.server → notelock.server.jobs"}
    assert sorted(set(late) - allowed) == []
    assert private == []


def test_faces_stay_apart():
    edges = graph()

    def reaches(start: str, prefix: str) -> list[str]:
        seen, todo, hits = set(), [start], []
        while todo:
            node = todo.pop()
            for nxt in edges.get(node, ()):
                if nxt.startswith(prefix):
                    hits.append(f"{node} → {nxt}")
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return hits

    for face in [m for m in edges if m.startswith(("notelock.cli", "notelock.server"))]:
        assert reaches(face, "notelock.kernel") == [], face
    for core in [m for m in edges if m.startswith("notelock.core")]:
        assert [e for e in edges[core] if not e.startswith(("notelock.core", "notelock._version"))] == [], core
    # positive control: the magics do reach the kernel package
    assert reaches("notelock.kernel", "notelock.kernel.recording")
