"""Instantiate the program from `main` down and give every object p4c's name.

Naming (DESIGN "Naming rule"): top-level parser/control instances are named
by their type name, nested ones `<parent>.<instance name>`; tables, local
actions, extern instances and value sets `<block>.<local name>`; top-level
actions and externs keep their plain name. `@name("x")` replaces the local
name, `@name(".x")` is absolute.
"""

from __future__ import annotations

from softswitch.frontend import ast
from softswitch.frontend.errors import P4Error, Unsupported
from softswitch.frontend.keynames import key_name
from softswitch.frontend.typecheck import (
    TypeChecker,
    args_in_param_order,
    iter_calls,
    iter_exprs,
    type_str,
)

V1MODEL_ROLES = {
    "p": "parser",
    "vr": "verify_checksum",
    "ig": "ingress",
    "eg": "egress",
    "ck": "compute_checksum",
    "dep": "deparser",
}


def local_name(d: ast.Declaration) -> tuple[str, bool]:
    """The name a declaration contributes to qualified names, and whether it is absolute."""
    anno = ast.find_annotation(d.annotations, "name")
    if anno is not None and anno.args and isinstance(anno.args[0], ast.StringLit):
        n = anno.args[0].value
        if n.startswith("."):
            return n[1:], True
        return n, False
    return d.name, False


def qualify(prefix: str, d: ast.Declaration) -> str:
    n, absolute = local_name(d)
    if absolute or not prefix:
        return n
    return f"{prefix}.{n}"


_PREC = {
    "||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4, "|": 5, "^": 6,
    "&": 7, "<<": 8, ">>": 8, "++": 9, "+": 9, "-": 9, "|+|": 9, "|-|": 9, "*": 10, "/": 10,
    "%": 10,
}  # fmt: skip


def expr_text(e: ast.Expr | None, prec: int = 0) -> str:
    """An expression as p4c prints it in P4Info key names (e.g. `meta.x[15:0]`)."""
    if e is None:
        return "_"
    if isinstance(e, ast.PathExpr):
        return ("." if e.absolute else "") + e.name
    if isinstance(e, ast.Member):
        base = e.expr
        if isinstance(base, ast.TypeRef):
            return f"{base.name}.{e.name}"
        return f"{expr_text(base, 11)}.{e.name}"
    if isinstance(e, ast.IntLit):
        if e.width is not None:
            return f"{e.width}{'s' if e.signed else 'w'}{e.value}"
        return str(e.value)
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.StringLit):
        return '"' + e.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(e, ast.Slice):
        return f"{expr_text(e.expr, 11)}[{expr_text(e.hi)}:{expr_text(e.lo)}]"
    if isinstance(e, ast.Index):
        return f"{expr_text(e.expr, 11)}[{expr_text(e.index)}]"
    if isinstance(e, ast.Call):
        targs = ""
        if e.type_args:
            targs = "<" + ", ".join(typeref_text(t) for t in e.type_args) + ">"
        args = ", ".join(expr_text(a.expr) for a in e.args)
        return f"{expr_text(e.func, 11)}{targs}({args})"
    if isinstance(e, ast.Unary):
        return f"{e.op}{expr_text(e.expr, 11)}"
    if isinstance(e, ast.Cast):
        to = typeref_text(e.to) if e.to is not None else type_str(e.type)
        return f"({to}){expr_text(e.expr, 11)}"
    if isinstance(e, ast.Binary):
        p = _PREC.get(e.op, 0)
        s = f"{expr_text(e.left, p)} {e.op} {expr_text(e.right, p + 1)}"
        return f"({s})" if p < prec else s
    if isinstance(e, ast.Ternary):
        s = f"{expr_text(e.cond, 1)} ? {expr_text(e.then)} : {expr_text(e.other)}"
        return f"({s})" if prec > 0 else s
    if isinstance(e, ast.ListExpr):
        return "{ " + ", ".join(expr_text(i) for i in e.items) + " }"
    if isinstance(e, ast.TypeExpr) and e.ref is not None:
        return typeref_text(e.ref)
    return type(e).__name__


def typeref_text(t: ast.TypeRef) -> str:
    if t.name == "__stack__":
        inner = t.args[0]
        assert isinstance(inner, ast.TypeRef)
        return f"{typeref_text(inner)}[{expr_text(t.stack_size)}]"
    if t.name in ("bit", "int", "varbit") and t.args:
        a = t.args[0]
        return f"{t.name}<{expr_text(a) if isinstance(a, ast.Expr) else typeref_text(a)}>"
    if t.args:
        parts = [typeref_text(a) if isinstance(a, ast.TypeRef) else expr_text(a) for a in t.args]
        return f"{t.name}<{', '.join(parts)}>"
    return t.name


def _arg_value(e: ast.Expr | None, env: dict[str, object] | None) -> object:
    if e is None:
        return None
    if e.const is None and isinstance(e, ast.PathExpr) and env is not None:
        return env.get(e.name)
    return e.const


def _fold_args(
    args: list[ast.Arg],
    params: list[ast.Param],
    env: dict[str, object] | None = None,
    loc: ast.Loc = ast.NOLOC,
    what: str = "constructor",
) -> dict[str, object]:
    out: dict[str, object] = {}
    ordered = args_in_param_order(args, params, loc, what)
    for p, arg in zip(params, ordered, strict=True):
        if arg is None or arg.expr is None:
            out[p.name] = p.default.const if p.default is not None else None
        else:
            out[p.name] = _arg_value(arg.expr, env)
    return out


class Elaborator:
    def __init__(self, program: ast.Program, tc: TypeChecker) -> None:
        self.program = program
        self.tc = tc
        self.tables: list[ast.TableInstance] = []
        self.actions: dict[str, ast.ActionInstance] = {}
        self.externs: list[ast.ExternInstance] = []
        self.value_sets: list[ast.ValueSetInstance] = []
        self.digests: dict[str, ast.DigestInstance] = {}
        self.top_actions: dict[int, ast.ActionInstance] = {}
        self.top_externs: dict[int, ast.ExternInstance] = {}
        self.names: dict[str, object] = {}

    def run(self) -> ast.Elaborated:
        mains = [
            d
            for d in self.program.declarations
            if isinstance(d, ast.Instantiation) and d.name == "main"
        ]
        if not mains:
            raise P4Error(ast.NOLOC, "the program has no 'main' package instance")
        main = mains[0]
        pkg = main.resolved
        if not isinstance(pkg, ast.PackageT):
            raise P4Error(main.loc, "'main' must be an instance of a package")
        if pkg.name != "V1Switch":
            raise Unsupported(
                main.loc, f"architecture package {pkg.name} (only v1model's V1Switch)"
            )
        for d in self.program.declarations:
            if (
                isinstance(d, ast.Instantiation)
                and d is not main
                and isinstance(d.resolved, ast.ExternT)
            ):
                self.top_externs[id(d)] = self.extern_instance(qualify("", d), d)
        blocks: dict[str, ast.BlockInstance] = {}
        # parameter order, so `blocks` lists the roles the same way however main was written
        ordered = args_in_param_order(main.args, pkg.decl.params, main.loc, "package V1Switch")
        for arg, param in zip(ordered, pkg.decl.params, strict=True):
            assert arg is not None and arg.expr is not None
            role = V1MODEL_ROLES.get(param.name, param.name)
            e = arg.expr
            if isinstance(e, ast.Call) and isinstance(e.callee, ast.ParserDecl | ast.ControlDecl):
                decl = e.callee
                ctor = _fold_args(e.args, decl.ctor_params, None, e.loc, decl.name)
            elif isinstance(e, ast.PathExpr) and isinstance(e.decl, ast.Instantiation):
                t = e.decl.resolved
                assert isinstance(t, ast.ParserT | ast.ControlT)
                decl = t.decl  # type: ignore[assignment]
                ctor = _fold_args(e.decl.args, decl.ctor_params, None, e.decl.loc, decl.name)
            else:
                raise Unsupported(arg.loc, "this kind of package argument")
            blocks[role] = self.block(decl, qualify("", decl), ctor)
        h = pkg.type_args[0] if pkg.type_args else None
        m = pkg.type_args[1] if len(pkg.type_args) > 1 else None
        if not isinstance(h, ast.StructT):
            raise P4Error(
                main.loc, f"V1Switch's headers type H must be a struct, not {type_str(h)}"
            )
        if not isinstance(m, ast.StructT):
            raise P4Error(
                main.loc, f"V1Switch's metadata type M must be a struct, not {type_str(m)}"
            )
        ctrl: dict[str, ast.HeaderT] = {}
        for d in self.program.declarations:
            if isinstance(d, ast.HeaderDecl):
                anno = ast.find_annotation(d.annotations, "controller_header")
                if anno is not None and anno.args and isinstance(anno.args[0], ast.StringLit):
                    assert d.resolved is not None
                    ctrl[anno.args[0].value] = d.resolved
        return ast.Elaborated(
            program=self.program,
            arch="v1model",
            main=main,
            blocks=blocks,
            tables=self.tables,
            actions=list(self.actions.values()),
            externs=self.externs + list(self.top_externs.values()),
            value_sets=self.value_sets,
            digests=list(self.digests.values()),
            controller_headers=ctrl,
            headers_type=h,
            metadata_type=m,
        )

    def claim(self, qualname: str, obj: object, loc: ast.Loc) -> None:
        prev = self.names.get(qualname)
        # p4c lets actions share a name (P4Info then lists the first of them)
        both_actions = isinstance(prev, ast.ActionInstance) and isinstance(obj, ast.ActionInstance)
        if prev is not None and prev is not obj and not both_actions:
            raise P4Error(loc, f"two objects are both named '{qualname}' (check @name annotations)")
        self.names[qualname] = obj

    def extern_instance(
        self, qualname: str, d: ast.Instantiation, env: dict[str, object] | None = None
    ) -> ast.ExternInstance:
        t = d.resolved
        assert isinstance(t, ast.ExternT)
        ctors = [m for m in t.decl.methods if m.ret is None]
        what = f"constructor of {t.name}"
        args: list[object]
        if ctors:
            # The same overload the type checker picked; arguments go into its
            # parameter order, with defaults for the ones left out, so that
            # ctor_args lines up with ctor.params whether or not they were named.
            ctor = self.tc.pick_overload(ctors, d.args, d.loc, what)
            assert isinstance(ctor, ast.MethodDecl)
            ordered = args_in_param_order(d.args, ctor.params, d.loc, what)
            args = []
            for p, a in zip(ctor.params, ordered, strict=True):
                if a is None:
                    args.append(p.default.const if p.default is not None else None)
                else:
                    args.append(_arg_value(a.expr, env))
        else:
            args = [_arg_value(a.expr, env) for a in d.args]
        inst = ast.ExternInstance(qualname, d, t.decl, t.type_args, args)
        self.claim(qualname, inst, d.loc)
        return inst

    def block(
        self, decl: ast.ParserDecl | ast.ControlDecl, qualname: str, ctor: dict[str, object]
    ) -> ast.BlockInstance:
        b = ast.BlockInstance(qualname, decl, (), ctor)
        for d in decl.locals:
            if isinstance(d, ast.Instantiation):
                t = d.resolved
                if isinstance(t, ast.ExternT):
                    inst = self.extern_instance(qualify(qualname, d), d, ctor)
                    b.externs[d.name] = inst
                    self.externs.append(inst)
                elif isinstance(t, ast.ParserT | ast.ControlT):
                    child_decl = t.decl
                    assert isinstance(child_decl, ast.ParserDecl | ast.ControlDecl)
                    # a parser/control argument names an instance declared before it
                    # (or one this block was given): the child uses that instance
                    env = {**ctor, **b.children}
                    b.children[d.name] = self.block(
                        child_decl,
                        qualify(qualname, d),
                        _fold_args(d.args, child_decl.ctor_params, env, d.loc, child_decl.name),
                    )
            elif isinstance(d, ast.ActionDecl):
                ai = ast.ActionInstance(qualify(qualname, d), d, b)
                b.actions[d.name] = ai
                self.claim(ai.qualname, ai, d.loc)
                self.actions.setdefault(ai.qualname, ai)
            elif isinstance(d, ast.ValueSetDecl):
                vs = ast.ValueSetInstance(qualify(qualname, d), d, b)
                self.claim(vs.qualname, vs, d.loc)
                b.value_sets[d.name] = vs
                self.value_sets.append(vs)
        for d in decl.locals:
            if isinstance(d, ast.TableDecl):
                b.tables[d.name] = self.table(d, b)
        self.scan_calls(decl, b)
        return b

    def action_instance(self, decl: ast.ActionDecl, b: ast.BlockInstance) -> ast.ActionInstance:
        for ai in b.actions.values():
            if ai.decl is decl:
                return ai
        if id(decl) not in self.top_actions:
            ai = ast.ActionInstance(qualify("", decl), decl, None)
            self.claim(ai.qualname, ai, decl.loc)
            self.top_actions[id(decl)] = ai
        ai = self.top_actions[id(decl)]
        self.actions.setdefault(ai.qualname, ai)
        return ai

    def table(self, t: ast.TableDecl, b: ast.BlockInstance) -> ast.TableInstance:
        actions: list[ast.ActionInstance] = []
        for ref in t.actions:
            assert ref.decl is not None
            ai = self.action_instance(ref.decl, b)
            same = [x for x in actions if x.qualname == ai.qualname and x.decl is not ai.decl]
            if same:
                # p4c cannot tell them apart in one table
                raise P4Error(
                    ref.loc, f"two objects are both named '{ai.qualname}' (check @name annotations)"
                )
            actions.append(ai)
        ti = ast.TableInstance(qualify(b.qualname, t), t, b, actions, [key_name(k) for k in t.keys])
        self.claim(ti.qualname, ti, t.loc)
        for prop in t.properties:
            if prop.name in ("counters", "meters", "implementation") and isinstance(
                prop.value, ast.PathExpr
            ):
                inst = self.resolve_extern(prop.value, b)
                if prop.name == "counters":
                    ti.direct_counter = inst
                elif prop.name == "meters":
                    ti.direct_meter = inst
                else:
                    ti.implementation = inst
        self.tables.append(ti)
        return ti

    def resolve_extern(self, e: ast.PathExpr, b: ast.BlockInstance) -> ast.ExternInstance:
        d = e.decl
        assert isinstance(d, ast.Instantiation)
        for inst in b.externs.values():
            if inst.decl is d:
                return inst
        if id(d) in self.top_externs:
            return self.top_externs[id(d)]
        raise P4Error(e.loc, f"'{e.name}' is not an extern instance of this block")

    def scan_calls(self, decl: ast.ParserDecl | ast.ControlDecl, b: ast.BlockInstance) -> None:
        """Digest types, and top-level actions called directly."""
        for e in _all_exprs(decl):
            for c in iter_calls(e):
                callee = c.callee
                if isinstance(callee, ast.ExternFunctionDecl) and callee.name == "digest":
                    t = c.inferred_type_args.get("T")
                    if not isinstance(t, ast.StructT | ast.HeaderT):
                        raise Unsupported(
                            c.loc, "digest of a value that is not a named struct or header"
                        )
                    di = self.digests.get(t.name)
                    if di is None:
                        di = self.digests[t.name] = ast.DigestInstance(t.name, t)
                    elif di.type is not t:
                        raise P4Error(c.loc, f"two digest types are both named '{t.name}'")
                    di.calls.append(c)
                elif isinstance(callee, ast.ActionDecl) and callee not in [
                    a.decl for a in b.actions.values()
                ]:
                    self.action_instance(callee, b)
                elif (
                    isinstance(callee, ast.ParserDecl | ast.ControlDecl)
                    and isinstance(c.func, ast.Member)
                    and isinstance(c.func.expr, ast.PathExpr)
                    and c.func.expr.decl is callee
                    and callee.name not in b.children
                ):
                    # direct type invocation (spec 15.1): one instance, named after the
                    # type, as if declared last among the block's locals
                    block_t: ast.Type = (
                        ast.ControlT(callee.name, callee)
                        if isinstance(callee, ast.ControlDecl)
                        else ast.ParserT(callee.name, callee)
                    )
                    inst = ast.Instantiation(
                        c.loc,
                        callee.name,
                        type=ast.TypeRef(c.loc, callee.name, resolved=block_t),
                        resolved=block_t,
                    )
                    decl.locals.append(inst)
                    b.children[callee.name] = self.block(callee, f"{b.qualname}.{callee.name}", {})


def _all_exprs(decl: ast.ParserDecl | ast.ControlDecl) -> list[ast.Expr]:
    """Every top expression of a block's bodies, including top-level actions it uses."""
    out: list[ast.Expr] = []
    if isinstance(decl, ast.ControlDecl):
        for d in decl.locals:
            if isinstance(d, ast.ActionDecl | ast.VarDecl):
                stmt_exprs(d.body if isinstance(d, ast.ActionDecl) else d, out)
            elif isinstance(d, ast.TableDecl):
                for ref in d.actions:
                    if ref.decl is not None and ref.decl not in decl.locals:
                        stmt_exprs(ref.decl.body, out)
        stmt_exprs(decl.body, out)
    else:
        for d in decl.locals:
            if isinstance(d, ast.VarDecl):
                stmt_exprs(d, out)
        for st in decl.states:
            for s in st.stmts:
                stmt_exprs(s, out)
            if st.transition is not None and st.transition.select:
                out.extend(st.transition.select)
    seen: set[int] = set()
    k = 0
    while k < len(out):  # bodies of top-level actions called directly
        for x in iter_exprs(out[k]):
            if isinstance(x, ast.Call) and isinstance(x.callee, ast.ActionDecl):
                a = x.callee
                if id(a) not in seen and a not in getattr(decl, "locals", []):
                    seen.add(id(a))
                    stmt_exprs(a.body, out)
        k += 1
    return out


def stmt_exprs(s: ast.Stmt | ast.Declaration | None, out: list[ast.Expr]) -> None:
    if s is None:
        return
    if isinstance(s, ast.Assign):
        out.extend([s.lhs, s.rhs])
    elif isinstance(s, ast.CallStmt):
        out.append(s.call)
    elif isinstance(s, ast.If):
        out.append(s.cond)
        stmt_exprs(s.then, out)
        stmt_exprs(s.other, out)
    elif isinstance(s, ast.Block):
        for x in s.stmts:
            stmt_exprs(x, out)
    elif isinstance(s, ast.Switch):
        out.append(s.expr)
        for c in s.cases:
            stmt_exprs(c.body, out)
    elif isinstance(s, ast.Return) and s.expr is not None:
        out.append(s.expr)
    elif isinstance(s, ast.VarDecl) and s.init is not None:
        out.append(s.init)


def elaborate(program: ast.Program, tc: TypeChecker) -> ast.Elaborated:
    """Build the instance tree of a type-checked program."""
    return Elaborator(program, tc).run()
