"""Constant branches removed from the program, as p4c's frontend removes them.

`if (true) A else B` becomes `A`, `if (false) A` an empty statement, and
`true ? a : b` becomes `a` (where `a` already has the expression's type). Code in
a removed branch never runs, so this changes no behaviour; it matters because
p4c drops the tables and actions such code alone uses from the P4Info, and the
engine must then not meet them either.
"""

from __future__ import annotations

import dataclasses

from softswitch.frontend import ast

# Fields that point at declarations or types rather than owning a subtree.
_NOT_CHILDREN = frozenset(
    {"decl", "type", "resolved", "callee", "inferred_type_args", "const", "loc", "owner"}
)


def fold_constant_branches(program: ast.Program) -> None:
    """Rewrite, in place, every control, action and function body of `program`."""
    for d in program.declarations:
        if isinstance(d, ast.ControlDecl):
            for local in d.locals:
                if isinstance(local, ast.ActionDecl | ast.FunctionDecl):
                    _fold(local)
            if d.body is not None:
                _fold(d.body)
        elif isinstance(d, ast.ActionDecl | ast.FunctionDecl):
            _fold(d)


def _replace(node: object) -> object:
    if isinstance(node, ast.If) and isinstance(node.cond.const, bool):
        taken = node.then if node.cond.const else node.other
        return _replace(taken) if taken is not None else ast.Empty(node.loc)
    if (
        isinstance(node, ast.Ternary)
        and node.cond is not None
        and isinstance(node.cond.const, bool)
    ):
        branch = node.then if node.cond.const else node.other
        if branch is not None and branch.type == node.type:
            return _replace(branch)
    _fold(node)
    return node


def _fold(node: object) -> None:
    if not dataclasses.is_dataclass(node) or isinstance(node, type | ast.TypeRef):
        return
    for f in dataclasses.fields(node):
        if f.name in _NOT_CHILDREN:
            continue
        value = getattr(node, f.name)
        if isinstance(value, list):
            value[:] = [_replace(v) for v in value]
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            setattr(node, f.name, _replace(value))


def drop_unapplied_instances(e: ast.Elaborated) -> None:
    """Remove from `e` the nested parser/control instances nobody applies, with what
    they hold (p4c removes them, so their tables and externs are not in its P4Info).

    An instance is applied if a kept block's body names it, or if it was passed as a
    constructor argument to a kept block whose body applies that parameter (the
    block uses the instance it was given, declared in an enclosing block)."""
    kept: list[ast.BlockInstance] = []
    kept_ids: set[int] = set()
    stack = list(e.blocks.values())
    while stack:
        b = stack.pop()
        if id(b) in kept_ids:
            continue
        kept.append(b)
        kept_ids.add(id(b))
        code: object = b.decl.body if isinstance(b.decl, ast.ControlDecl) else b.decl.states
        paths = _paths(code)
        stack.extend(
            b.children[n.name]
            for n in paths
            # an instance by name, or a type applied directly (`T.apply()`: one instance
            # named T)
            if n.name in b.children
            and isinstance(n.decl, ast.Instantiation | ast.ParserDecl | ast.ControlDecl)
        )
        named = {n.name for n in paths}
        stack.extend(
            v
            for pname, v in b.ctor_args.items()
            if isinstance(v, ast.BlockInstance) and pname in named
        )
    for b in kept:
        for name, child in list(b.children.items()):
            if id(child) not in kept_ids:
                del b.children[name]
    blocks = kept_ids
    externs = {id(x) for b in kept for x in b.externs.values()}
    top_level = {id(d) for d in e.program.declarations}
    e.externs[:] = [x for x in e.externs if id(x) in externs or id(x.decl) in top_level]
    e.actions[:] = [a for a in e.actions if a.owner is None or id(a.owner) in blocks]
    e.value_sets[:] = [v for v in e.value_sets if id(v.owner) in blocks]


def drop_unapplied_tables(e: ast.Elaborated) -> None:
    """Remove from `e` the tables no control applies (p4c removes them, and with
    them their P4Info entries); what is left is what the engine must build."""
    kept: set[int] = set()
    stack = list(e.blocks.values())
    while stack:
        b = stack.pop()
        stack.extend(b.children.values())
        if not isinstance(b.decl, ast.ControlDecl):
            continue
        named = {n.name for n in _paths(b.decl.body)}
        for name, ti in list(b.tables.items()):
            if name in named:
                kept.add(id(ti))
            else:
                del b.tables[name]
    e.tables[:] = [t for t in e.tables if id(t) in kept]


def _paths(node: object) -> list[ast.PathExpr]:
    out: list[ast.PathExpr] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, ast.PathExpr):
            out.append(cur)
        if isinstance(cur, list | tuple):  # e.g. a parser's states
            stack.extend(cur)
            continue
        if not dataclasses.is_dataclass(cur) or isinstance(cur, type | ast.TypeRef):
            continue
        for f in dataclasses.fields(cur):
            if f.name in _NOT_CHILDREN:
                continue
            value = getattr(cur, f.name)
            if isinstance(value, list | tuple):
                stack.extend(value)
            elif value is not None:
                stack.append(value)
    return out
