"""Control-plane names of table keys, by p4c's rules (frontends' TableKeyNames).

A key without `@name` is named after its expression when the expression is
one of: a name, a field (`@name` of the field if it has one; `$valid$` for
`isValid()` on a header or header union), a stack element with a constant
index, a slice, an integer literal (written in its source base, without
width), `a & b` of nameable operands, and `h.isValid()`. Any other key
expression needs a `@name`: p4c refuses the program otherwise, and so do we.
"""

from __future__ import annotations

from softswitch.frontend import ast
from softswitch.frontend.errors import P4Error

COMPLEX_KEY = "Complex key expression requires a @name annotation"
VALID = "$valid$"


def key_name(k: ast.KeyElement) -> str:
    """The P4Info match-field name of key `k`; P4Error if it needs a `@name`."""
    anno = ast.find_annotation(k.annotations, "name")
    if anno is not None and anno.args and isinstance(anno.args[0], ast.StringLit):
        return anno.args[0].value
    return _name(k.expr)


def int_text(e: ast.IntLit) -> str:
    """An integer literal as p4c prints a constant: its base, no width."""
    prefix = {16: "0x", 8: "0o", 2: "0b"}.get(e.base, "")
    digits = {16: "x", 8: "o", 2: "b"}.get(e.base, "d")
    sign = "-" if e.value < 0 else ""
    return sign + prefix + format(abs(e.value), digits)


def _name(e: ast.Expr | None) -> str:
    if isinstance(e, ast.PathExpr):
        return ("." if e.absolute else "") + e.name
    if isinstance(e, ast.Member) and e.expr is not None and not isinstance(e.expr, ast.TypeRef):
        member = _member_name(e)
        if member.startswith("."):
            return member[1:]
        return f"{_name(e.expr)}.{member}"
    if isinstance(e, ast.Index) and e.index is not None:
        return f"{_name(e.expr)}[{_name(e.index)}]"
    if isinstance(e, ast.IntLit):
        return int_text(e)
    if isinstance(e, ast.Slice):
        return f"{_name(e.expr)}[{_name(e.hi)}:{_name(e.lo)}]"
    if isinstance(e, ast.Binary) and e.op == "&":
        return f"{_name(e.left)} & {_name(e.right)}"
    if isinstance(e, ast.Call) and not e.args and isinstance(e.func, ast.Member):
        method = _name(e.func)
        if method.endswith(VALID):
            return method
    raise P4Error(e.loc if e is not None else ast.NOLOC, COMPLEX_KEY)


def _member_name(e: ast.Member) -> str:
    base = e.expr.type if isinstance(e.expr, ast.Expr) else None
    if isinstance(base, ast.HeaderT | ast.HeaderUnionT) and e.name == "isValid":
        return VALID
    if isinstance(base, ast.HeaderT | ast.HeaderUnionT | ast.StructT) and base.decl is not None:
        for f in base.decl.fields:
            if f.name == e.name:
                external = ast.find_annotation(f.annotations, "name")
                if external is not None and external.args:
                    arg = external.args[0]
                    if isinstance(arg, ast.StringLit):
                        return arg.value
    return e.name
