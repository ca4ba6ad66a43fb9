"""Is a notebook's lock current? Decided from files alone, without a kernel.

A lock is **current** when running the notebook again could only record the
same computation: the notebook has the recorded checksum, every read's
source still has the recorded content, and the recorded packages and Python
are the ones installed. It is **stale** when one of those differs (each
difference named). Where the lock cannot know, the answer is **cannot tell**,
never current:

* a read whose content is only known by running it (a SQL query, a URL);
* an unlocked cell that could read inputs the lock does not record: one that
  calls anything but a few pure builtins or methods of its own values (a
  module's function, a notebook function, ``open``…), runs an IPython magic
  or shell command, or imports a module from the notebook's folder;
* a locked cell that reads outside the recorded readers: ``open``, the
  environment, the clock, ``os``/``pathlib``/``glob`` file access, loaders
  such as ``json.load`` or ``np.load``.

The judgement is static and conservative: a cell it cannot parse counts as
one that could read anything.
"""

from __future__ import annotations

import ast
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import protocol
from .environment import installed_packages
from .errors import LockFileError, NotFoundError
from .lockfile import load_lock, lock_path_for
from .nodes import describe_source
from .unpack import PackError, is_pack, pack_identity
from .workflow import WorkflowTracker

CURRENT, STALE, CANNOT_TELL = "current", "stale", "cannot tell"

#: builtins an unlocked cell may call without reading anything
PURE_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "format", "frozenset",
    "hash", "int", "isinstance", "issubclass", "len", "list", "map", "max", "min", "print", "range", "repr",
    "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "type", "zip", "display",
})
#: line magics that read nothing the lock does not know
HARMLESS_MAGICS = re.compile(r"^\s*%(load_ext\s+notelock|reload_ext\s+notelock|lock\b|matplotlib\b|config\b)")
#: in a locked cell, calls that read outside what the recorder intercepts
_OUTSIDE_READS = (
    re.compile(r"^(open|input|exec|eval|__import__)$"),
    re.compile(r"^(os|sys|io|glob|shutil|subprocess|pathlib|urllib|requests|httpx|socket|sqlite3|pickle"
               r"|joblib|shelve|yaml|toml|tomllib|csv|configparser)(\..*)?$"),
    re.compile(r"^(Path|open_text|read_text|read_bytes)$"),
    re.compile(r"^(json|np|numpy|torch|cloudpickle)\.(load|loads|loadtxt|genfromtxt|fromfile|memmap)$"),
    re.compile(r"^(time|datetime|date)\.(time|now|today|utcnow|monotonic|perf_counter)$"),
    re.compile(r"^(datetime\.datetime|datetime\.date)\.(now|today|utcnow)$"),
    re.compile(r"^random\.[a-z_]+$"),
)


@dataclass
class Status:
    """The verdict on one notebook's lock."""

    notebook: str
    lock: str
    state: str = CURRENT
    stale: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.state == CURRENT else 1

    def reasons(self) -> list[str]:
        return self.stale if self.state == STALE else self.unknown

    def as_dict(self) -> dict[str, Any]:
        return {"notebook": self.notebook, "lock": self.lock, "state": self.state, "stale": self.stale,
                "cannot_tell": self.unknown, "checked": self.checked, "exit_code": self.exit_code}

    def line(self) -> str:
        """One line saying the verdict and, unless current, the first reason."""
        if self.state == CURRENT:
            return f"{self.notebook}: current ({'; '.join(self.checked)})"
        more = f" (+{len(self.reasons()) - 1} more)" if len(self.reasons()) > 1 else ""
        return f"{self.notebook}: {self.state}: {self.reasons()[0]}{more}"


def status(notebook: str | os.PathLike[str], lock_path: str | os.PathLike[str] | None = None,
           *, environment: bool = True) -> Status:
    """Whether the lock at *lock_path* (default: beside *notebook*) still describes it.

    Raises :class:`NotFoundError` when the notebook does not exist; a missing
    or unusable lock is a stale verdict, not an error.
    """
    nb = Path(notebook)
    if not nb.is_file():
        raise NotFoundError(f"{nb}: no such notebook")
    path = Path(lock_path) if lock_path is not None else lock_path_for(nb)
    result = Status(notebook=str(notebook), lock=str(path))
    try:
        lock = load_lock(path)
    except LockFileError as err:
        result.stale.append("no lock" if not path.exists() else f"the lock is unusable ({err})")
        result.state = STALE
        return result
    _notebook(lock, nb, result)
    base = nb.absolute().parent
    cells = [c for c in lock.get("cells", []) if "superseded_by" not in c]
    _reads(lock, cells, base, result)
    _imports(lock, base, result)
    if environment:
        _environment(lock, result)
    _cells(cells, base, result)
    result.state = STALE if result.stale else CANNOT_TELL if result.unknown else CURRENT
    return result


def _notebook(lock: dict[str, Any], nb: Path, result: Status) -> None:
    recorded = (lock.get("workflow") or {}).get("checksum")
    current = WorkflowTracker(nb).snapshot(None).get("checksum")
    if recorded is None:
        result.stale.append("the lock records no notebook checksum")
    elif recorded != current:
        result.stale.append(f"the notebook changed (checksum {recorded[:12]} recorded, {str(current)[:12]} now)")
    else:
        result.checked.append("notebook unchanged")


def _reads(lock: dict[str, Any], cells: list[dict[str, Any]], base: Path, result: Status) -> None:
    nodes = lock.get("nodes", {})
    seen: set[str] = set()
    files = 0
    for cell in cells:
        for nid in cell.get("nodes", ()):
            node = nodes.get(nid, {})
            if node.get("op") != "read" or nid in seen:
                continue
            seen.add(nid)
            if node.get("query") is not None:
                result.unknown.append(f"the SQL read {nid} ({_short(node['query'])}) can only be checked by "
                                      "running its query")
            elif node.get("url"):
                result.unknown.append(f"the read of {node['url']} can only be checked by fetching it")
            elif node.get("path"):
                files += 1
                source = Path(node["path"])
                source = source if source.is_absolute() else base / source
                if not source.exists():
                    result.stale.append(f"{node['path']} (read by {nid}) is gone")
                    continue
                content = describe_source(source, base).get("content")
                if content != node.get("content"):
                    result.stale.append(f"{node['path']} changed since it was read by {nid} (content "
                                        f"{str(node.get('content'))[9:21]} recorded, {str(content)[9:21]} now)")
    if files and not any("read by" in s for s in result.stale):
        result.checked.append(f"{files} read source{'s' if files != 1 else ''} unchanged")


def _imports(lock: dict[str, Any], base: Path, result: Status) -> None:
    """Each ``@import_…`` node's source lock still has the identity it was imported from."""
    for nid, node in sorted(lock.get("nodes", {}).items()):
        if node.get("op") != "import" or not isinstance(node.get("lock"), str):
            continue
        source = Path(node["lock"])
        source = source if source.is_absolute() else base / source
        try:
            identity = pack_identity(source) if is_pack(source) else load_lock(source).get("identity")
        except (LockFileError, PackError) as err:
            result.stale.append(f"the source of import {nid} ({node.get('name')}) is unusable: {err}")
            continue
        if identity != node.get("source"):
            result.stale.append(f"{node.get('name')} is imported from {node['lock']}, which changed since (identity "
                                f"{str(node.get('source'))[9:21]} imported, {str(identity)[9:21]} now)")
        else:
            result.checked.append(f"import of {node.get('name')} unchanged")


def _environment(lock: dict[str, Any], result: Status) -> None:
    env = lock.get("environment") or {}
    recorded_py = (env.get("python") or {}).get("version") if isinstance(env.get("python"), dict) else None
    changes = []
    if recorded_py and recorded_py != platform.python_version():
        changes.append(f"python {recorded_py} → {platform.python_version()}")
    packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
    if packages:
        installed = installed_packages()
        for name, version in sorted(packages.items()):
            have = installed.get(name)
            if have != version:
                changes.append(f"{name} {version} → {have or 'not installed'}")
    if changes:
        result.stale.append("the environment changed: " + ", ".join(changes[:5]) + (", …" if len(changes) > 5 else ""))
    elif packages or recorded_py:
        result.checked.append("environment unchanged")


def _cells(cells: list[dict[str, Any]], base: Path, result: Status) -> None:
    imported: set[str] = set()
    for cell in cells:
        imported |= _imported_names(cell.get("source", ""))
    for cell in cells:
        where = f"In [{cell.get('execution_count') or '?'}]"
        if cell.get("locked"):
            split = protocol.split_lock_header(cell["source"])
            why = outside_read(split[1] if split is not None else cell["source"])
            if why:
                result.unknown.append(f"locked cell {where} {why}, which the lock does not record")
        else:
            why = unlocked_could_read(cell.get("source", ""), imported, base)
            if why:
                result.unknown.append(f"unlocked cell {where} {why}, and could read inputs the lock does not record")


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _python_lines(source: str) -> tuple[str, str | None]:
    """The cell's Python with harmless magic lines blanked; the first other magic, if any."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) and not stripped.startswith("%%lock"):
            if HARMLESS_MAGICS.match(line):
                lines.append("")
                continue
            return "", stripped.split()[0]
        lines.append("" if stripped.startswith("%%lock") else line)
    return "\n".join(lines), None


def _imported_names(source: str) -> set[str]:
    code, _ = _python_lines(source)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in _executed(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def _dotted(func: ast.expr) -> str | None:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
        return ".".join(reversed(parts))
    return None


def _executed(tree: ast.AST) -> list[ast.AST]:
    """The nodes of *tree* that run when the cell runs: a function's or a
    lambda's body runs only when called (its decorators and defaults run now)."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo += [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]
        elif isinstance(node, ast.Lambda):
            todo += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
        else:
            todo += list(ast.iter_child_nodes(node))
    return out


def unlocked_could_read(source: str, imported: set[str], base: Path) -> str | None:
    """Why an unlocked cell could read what the lock does not record (None: it cannot)."""
    code, magic = _python_lines(source)
    if magic:
        return f"runs {magic}"
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "cannot be parsed"
    for node in _executed(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]):
                top = (alias.name or "").split(".")[0]
                if top and ((base / f"{top}.py").is_file() or (base / top / "__init__.py").is_file()):
                    return f"imports {top} from the notebook's folder"
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name is None:
                if isinstance(node.func, ast.Attribute):
                    continue  # a method of a value the cell computed
                return "calls a computed function"
            root = name.split(".")[0]
            if "." not in name and name in PURE_BUILTINS:
                continue
            if "." in name and root not in imported:
                continue  # a method of one of the notebook's own values
            return f"calls {name}()"
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom)):
            return "runs asynchronous code"
    return None


def outside_read(source: str) -> str | None:
    """Why a locked cell reads outside what the recorder intercepts (None: it does not)."""
    code, magic = _python_lines(source)
    if magic:
        return f"runs {magic}"
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None  # IPython syntax the lock records as it ran; its reads are intercepted
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
        elif isinstance(node, ast.Attribute) and _dotted(node) in ("os.environ", "sys.argv", "sys.stdin"):
            return f"reads {_dotted(node)}"
        if name and any(p.match(name) for p in _OUTSIDE_READS):
            return f"calls {name}()"
    return None


__all__ = ["status", "Status", "CURRENT", "STALE", "CANNOT_TELL", "unlocked_could_read", "outside_read"]
