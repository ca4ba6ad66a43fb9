"""Static facts about a cell's code: which top-level names it reads and binds,
and which notebook-defined functions and classes it depends on.

This runs on every executed cell, so it relies on :mod:`symtable` (one parse,
scopes already resolved by CPython's own compiler) instead of hand-written AST
scope analysis. Code that does not parse yields empty facts, never an error.
"""

from __future__ import annotations

import ast
import builtins
import symtable
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import scopes

_BUILTINS = frozenset(dir(builtins))
NOTEBOOK_MODULE = "__main__"


@dataclass(frozen=True)
class CodeFacts:
    """Top-level names a piece of code reads and binds."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    parsed: bool = True
    #: globals referenced only inside function and lambda bodies: read when
    #: (and if) the function is called, possibly long after the cell ran
    late_reads: tuple[str, ...] = ()


def analyze(code: str) -> CodeFacts:
    """Names *code* (plain Python, IPython syntax already transformed) reads and binds.

    Reads are the names the code that runs now loads from the notebook's
    namespace before binding them itself (:mod:`notelock.core.scopes`,
    builtins excluded); late reads are globals referenced inside function and
    lambda bodies (read when called); writes are names bound at module level
    (assignments, imports, ``def``/``class``, ``for`` targets, ``global``
    assignments in functions). Scopes come from CPython's :mod:`symtable`.
    """
    try:
        table = symtable.symtable(code, "<cell>", "exec")
        tree = ast.parse(code)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return CodeFacts(parsed=False)
    writes: dict[str, None] = {}
    late: dict[str, None] = {}
    defined = {child.get_name() for child in table.get_children()
               if child.get_type() in ("function", "class")}
    for sym in table.get_symbols():
        name = sym.get_name()
        if sym.is_assigned() or sym.is_imported() or name in defined:
            writes.setdefault(name, None)
    # immediate scopes (comprehensions, class bodies) are read by the flow walk
    _walk_children(table, {}, writes, late, immediate=True)
    try:
        reads = [n for n in scopes.cell_reads(tree) if n not in _BUILTINS]
    except RecursionError:
        return CodeFacts(parsed=False)
    # `global x; x += 1` in a function reads x when it is called
    for name in _augassign_reads(tree)[1]:
        late.setdefault(name, None)
    late_only = tuple(n for n in late if n not in reads)
    return CodeFacts(reads=tuple(reads), writes=tuple(writes), late_reads=late_only)


_IMMEDIATE_SCOPES = ("listcomp", "setcomp", "dictcomp", "genexpr")


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _own_statements(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of *body* that runs in *body*'s own scope (nested function,
    lambda and class bodies left out; their decorators, defaults and bases,
    which run here, kept)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(node.decorator_list)
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.ClassDef):
            stack.extend(node.decorator_list)
            stack.extend(node.bases)
            stack.extend(k.value for k in node.keywords)
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def _augassign_reads(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names ``x += …`` reads from the notebook's namespace: (when the cell runs,
    when a function defined in it is called)."""
    now: set[str] = set()
    later: set[str] = set()

    def scope(body: list[ast.stmt], kind: str) -> None:
        nodes = _own_statements(body)
        declared = {n for node in nodes if isinstance(node, ast.Global) for n in node.names}
        bound: set[str] = set()  # class body: names it bound so far (then x += 1 is the class's own)
        for node in nodes:
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
                if name in _BUILTINS and kind != "function":
                    pass
                elif kind == "module" or (kind == "class" and name not in bound):
                    now.add(name)
                elif kind == "function" and name in declared:
                    later.add(name)
            if kind == "class" and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if kind == "class":
                    bound.add(node.name)
                scope(node.body, "function")
            elif isinstance(node, ast.ClassDef):
                if kind == "class":
                    bound.add(node.name)
                scope(node.body, "class" if kind != "function" else "nested-class")
            elif isinstance(node, ast.Lambda):
                pass  # a lambda holds no statement

    scope(tree.body, "module")
    return now, later


def _walk_children(table: symtable.SymbolTable, reads: dict, writes: dict, late: dict,
                   immediate: bool) -> None:
    for child in table.get_children():
        kind = child.get_type()
        # class bodies and comprehensions run where they stand; function and
        # lambda bodies run when called
        runs_now = immediate and (kind == "class" or child.get_name() in _IMMEDIATE_SCOPES)
        target = reads if runs_now else late
        for sym in child.get_symbols():
            name = sym.get_name()
            if sym.is_global() or (kind == "class" and not sym.is_local() and not sym.is_free()):
                if sym.is_referenced() and name not in _BUILTINS:
                    target.setdefault(name, None)
                if sym.is_declared_global() and sym.is_assigned():
                    writes.setdefault(name, None)
        _walk_children(child, reads, writes, late, runs_now)


def is_notebook_defined(obj: Any) -> bool:
    """True for functions and classes defined in the notebook itself (``__main__``)."""
    if isinstance(obj, (types.FunctionType, type)):
        return getattr(obj, "__module__", None) == NOTEBOOK_MODULE
    return False


def _code_global_names(code: types.CodeType) -> Iterable[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_global_names(const)


def _referenced_names(obj: Any) -> Iterable[str]:
    if isinstance(obj, types.FunctionType):
        yield from _code_global_names(obj.__code__)
        for default in (obj.__defaults__ or ()):
            if is_notebook_defined(default):
                yield default.__name__
    elif isinstance(obj, type):
        for base in obj.__mro__[1:]:
            if is_notebook_defined(base):
                yield base.__name__
        for attr in vars(obj).values():
            func = getattr(attr, "__func__", attr)  # staticmethod / classmethod
            if isinstance(func, property):
                for f in (func.fget, func.fset, func.fdel):
                    if isinstance(f, types.FunctionType):
                        yield from _code_global_names(f.__code__)
            elif isinstance(func, types.FunctionType):
                yield from _code_global_names(func.__code__)


def notebook_dependencies(names: Iterable[str], namespace: dict[str, Any]) -> dict[str, Any]:
    """Notebook-defined functions/classes reachable from *names*, transitively.

    Follows the global names each function's code refers to (and the methods
    and bases of classes), so editing a helper three calls deep still shows
    up in every cell that reaches it. Returns name → object.
    """
    found: dict[str, Any] = {}
    stack = [n for n in names if is_notebook_defined(namespace.get(n))]
    while stack:
        name = stack.pop()
        if name in found:
            continue
        obj = namespace.get(name)
        if not is_notebook_defined(obj):
            continue
        found[name] = obj
        for ref in _referenced_names(obj):
            if ref not in found and is_notebook_defined(namespace.get(ref)):
                stack.append(ref)
    return dict(sorted(found.items()))


def code_uses(names: Iterable[str], namespace: dict[str, Any],
              hasher: Callable[[Any], str | None]) -> dict[str, str]:
    """name → code hash of the notebook-defined functions/classes *names* reach."""
    out: dict[str, str] = {}
    for name, obj in notebook_dependencies(names, namespace).items():
        digest = hasher(obj)
        if digest is not None:
            out[name] = digest
    return out


def last_call_assignment(code: str) -> tuple[str, str | None, str] | None:
    """``(target, base, function)`` when the last top-level statement is
    ``target = base.function(…)`` or ``target = function(…)``: then nothing
    runs between that call returning and the cell ending except the binding."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return None
    if not tree.body:
        return None
    last = tree.body[-1]
    if not isinstance(last, ast.Assign) or len(last.targets) != 1 or not isinstance(last.targets[0], ast.Name):
        return None
    call = last.value
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return last.targets[0].id, func.value.id, func.attr
    if isinstance(func, ast.Name):
        return last.targets[0].id, None, func.id
    return None


# ---------------------------------------------------------------- notebook parameters

#: the first line of the cell papermill injects with a run's parameters
PAPERMILL_HEADER = "# Parameters"


def injected_parameters(source: str) -> dict[str, Any] | None:
    """The parameters of a papermill run, when *source* is the cell papermill
    injected (``# Parameters`` then ``name = literal`` lines), else None."""
    lines = source.lstrip().splitlines()
    if not lines or lines[0].strip() != PAPERMILL_HEADER:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    params: dict[str, Any] = {}
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            return None
        try:
            params[stmt.targets[0].id] = ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            params[stmt.targets[0].id] = ast.unparse(stmt.value)
    return params


# ---------------------------------------------------------------- clocks

#: functions that read a clock, by name (``time.perf_counter``, ``datetime.now``…)
CLOCK_FUNCTIONS = frozenset({"time", "perf_counter", "monotonic", "process_time", "thread_time", "time_ns",
                             "perf_counter_ns", "monotonic_ns", "process_time_ns", "now", "utcnow", "today",
                             "default_timer"})
#: the modules and classes they are reached through
CLOCK_OWNERS = frozenset({"time", "datetime", "date", "dt", "Timestamp", "pd", "pandas", "timeit"})


def _is_clock_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in CLOCK_FUNCTIONS:
        root: ast.AST = func.value
        while isinstance(root, ast.Attribute):
            if root.attr in CLOCK_OWNERS:
                return True
            root = root.value
        return isinstance(root, ast.Name) and root.id in CLOCK_OWNERS
    # `from time import perf_counter`: a bare call (not `now()`/`today()`, too common as names)
    return isinstance(func, ast.Name) and func.id in CLOCK_FUNCTIONS - {"now", "today"}


def _derived(expr: ast.AST | None, derived: set[str]) -> bool:
    if expr is None:
        return False
    for node in ast.walk(expr):
        if _is_clock_call(node) or (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                                    and node.id in derived):
            return True
    return False


def _target_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def clock_derived(code: str, seeds: Iterable[str] = ()) -> set[str]:
    """Names the cell binds at module level to values computed from a clock
    (``t0 = time.perf_counter()``, ``elapsed = time.perf_counter() - t0``), in
    statement order; *seeds* are names earlier cells bound that way."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    derived = set(seeds)
    for node in _own_statements(tree.body):
        if isinstance(node, ast.Assign):
            names = [n for t in node.targets for n in _target_names(t)]
            value = node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            names, value = _target_names(node.target), node.value
        elif isinstance(node, ast.AugAssign):
            names, value = _target_names(node.target), node.value
            if any(n in derived for n in names):
                continue  # total += … keeps a clock-derived total clock-derived
        elif isinstance(node, ast.NamedExpr):
            names, value = _target_names(node.target), node.value
        else:
            continue
        if _derived(value, derived):
            derived.update(names)
        else:
            derived.difference_update(names)
    return derived
