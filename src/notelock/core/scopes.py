"""Which names a cell reads from the notebook's namespace when it runs.

A name is *read* when the code that runs now (the cell's module-level
statements, class bodies, comprehensions, decorators, default values and
annotations) loads it before the cell itself has certainly bound it. The
walk follows Python's evaluation order and scoping:

* a binding counts from the point it happens: ``x = f(x)`` reads ``x``,
  ``model = RF(); model.fit(X)`` does not read ``model``;
* a name bound on one branch only (``if``, a loop body, one ``except``
  handler, one ``case``) is not certainly bound after it;
* ``with … as``, ``except … as``, ``for`` targets, ``match`` captures and
  ``:=`` bind where Python binds them (``:=`` in a comprehension binds in
  the cell's scope); comprehension variables are their own;
* ``x += 1`` reads ``x``; ``del x`` unbinds it;
* function and lambda bodies run when called: their reads are *late* and
  come from :mod:`symtable` (see :func:`notelock.core.codeinfo.analyze`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Walk:
    def __init__(self) -> None:
        self.reads: dict[str, None] = {}

    # -- expressions -------------------------------------------------------
    def load(self, name: str, bound: set[str]) -> None:
        if name not in bound:
            self.reads.setdefault(name, None)

    def expr(self, node: ast.AST | None, bound: set[str], outer: set[str] | None = None) -> None:
        """Visit an expression; *outer* is the cell's scope when inside a comprehension."""
        if node is None:
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.load(node.id, bound)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value, bound, outer)
            bound.add(node.target.id)
            if outer is not None:
                outer.add(node.target.id)
            return
        if isinstance(node, ast.Lambda):
            self.arguments_now(node.args, bound)
            return
        if isinstance(node, _COMPREHENSIONS):
            self.comprehension(node, bound, outer)
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child, bound, outer)

    def comprehension(self, node: ast.AST, bound: set[str], outer: set[str] | None) -> None:
        generators = node.generators  # type: ignore[attr-defined]
        # the first iterable is evaluated where the comprehension stands
        self.expr(generators[0].iter, bound, outer)
        cell_scope = bound if outer is None else outer
        local = set(bound)
        for i, gen in enumerate(generators):
            if i:
                self.expr(gen.iter, local, cell_scope)
            self.bind_target(gen.target, local, cell_scope)
            for cond in gen.ifs:
                self.expr(cond, local, cell_scope)
        if isinstance(node, ast.DictComp):
            self.expr(node.key, local, cell_scope)
            self.expr(node.value, local, cell_scope)
        else:
            self.expr(node.elt, local, cell_scope)  # type: ignore[attr-defined]
        # a := inside bound in the cell's scope (already added to it)

    def arguments_now(self, args: ast.arguments, bound: set[str]) -> None:
        for default in (*args.defaults, *[d for d in args.kw_defaults if d is not None]):
            self.expr(default, bound)

    def annotations_now(self, args: ast.arguments, returns: ast.AST | None, bound: set[str]) -> None:
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self.expr(arg.annotation, bound)
        self.expr(returns, bound)

    # -- targets -------------------------------------------------------------
    def bind_target(self, target: ast.AST, bound: set[str], outer: set[str] | None = None) -> None:
        if isinstance(target, ast.Name):
            bound.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.bind_target(elt, bound, outer)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, bound, outer)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, bound, outer)  # obj.attr = … loads obj
        elif isinstance(target, ast.Subscript):
            self.expr(target.value, bound, outer)
            self.expr(target.slice, bound, outer)

    # -- statements ------------------------------------------------------------
    def block(self, body: Iterable[ast.stmt], bound: set[str], annotations: bool = True) -> set[str]:
        for stmt in body:
            bound = self.stmt(stmt, bound, annotations)
        return bound

    def stmt(self, node: ast.stmt, bound: set[str], annotations: bool) -> set[str]:
        if isinstance(node, ast.Assign):
            self.expr(node.value, bound)
            for target in node.targets:
                self.bind_target(target, bound)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.load(node.target.id, bound)
            self.expr(node.value, bound)
            self.bind_target(node.target, bound)
        elif isinstance(node, ast.AnnAssign):
            if annotations:
                self.expr(node.annotation, bound)
            if node.value is not None:
                self.expr(node.value, bound)
                self.bind_target(node.target, bound)
            elif not isinstance(node.target, ast.Name):
                self.bind_target(node.target, bound)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                self.expr(dec, bound)
            self.arguments_now(node.args, bound)
            if annotations:
                self.annotations_now(node.args, node.returns, bound)
            bound.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for dec in node.decorator_list:
                self.expr(dec, bound)
            for base in (*node.bases, *[k.value for k in node.keywords]):
                self.expr(base, bound)
            # the class body runs now, in its own namespace, falling back to the cell's
            self.block(node.body, set(bound), annotations)
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter, bound)
            inside = set(bound)
            self.bind_target(node.target, inside)
            self.block(node.body, inside, annotations)
            bound = self.block(node.orelse, set(bound), annotations)
        elif isinstance(node, ast.While):
            self.expr(node.test, bound)
            self.block(node.body, set(bound), annotations)
            bound = self.block(node.orelse, set(bound), annotations)
        elif isinstance(node, ast.If):
            self.expr(node.test, bound)
            yes = self.block(node.body, set(bound), annotations)
            no = self.block(node.orelse, set(bound), annotations)
            bound = yes & no
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr, bound)
                if item.optional_vars is not None:
                    self.bind_target(item.optional_vars, bound)
            bound = self.block(node.body, bound, annotations)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            bound = self.try_stmt(node, bound, annotations)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.discard(target.id)
                else:
                    self.bind_target(target, bound)
        elif isinstance(node, getattr(ast, "Match", ())):
            self.expr(node.subject, bound)  # type: ignore[attr-defined]
            for case in node.cases:  # type: ignore[attr-defined]
                inside = set(bound)
                self.pattern(case.pattern, inside)
                self.expr(case.guard, inside)
                self.block(case.body, inside, annotations)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        else:  # Expr, Return, Raise, Assert and the like: their expressions
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, bound)
        return bound

    def try_stmt(self, node: Any, bound: set[str], annotations: bool) -> set[str]:
        """``try`` (and ``try*``): what is certainly bound after it."""
        after_body = self.block(node.body, set(bound), annotations)
        ends = [self.block(node.orelse, set(after_body), annotations)]
        for handler in node.handlers:
            self.expr(handler.type, bound)
            inside = set(bound)
            if handler.name:
                inside.add(handler.name)
            inside = self.block(handler.body, inside, annotations)
            inside.discard(handler.name or "")  # Python deletes it after the handler
            ends.append(inside)
        return self.block(node.finalbody, set.intersection(*ends), annotations)

    def pattern(self, node: ast.AST, bound: set[str]) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.expr):  # MatchValue(value=Color.RED) loads Color
                self.expr(sub, bound)
            name = getattr(sub, "name", None) if type(sub).__name__ in ("MatchAs", "MatchStar") else None
            rest = getattr(sub, "rest", None) if type(sub).__name__ == "MatchMapping" else None
            for n in (name, rest):
                if isinstance(n, str):
                    bound.add(n)


def cell_reads(tree: ast.Module) -> list[str]:
    """Names the cell loads from the notebook's namespace when it runs, in order."""
    walk = _Walk()
    future = any(isinstance(s, ast.ImportFrom) and s.module == "__future__"
                 and any(a.name == "annotations" for a in s.names) for s in tree.body)
    walk.block(tree.body, set(), annotations=not future)
    return list(walk.reads)


__all__ = ["cell_reads"]
