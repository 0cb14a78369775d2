"""Name resolution and type checking of a parsed P4_16 program.

Fills `Expr.type` for every expression, `Expr.const` for compile-time
constants (folded with the wrap-around of their type), `PathExpr.decl`,
`Member.kind`, `Call.callee`/`inferred_type_args`, `TypeRef.resolved`,
`*Decl.resolved` and `ActionRef.decl`.

Conventions for the later stages:
- An unsized integer constant used where bit<W>/int<W> is expected gets that
  type (P4's only implicit cast), with `const` reduced to the width: bit<W>
  values are unsigned, int<W> values are signed Python ints.
- Whenever `Expr.const` is not None it is the value of the whole expression.
- A serializable enum used where its underlying type is expected is wrapped
  in an implicit `Cast`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from softswitch.frontend import ast
from softswitch.frontend.ast import (
    ApplyResultT,
    BitT,
    BoolT,
    ControlT,
    DontCareT,
    EnumT,
    ErrorT,
    ExternT,
    FunctionT,
    HeaderT,
    HeaderUnionT,
    InfIntT,
    Loc,
    MatchKindT,
    NewTypeT,
    PackageT,
    ParserT,
    StackT,
    StringT,
    StructT,
    TableT,
    TupleT,
    Type,
    TypeVarT,
    VoidT,
)
from softswitch.frontend.errors import P4Error, Unsupported

INFINT = InfIntT()
BOOL = BoolT()
VOID = VoidT()
STRING = StringT()
ERROR = ErrorT()
DONTCARE = DontCareT()
U32 = BitT(32)


def type_str(t: Type | None) -> str:
    """A type as P4 source writes it (for messages and key names)."""
    if t is None:
        return "<unknown>"
    if isinstance(t, BitT):
        return f"{'int' if t.signed else 'bit'}<{t.width}>"
    if isinstance(t, InfIntT):
        return "int"
    if isinstance(t, BoolT):
        return "bool"
    if isinstance(t, StringT):
        return "string"
    if isinstance(t, VoidT):
        return "void"
    if isinstance(t, ErrorT):
        return "error"
    if isinstance(t, MatchKindT):
        return "match_kind"
    if isinstance(t, DontCareT):
        return "_"
    if isinstance(t, StackT):
        return f"{type_str(t.elem)}[{t.size}]"
    if isinstance(t, TupleT):
        return "tuple<" + ", ".join(type_str(e) for e in t.elems) + ">"
    if isinstance(t, HeaderT):
        return f"header {t.name}"
    if isinstance(t, HeaderUnionT):
        return f"header_union {t.name}"
    if isinstance(t, StructT):
        return f"struct {t.name}"
    if isinstance(t, EnumT):
        return f"enum {t.name}"
    if isinstance(t, ExternT | ParserT | ControlT | PackageT):
        if t.type_args:
            return f"{t.name}<{', '.join(type_str(a) for a in t.type_args)}>"
        return t.name
    if isinstance(t, NewTypeT | TypeVarT):
        return t.name
    if isinstance(t, TableT):
        return f"table {t.decl.name}"
    if isinstance(t, ApplyResultT):
        return f"apply result of table {t.table.name}"
    if isinstance(t, ast.ActionEnumT):
        return f"action_run of table {t.table.name}"
    if isinstance(t, FunctionT):
        return f"function {t.decl.name}"
    return type(t).__name__


def same_type(a: Type | None, b: Type | None) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    if isinstance(a, BitT | InfIntT | BoolT | StringT | VoidT | ErrorT | MatchKindT | DontCareT):
        return a == b
    if isinstance(a, StackT) and isinstance(b, StackT):
        return a.size == b.size and same_type(a.elem, b.elem)
    if isinstance(a, TupleT) and isinstance(b, TupleT):
        return len(a.elems) == len(b.elems) and all(
            same_type(x, y) for x, y in zip(a.elems, b.elems, strict=True)
        )
    if isinstance(a, ExternT | ParserT | ControlT | PackageT) and type(a) is type(b):
        assert isinstance(b, ExternT | ParserT | ControlT | PackageT)
        return (
            a.decl is b.decl
            and len(a.type_args) == len(b.type_args)
            and all(same_type(x, y) for x, y in zip(a.type_args, b.type_args, strict=True))
        )
    return False


def is_int_type(t: Type | None) -> bool:
    return isinstance(t, BitT | InfIntT)


def wrap(value: int, t: Type | None) -> int:
    """Reduce an integer to the range of bit<W>/int<W> (no-op for unsized)."""
    if isinstance(t, NewTypeT):
        return wrap(value, t.base)
    if not isinstance(t, BitT):
        return value
    v = value & ((1 << t.width) - 1)
    if t.signed and t.width > 0 and v >> (t.width - 1):
        v -= 1 << t.width
    return v


def header_width(t: Type) -> int:
    if isinstance(t, HeaderT | StructT):
        return sum(header_width(ft) for _, ft in t.fields)
    if isinstance(t, HeaderUnionT):
        return max((header_width(ft) for _, ft in t.fields), default=0)
    if isinstance(t, StackT):
        return header_width(t.elem) * t.size
    if isinstance(t, ast.VarbitT):
        return 0
    return ast.type_width(t)


class _TypeParamEntry:
    """A type parameter in scope (bound to a TypeVarT or a substituted type)."""

    __slots__ = ("type",)

    def __init__(self, t: Type) -> None:
        self.type = t


Entity = object


class Scope:
    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.names: dict[str, list[Entity]] = {}

    def lookup(self, name: str) -> list[Entity] | None:
        s: Scope | None = self
        while s is not None:
            found = s.names.get(name)
            if found:
                return found
            s = s.parent
        return None

    def root(self) -> Scope:
        s = self
        while s.parent is not None:
            s = s.parent
        return s


_OVERLOADABLE = (ast.ExternFunctionDecl, ast.FunctionDecl, ast.MethodDecl)
_TYPE_DECLS = (
    ast.HeaderDecl,
    ast.HeaderUnionDecl,
    ast.StructDecl,
    ast.TypedefDecl,
    ast.EnumDecl,
    ast.ExternDecl,
    ast.ParserDecl,
    ast.ParserTypeDecl,
    ast.ControlDecl,
    ast.ControlTypeDecl,
    ast.PackageDecl,
)


def _entity_loc(e: Entity) -> Loc:
    loc = getattr(e, "loc", None)
    return loc if isinstance(loc, Loc) else ast.NOLOC


@dataclass
class _Ctx:
    """Where statements are being checked."""

    kind: str  # "action", "control", "parser", "function"
    ret: Type = field(default_factory=VoidT)
    control: ast.ControlDecl | None = None
    parser: ast.ParserDecl | None = None


class TypeChecker:
    def __init__(self, program: ast.Program) -> None:
        self.program = program
        self.top = Scope()
        self.tvars: dict[int, dict[str, TypeVarT]] = {}  # id(generic decl) -> its type vars
        self.match_kinds: set[str] = set()
        self.errors: list[str] = []

    # ================================================================== driver

    def check(self) -> None:
        for d in self.program.declarations:
            self.check_top(d)

    def declare(self, scope: Scope, name: str, ent: Entity, loc: Loc) -> None:
        prev = scope.names.get(name)
        if prev:
            if isinstance(ent, _OVERLOADABLE) and all(isinstance(p, _OVERLOADABLE) for p in prev):
                n = len(_params_of(ent))
                if all(len(_params_of(p)) != n for p in prev):
                    prev.append(ent)
                    return
            raise P4Error(
                loc,
                f"'{name}' is already declared (previous declaration at {_entity_loc(prev[0])})",
            )
        scope.names[name] = [ent]

    def check_top(self, d: ast.Declaration) -> None:
        s = self.top
        if isinstance(d, ast.ErrorDecl):
            for m in d.members:
                if m in self.errors:
                    raise P4Error(d.loc, f"error '{m}' is already declared")
                self.errors.append(m)
            return
        if isinstance(d, ast.MatchKindDecl):
            for m in d.members:
                if m in self.match_kinds:
                    raise P4Error(d.loc, f"match_kind '{m}' is already declared")
                self.match_kinds.add(m)
            return
        if isinstance(d, (*_TYPE_DECLS, ast.ExternFunctionDecl, ast.FunctionDecl)):
            self.declare(s, d.name, d, d.loc)
        self.check_decl(d, s, None)

    # ================================================================== declarations

    def check_decl(self, d: ast.Declaration, scope: Scope, ctx: _Ctx | None) -> None:
        if isinstance(d, ast.HeaderDecl):
            self.header_type(d, scope)
        elif isinstance(d, ast.StructDecl):
            self.struct_type(d, scope)
        elif isinstance(d, ast.HeaderUnionDecl):
            self.union_type(d, scope)
        elif isinstance(d, ast.TypedefDecl):
            base = self.resolve(d.type, scope)
            if d.is_newtype:
                if not isinstance(base, BitT | BoolT | NewTypeT):
                    raise P4Error(
                        d.type.loc, f"'type' needs bit<W>, int<W> or bool, not {type_str(base)}"
                    )
                d.resolved = NewTypeT(d.name, base, d)
            else:
                d.resolved = base
        elif isinstance(d, ast.EnumDecl):
            self.enum_type(d, scope)
        elif isinstance(d, ast.ConstDecl):
            self.check_const(d, scope)
        elif isinstance(d, ast.ExternDecl):
            self.check_extern(d, scope)
        elif isinstance(d, ast.ExternFunctionDecl):
            inner = self.generic_scope(d, d.type_params, scope)
            self.resolve_params(d.params, inner)
            if d.ret is not None:
                self.resolve(d.ret, inner)
        elif isinstance(d, ast.PackageDecl | ast.ParserTypeDecl | ast.ControlTypeDecl):
            inner = self.generic_scope(d, d.type_params, scope)
            self.resolve_params(d.params, inner)
        elif isinstance(d, ast.ActionDecl):
            self.check_action(d, scope, ctx)
        elif isinstance(d, ast.FunctionDecl):
            self.check_function(d, scope)
        elif isinstance(d, ast.ParserDecl):
            self.check_parser(d, scope)
        elif isinstance(d, ast.ControlDecl):
            self.check_control(d, scope)
        elif isinstance(d, ast.Instantiation):
            self.check_instantiation(d, scope)
            self.declare(scope, d.name, d, d.loc)
        elif isinstance(d, ast.VarDecl):
            self.check_var(d, scope)
        else:
            raise Unsupported(d.loc, f"{type(d).__name__} here")

    def generic_scope(self, d: ast.Declaration, params: list[str], scope: Scope) -> Scope:
        inner = Scope(scope)
        tv = self.tvars.setdefault(id(d), {})
        for p in params:
            if p not in tv:
                tv[p] = TypeVarT(p)
            self.declare(inner, p, _TypeParamEntry(tv[p]), d.loc)
        return inner

    def resolve_params(self, params: list[ast.Param], scope: Scope) -> None:
        seen: set[str] = set()
        for p in params:
            if p.name in seen:
                raise P4Error(p.loc, f"duplicate parameter '{p.name}'")
            seen.add(p.name)
            p.resolved = self.resolve(p.type, scope)
            if isinstance(p.resolved, VoidT):
                raise P4Error(p.type.loc, "a parameter cannot have type void")
            if p.default is not None:
                self.expr(p.default, scope, p.resolved)
                p.default = self.coerce(p.default, p.resolved)

    def header_type(self, d: ast.HeaderDecl, scope: Scope) -> HeaderT:
        if d.resolved is None:
            t = HeaderT(d.name, [], d)
            names: set[str] = set()
            for f in d.fields:
                ft = self.resolve(f.type, scope)
                if f.name in names:
                    raise P4Error(f.loc, f"duplicate field '{f.name}'")
                names.add(f.name)
                if isinstance(ft, NewTypeT):
                    base: Type = ft
                    while isinstance(base, NewTypeT):
                        base = base.base
                else:
                    base = ft
                if isinstance(base, EnumT) and base.underlying is not None:
                    base = base.underlying
                if isinstance(base, StructT) and _fixed_width(base):
                    base = BOOL  # a struct of fixed-width fields (spec 7.2.2)
                if not isinstance(base, BitT | BoolT | ast.VarbitT):
                    raise P4Error(
                        f.type.loc,
                        f"header field '{f.name}' must have type bit<W>, int<W>, bool or a "
                        f"serializable enum, not {type_str(ft)}",
                    )
                t.fields.append((f.name, ft))
            d.resolved = t
        return d.resolved

    def static_assert(self, e: ast.Call) -> None:
        """static_assert(check[, message]): a compile-time check, true once it holds."""
        check = e.args[0].expr if e.args else None
        if check is None or not isinstance(check.const, bool):
            raise P4Error(e.loc, "static_assert needs a compile-time constant condition")
        if not check.const:
            msg = e.args[1].expr if len(e.args) > 1 else None
            text = msg.value if isinstance(msg, ast.StringLit) else "static_assert failed"
            raise P4Error(e.loc, f"static_assert failed: {text}")
        e.const = True

    def union_type(self, d: ast.HeaderUnionDecl, scope: Scope) -> HeaderUnionT:
        if d.resolved is None:
            t = HeaderUnionT(d.name, [], d)
            names: set[str] = set()
            for f in d.fields:
                ft = self.resolve(f.type, scope)
                if f.name in names:
                    raise P4Error(f.loc, f"duplicate field '{f.name}'")
                names.add(f.name)
                if not isinstance(ft, HeaderT):
                    raise P4Error(
                        f.type.loc, f"a header_union member must be a header, not {type_str(ft)}"
                    )
                t.fields.append((f.name, ft))
            d.resolved = t
        return d.resolved

    def struct_type(self, d: ast.StructDecl, scope: Scope) -> StructT:
        if d.resolved is None:
            t = StructT(d.name, [], d)
            names: set[str] = set()
            for f in d.fields:
                ft = self.resolve(f.type, scope)
                if f.name in names:
                    raise P4Error(f.loc, f"duplicate field '{f.name}'")
                names.add(f.name)
                if isinstance(ft, VoidT | ExternT | ParserT | ControlT | PackageT | StringT):
                    raise P4Error(f.type.loc, f"a struct field cannot have type {type_str(ft)}")
                t.fields.append((f.name, ft))
            d.resolved = t
        return d.resolved

    def enum_type(self, d: ast.EnumDecl, scope: Scope) -> EnumT:
        if d.resolved is None:
            if len(set(d.members)) != len(d.members):
                raise P4Error(d.loc, f"enum {d.name} has duplicate members")
            under: BitT | None = None
            values: dict[str, int] = {}
            if d.underlying is not None:
                u = self.resolve(d.underlying, scope)
                while isinstance(u, NewTypeT):
                    u = u.base
                if not isinstance(u, BitT):
                    raise P4Error(d.underlying.loc, "a serializable enum needs bit<W> or int<W>")
                under = u
                for m, v in zip(d.members, d.values, strict=True):
                    assert v is not None
                    self.expr(v, scope, under)
                    cv = self.coerce(v, under)
                    if not isinstance(cv.const, int):
                        raise P4Error(
                            v.loc, f"value of {d.name}.{m} must be a compile-time constant"
                        )
                    values[m] = cv.const
            d.resolved = EnumT(d.name, list(d.members), under, values, d)
        return d.resolved

    def check_const(self, d: ast.ConstDecl, scope: Scope) -> None:
        t = self.resolve(d.type, scope)
        self.expr(d.value, scope, t)
        d.value = self.coerce(d.value, t, what=f"constant '{d.name}'")
        if d.value.const is None:
            raise P4Error(
                d.value.loc, f"value of constant '{d.name}' must be a compile-time constant"
            )
        self.declare(scope, d.name, d, d.loc)

    def check_var(self, d: ast.VarDecl, scope: Scope) -> None:
        t = self.resolve(d.type, scope)
        if isinstance(t, VoidT | ExternT | ParserT | ControlT | PackageT | InfIntT):
            raise P4Error(d.type.loc, f"a variable cannot have type {type_str(t)}")
        if d.init is not None:
            self.expr(d.init, scope, t)
            d.init = self.coerce(d.init, t, what=f"variable '{d.name}'")
        self.declare(scope, d.name, d, d.loc)

    def check_extern(self, d: ast.ExternDecl, scope: Scope) -> None:
        inner = self.generic_scope(d, d.type_params, scope)
        for m in d.methods:
            if m.is_abstract:
                raise Unsupported(m.loc, "abstract method")
            mscope = self.generic_scope(m, m.type_params, inner)
            self.resolve_params(m.params, mscope)
            if m.ret is not None:
                self.resolve(m.ret, mscope)

    def check_action(self, d: ast.ActionDecl, scope: Scope, outer: _Ctx | None) -> None:
        inner = Scope(scope)
        self.resolve_params(d.params, inner)
        seen_directionless = False
        for p in d.params:
            if p.direction == "":
                seen_directionless = True
            elif seen_directionless:
                raise P4Error(
                    p.loc,
                    f"action '{d.name}': directional parameter '{p.name}' must come before "
                    "the directionless (action data) parameters",
                )
            if isinstance(p.resolved, ExternT | ParserT | ControlT | PackageT):
                raise P4Error(
                    p.loc, f"action parameter '{p.name}' cannot be of type {type_str(p.resolved)}"
                )
            self.declare(inner, p.name, p, p.loc)
        if outer is None:
            self.declare(scope, d.name, d, d.loc)
        ctx = _Ctx("action", control=outer.control if outer else None)
        assert d.body is not None
        self.block(d.body, inner, ctx)
        if outer is not None:
            self.declare(scope, d.name, d, d.loc)

    def check_function(self, d: ast.FunctionDecl, scope: Scope) -> None:
        if d.type_params:
            raise Unsupported(d.loc, "generic function")
        inner = Scope(scope)
        self.resolve_params(d.params, inner)
        for p in d.params:
            self.declare(inner, p.name, p, p.loc)
        ret = self.resolve(d.ret, scope) if d.ret else VOID
        assert d.body is not None
        self.block(d.body, inner, _Ctx("function", ret=ret))
        if not isinstance(ret, VoidT) and not _always_returns(d.body):
            raise P4Error(d.loc, f"function '{d.name}' does not return a value on every path")

    def block_params_scope(self, d: ast.ParserDecl | ast.ControlDecl, scope: Scope) -> Scope:
        if d.type_params:
            raise Unsupported(
                d.loc, f"generic {'parser' if isinstance(d, ast.ParserDecl) else 'control'}"
            )
        inner = Scope(scope)
        self.resolve_params(d.params, inner)
        self.resolve_params(d.ctor_params, inner)
        for p in d.params:
            if p.direction == "" and not isinstance(p.resolved, ExternT):
                raise P4Error(p.loc, f"parameter '{p.name}' needs a direction (in, out or inout)")
            self.declare(inner, p.name, p, p.loc)
        for p in d.ctor_params:
            if p.direction != "":
                raise P4Error(p.loc, "constructor parameters cannot have a direction")
            self.declare(inner, p.name, p, p.loc)
        return inner

    def check_parser(self, d: ast.ParserDecl, scope: Scope) -> None:
        inner = self.block_params_scope(d, scope)
        ctx = _Ctx("parser", parser=d)
        for loc_d in d.locals:
            if isinstance(loc_d, ast.ValueSetDecl):
                et = self.resolve(loc_d.elem_type, inner)
                if not isinstance(et, BitT | StructT | NewTypeT | EnumT):
                    raise P4Error(
                        loc_d.elem_type.loc, f"value_set of {type_str(et)} is not supported"
                    )
                self.expr(loc_d.size, inner, U32)
                if not isinstance(loc_d.size.const, int):
                    raise P4Error(loc_d.size.loc, "value_set size must be a compile-time constant")
                self.declare(inner, loc_d.name, loc_d, loc_d.loc)
            elif isinstance(loc_d, ast.Instantiation | ast.VarDecl | ast.ConstDecl):
                self.check_decl(loc_d, inner, ctx)
            else:
                raise P4Error(loc_d.loc, f"{type(loc_d).__name__} is not allowed in a parser")
        states: dict[str, ast.ParserState] = {}
        for st in d.states:
            if st.name in ("accept", "reject"):
                raise P4Error(st.loc, f"state '{st.name}' cannot be redefined")
            if st.name in states:
                raise P4Error(st.loc, f"state '{st.name}' is already declared")
            states[st.name] = st
        if "start" not in states:
            raise P4Error(d.loc, f"parser '{d.name}' has no 'start' state")
        for st in d.states:
            sscope = Scope(inner)
            for s in st.stmts:
                self.stmt(s, sscope, ctx)
            tr = st.transition
            assert tr is not None
            self.transition(tr, sscope, states)

    def transition(
        self, tr: ast.Transition, scope: Scope, states: dict[str, ast.ParserState]
    ) -> None:
        def target(name: str, loc: Loc) -> None:
            if name not in states and name not in ("accept", "reject"):
                raise P4Error(loc, f"no parser state named '{name}'")

        if tr.select is None:
            assert tr.state is not None
            target(tr.state, tr.loc)
            return
        types: list[Type] = []
        for e in tr.select:
            t = self.expr(e, scope)
            if isinstance(t, InfIntT):
                raise P4Error(e.loc, "select expression needs a width (e.g. a cast)")
            if not _keyable(t):
                raise P4Error(e.loc, f"cannot select on a value of type {type_str(t)}")
            types.append(t)
        for case in tr.cases:
            self.keyset(case.keyset, types, scope, select=True)
            target(case.state, case.loc)

    def keyset(self, ks: ast.Expr, types: list[Type], scope: Scope, select: bool) -> None:
        if isinstance(ks, ast.Default):
            ks.type = DONTCARE
            return
        if isinstance(ks, ast.PathExpr):
            ents = scope.lookup(ks.name) if not ks.absolute else self.top.lookup(ks.name)
            if ents and isinstance(ents[0], ast.ValueSetDecl):
                vs = ents[0]
                ks.decl = vs
                et = vs.elem_type.resolved
                ks.type = et
                if len(types) == 1 and not same_type(et, types[0]):
                    raise P4Error(
                        ks.loc, f"value_set of {type_str(et)} cannot match {type_str(types[0])}"
                    )
                return
        if len(types) > 1:
            if not isinstance(ks, ast.ListExpr) or len(ks.items) != len(types):
                raise P4Error(ks.loc, f"expected a keyset of {len(types)} elements")
            for i, (item, t) in enumerate(zip(ks.items, types, strict=True)):
                ks.items[i] = self.keyset_elem(item, t, scope)
            ks.type = TupleT(tuple(types))
            return
        self.keyset_elem(ks, types[0], scope, in_place=True)

    def keyset_elem(self, e: ast.Expr, t: Type, scope: Scope, in_place: bool = False) -> ast.Expr:
        if isinstance(e, ast.Default):
            e.type = DONTCARE
            return e
        if isinstance(e, ast.Mask | ast.Range):
            a, b = (e.value, e.mask) if isinstance(e, ast.Mask) else (e.lo, e.hi)
            assert a is not None and b is not None
            self.expr(a, scope, t)
            self.expr(b, scope, t)
            a2, b2 = self.coerce(a, t), self.coerce(b, t)
            if isinstance(e, ast.Mask):
                e.value, e.mask = a2, b2
            else:
                e.lo, e.hi = a2, b2
            if a2.const is None or b2.const is None:
                raise P4Error(e.loc, "keyset bounds must be compile-time constants")
            e.type = t
            e.const = (a2.const, b2.const)
            return e
        self.expr(e, scope, t)
        out = self.coerce(e, t, what="keyset")
        if out.const is None:
            raise P4Error(e.loc, "keyset values must be compile-time constants")
        if in_place and out is not e:
            # keep the node: copy the implicit cast result onto it
            e.type, e.const = out.type, out.const
            return e
        return out

    def check_control(self, d: ast.ControlDecl, scope: Scope) -> None:
        inner = self.block_params_scope(d, scope)
        ctx = _Ctx("control", control=d)
        for loc_d in d.locals:
            if isinstance(loc_d, ast.TableDecl):
                self.check_table(loc_d, inner, ctx)
            elif isinstance(loc_d, ast.ActionDecl):
                self.check_action(loc_d, inner, ctx)
            elif isinstance(loc_d, ast.Instantiation | ast.VarDecl | ast.ConstDecl):
                self.check_decl(loc_d, inner, ctx)
            else:
                raise P4Error(loc_d.loc, f"{type(loc_d).__name__} is not allowed in a control")
        assert d.body is not None
        self.block(d.body, inner, ctx)

    # ================================================================== tables

    def check_table(self, t: ast.TableDecl, scope: Scope, ctx: _Ctx) -> None:
        lpm = 0
        key_types: list[Type] = []
        for k in t.keys:
            kt = self.expr(k.expr, scope)
            if k.match_kind not in self.match_kinds:
                raise P4Error(k.loc, f"unknown match kind '{k.match_kind}'")
            if isinstance(kt, InfIntT):
                raise P4Error(k.expr.loc, "a table key needs a width (e.g. a cast)")
            if not _keyable(kt):
                raise P4Error(
                    k.expr.loc,
                    f"table key must have type bit<W>, int<W>, bool, an enum or error, "
                    f"not {type_str(kt)}",
                )
            if k.match_kind == "lpm":
                lpm += 1
                if lpm > 1:
                    raise P4Error(k.loc, f"table '{t.name}' has more than one lpm key")
            if k.match_kind != "exact" and isinstance(kt, ErrorT):
                raise P4Error(
                    k.loc, f"an error key can only be matched exactly, not with {k.match_kind}"
                )
            key_types.append(kt)
        names: set[str] = set()
        for ref in t.actions:
            a = self.action_ref(ref, scope)
            if a.name in names:
                raise P4Error(ref.loc, f"action '{a.name}' appears twice in table '{t.name}'")
            names.add(a.name)
            directional = [p for p in a.params if p.direction != ""]
            if len(ref.args) > len(directional):
                raise P4Error(
                    ref.loc,
                    f"action '{a.name}' in an actions list may only bind its "
                    f"{len(directional)} directional parameter(s)",
                )
            if ref.args and len(ref.args) != len(directional):
                raise P4Error(
                    ref.loc, f"action '{a.name}' needs {len(directional)} directional argument(s)"
                )
            self.bind_args(ref.args, directional, scope, ref.loc, f"action '{a.name}'")
        if not t.actions:
            raise P4Error(t.loc, f"table '{t.name}' has no actions")
        listed = {id(r.decl): r for r in t.actions}
        if t.default_action is not None:
            self.table_action_call(t.default_action, listed, scope, t, "default_action")
        if t.size is not None:
            self.expr(t.size, scope, INFINT)
            if not isinstance(t.size.const, int) or t.size.const < 0:
                raise P4Error(t.size.loc, "table size must be a non-negative compile-time constant")
        if t.entries and not t.keys:
            raise P4Error(t.loc, "Entries cannot be specified for a table with no key")
        for entry in t.entries:
            if len(entry.keys) != len(t.keys):
                raise P4Error(
                    entry.loc,
                    f"entry has {len(entry.keys)} key values, table '{t.name}' has "
                    f"{len(t.keys)} keys",
                )
            for i, (kv, k, kt) in enumerate(zip(entry.keys, t.keys, key_types, strict=True)):
                if isinstance(kv, ast.Range) and k.match_kind != "range":
                    raise P4Error(kv.loc, f"a range (..) needs a range key, not {k.match_kind}")
                if isinstance(kv, ast.Mask) and k.match_kind not in ("ternary", "lpm"):
                    raise P4Error(
                        kv.loc, f"a mask (&&&) needs a ternary or lpm key, not {k.match_kind}"
                    )
                entry.keys[i] = self.keyset_elem(kv, kt, Scope(scope))
            if entry.priority is not None:
                self.expr(entry.priority, scope, INFINT)
                if not isinstance(entry.priority.const, int) or entry.priority.const < 0:
                    raise P4Error(
                        entry.priority.loc, "entry priority must be a non-negative constant"
                    )
            self.table_action_call(entry.action, listed, scope, t, "entry")
        for prop in t.properties:
            self.table_property(prop, t, scope)
        self.declare(scope, t.name, t, t.loc)

    def table_property(self, prop: ast.TableProperty, t: ast.TableDecl, scope: Scope) -> None:
        v = prop.value
        if prop.name in ("counters", "meters", "implementation"):
            want = {"counters": "direct_counter", "meters": "direct_meter"}.get(
                prop.name, "action_profile"
            )
            if not isinstance(v, ast.PathExpr):
                raise P4Error(prop.loc, f"'{prop.name}' must name a {want} instance")
            ty = self.expr(v, scope)
            wanted = (want, "action_selector") if prop.name == "implementation" else (want,)
            if not isinstance(ty, ExternT) or ty.name not in wanted:
                raise P4Error(
                    v.loc, f"'{prop.name}' must name a {want} instance, not {type_str(ty)}"
                )
            return
        if prop.name in ("support_timeout", "largest_priority_wins"):
            assert v is not None
            self.expr(v, scope, BOOL)
            if not isinstance(v.const, bool):
                raise P4Error(v.loc, f"'{prop.name}' must be a boolean constant")
            return
        if prop.name == "priority_delta":
            assert v is not None
            self.expr(v, scope, INFINT)
            return
        if v is not None:
            try:
                self.expr(v, scope)
            except P4Error:
                # Unknown (target-specific) properties may hold anything; leave them unchecked.
                v.type = None

    def action_ref(self, ref: ast.ActionRef, scope: Scope) -> ast.ActionDecl:
        ents = self.top.lookup(ref.name.name) if ref.name.absolute else scope.lookup(ref.name.name)
        if not ents or not isinstance(ents[0], ast.ActionDecl):
            raise P4Error(ref.name.loc, f"'{ref.name.name}' is not an action")
        a = ents[0]
        ref.decl = a
        ref.name.decl = a
        ref.name.type = FunctionT(a, a.params, VOID)
        return a

    def table_action_call(
        self,
        ref: ast.ActionRef,
        listed: dict[int, ast.ActionRef],
        scope: Scope,
        t: ast.TableDecl,
        what: str,
    ) -> None:
        a = self.action_ref(ref, scope)
        if id(a) not in listed:
            raise P4Error(
                ref.loc, f"{what} action '{a.name}' is not in the actions of table '{t.name}'"
            )
        if len(ref.args) != len(a.params):
            raise P4Error(
                ref.loc,
                f"action '{a.name}' takes {len(a.params)} argument(s), {len(ref.args)} given",
            )
        self.bind_args(ref.args, a.params, scope, ref.loc, f"action '{a.name}'", data_const=True)

    # ================================================================== instantiations

    def check_instantiation(self, d: ast.Instantiation, scope: Scope) -> None:
        t = self.resolve(d.type, scope, allow_generic_missing=True)
        if isinstance(t, ExternT):
            ctors = [m for m in t.decl.methods if m.ret is None]
            if not ctors:
                raise P4Error(d.loc, f"extern {t.name} has no constructor")
            ctor = self.pick_overload(ctors, d.args, d.loc, f"constructor of {t.name}")
            assert isinstance(ctor, ast.MethodDecl)
            subst = self.extern_subst(t)
            missing = [tv for tv in self.tvars.get(id(t.decl), {}).values() if tv not in subst]
            inferred = self.bind_args(
                d.args, ctor.params, scope, d.loc, f"{t.name}", subst=subst, generic=set(missing)
            )
            if missing:
                if not all(tv in inferred for tv in missing):
                    raise P4Error(d.type.loc, f"missing type arguments for {t.name}")
                t = ExternT(
                    t.name, t.decl, tuple(inferred[tv] for tv in self.tvars[id(t.decl)].values())
                )
            for a in d.args:
                if a.expr is not None and a.expr.const is None and not _is_ctor_param(a.expr):
                    raise P4Error(a.loc, "constructor arguments must be compile-time constants")
            d.resolved = t
        elif isinstance(t, ParserT | ControlT):
            decl = t.decl
            if isinstance(decl, ast.ParserTypeDecl | ast.ControlTypeDecl):
                raise P4Error(d.loc, f"cannot instantiate the abstract type {decl.name}")
            self.bind_args(d.args, decl.ctor_params, scope, d.loc, f"constructor of {decl.name}")
            for a in d.args:
                if (
                    a.expr is not None
                    and a.expr.const is None
                    and not _is_ctor_param(a.expr)
                    and not _is_block_instance(a.expr)
                ):
                    raise P4Error(a.loc, "constructor arguments must be compile-time constants")
            d.resolved = t
        elif isinstance(t, PackageT):
            d.resolved = self.check_package(d, t, scope)
        else:
            raise P4Error(d.type.loc, f"cannot instantiate {type_str(t)}")

    def check_package(self, d: ast.Instantiation, t: PackageT, scope: Scope) -> PackageT:
        pkg = t.decl
        pairs = match_args(d.args, pkg.params, d.loc, f"package {pkg.name}")
        tv = self.tvars.get(id(pkg), {})
        subst: dict[TypeVarT, Type] = {}
        for name, arg in zip(tv.values(), t.type_args, strict=False):
            if not isinstance(arg, DontCareT):
                subst[name] = arg
        for a, p in pairs:
            if a.expr is None:
                raise P4Error(a.loc, "package arguments cannot be '_'")
            at = self.block_instance_expr(a.expr, scope)
            pt = p.resolved
            if isinstance(pt, ParserT | ControlT):
                if not isinstance(at, type(pt)):
                    raise P4Error(
                        a.loc,
                        f"argument '{p.name}' of {pkg.name} must be a {type_str(pt)}, not "
                        f"{type_str(at)}",
                    )
                assert isinstance(at, ParserT | ControlT)
                self.match_block_type(pt, at, subst, a.loc, p.name)
            else:
                raise Unsupported(a.loc, f"package parameter of type {type_str(pt)}")
        args = tuple(subst.get(v, DONTCARE) for v in tv.values())
        return PackageT(pkg.name, pkg, args)

    def block_instance_expr(self, e: ast.Expr, scope: Scope) -> Type:
        """Type of a package argument: `P(ctor args)` or the name of an instance."""
        if isinstance(e, ast.Call) and isinstance(e.func, ast.PathExpr):
            ents = scope.lookup(e.func.name)
            if ents and isinstance(ents[0], ast.ParserDecl | ast.ControlDecl):
                decl = ents[0]
                e.func.decl = decl
                self.bind_args(
                    e.args, decl.ctor_params, scope, e.loc, f"constructor of {decl.name}"
                )
                for a in e.args:
                    if a.expr is not None and a.expr.const is None:
                        raise P4Error(a.loc, "constructor arguments must be compile-time constants")
                bt: Type = (
                    ParserT(decl.name, decl)
                    if isinstance(decl, ast.ParserDecl)
                    else ControlT(decl.name, decl)
                )
                e.func.type = bt
                e.type = bt
                e.callee = decl
                return bt
        return self.expr(e, scope)

    def match_block_type(
        self,
        want: ParserT | ControlT,
        got: ParserT | ControlT,
        subst: dict[TypeVarT, Type],
        loc: Loc,
        pname: str,
    ) -> None:
        wdecl = want.decl
        gdecl = got.decl
        assert isinstance(wdecl, ast.ParserTypeDecl | ast.ControlTypeDecl)
        wvars = self.tvars.get(id(wdecl), {})
        local = dict(zip(wvars.values(), want.type_args, strict=False))
        if len(wdecl.params) != len(gdecl.params):
            raise P4Error(
                loc,
                f"{gdecl.name} has {len(gdecl.params)} parameters, but {pname} ({wdecl.name}) "
                "needs "
                f"{len(wdecl.params)}",
            )
        for wp, gp in zip(wdecl.params, gdecl.params, strict=True):
            if wp.direction != gp.direction:
                raise P4Error(
                    gp.loc,
                    f"parameter '{gp.name}' of {gdecl.name} must be "
                    f"'{wp.direction or 'directionless'}' "
                    f"as in {wdecl.name}",
                )
            wt = wp.resolved
            if isinstance(wt, TypeVarT) and wt in local:
                wt = local[wt]
            if isinstance(wt, TypeVarT):
                if wt in subst:
                    if not same_type(subst[wt], gp.resolved):
                        raise P4Error(
                            gp.loc,
                            f"parameter '{gp.name}' of {gdecl.name} has type "
                            f"{type_str(gp.resolved)}, "
                            f"but {wt.name} is {type_str(subst[wt])} elsewhere",
                        )
                else:
                    assert gp.resolved is not None
                    subst[wt] = gp.resolved
            elif not same_type(wt, gp.resolved):
                raise P4Error(
                    gp.loc,
                    f"parameter '{gp.name}' of {gdecl.name} must have type {type_str(wt)}, "
                    f"not {type_str(gp.resolved)}",
                )

    # ================================================================== type syntax

    def resolve(self, ref: ast.TypeRef, scope: Scope, allow_generic_missing: bool = False) -> Type:
        t = self._resolve(ref, scope, allow_generic_missing)
        ref.resolved = t
        return t

    def _resolve(self, ref: ast.TypeRef, scope: Scope, allow_generic_missing: bool) -> Type:
        n = ref.name
        if n in ("bit", "int", "varbit"):
            if not ref.args:
                if n == "int":
                    return INFINT
                raise P4Error(ref.loc, f"{n} needs a width")
            w = ref.args[0]
            assert isinstance(w, ast.Expr)
            self.expr(w, scope)
            if not isinstance(w.const, int) or isinstance(w.const, bool):
                raise P4Error(w.loc, "a width must be a compile-time constant")
            if w.const <= 0 and not (w.const == 0 and n == "bit"):
                raise P4Error(w.loc, f"width of {n} must be positive")
            if w.const > 2048:
                raise Unsupported(w.loc, f"{n}<{w.const}> (widths above 2048)")
            if n == "varbit":
                return ast.VarbitT(w.const)
            return BitT(w.const, n == "int")
        if n == "bool":
            return BOOL
        if n == "string":
            return STRING
        if n == "void":
            return VOID
        if n == "error":
            return ERROR
        if n == "match_kind":
            return MatchKindT()
        if n == "_":
            return DONTCARE
        if n == "list":
            raise Unsupported(ref.loc, "list type")
        if n == "tuple":
            elems: list[Type] = []
            for a in ref.args:
                assert isinstance(a, ast.TypeRef)
                elems.append(self.resolve(a, scope))
            return TupleT(tuple(elems))
        if n == "__stack__":
            inner = ref.args[0]
            assert isinstance(inner, ast.TypeRef) and ref.stack_size is not None
            et = self.resolve(inner, scope)
            self.expr(ref.stack_size, scope)
            size = ref.stack_size.const
            if not isinstance(size, int) or size <= 0:
                raise P4Error(ref.stack_size.loc, "header stack size must be a positive constant")
            if isinstance(et, HeaderUnionT):
                raise Unsupported(ref.loc, "header_union stack")
            if not isinstance(et, HeaderT):
                raise P4Error(ref.loc, f"a stack must hold headers, not {type_str(et)}")
            return StackT(et, size)
        ents = scope.lookup(n)
        if not ents:
            raise P4Error(ref.loc, f"unknown type '{n}'")
        ent = ents[0]
        if isinstance(ent, _TypeParamEntry):
            return ent.type
        args = []
        for a in ref.args:
            assert isinstance(a, ast.TypeRef)
            args.append(self.resolve(a, scope))
        if isinstance(ent, ast.HeaderDecl):
            return self._no_args(ref, self.header_type(ent, scope))
        if isinstance(ent, ast.StructDecl):
            return self._no_args(ref, self.struct_type(ent, scope))
        if isinstance(ent, ast.HeaderUnionDecl):
            return self._no_args(ref, self.union_type(ent, scope))
        if isinstance(ent, ast.EnumDecl):
            return self._no_args(ref, self.enum_type(ent, scope))
        if isinstance(ent, ast.TypedefDecl):
            if ent.resolved is None:
                raise P4Error(ref.loc, f"type '{n}' is used before its declaration is complete")
            return self._no_args(ref, ent.resolved)
        generic: list[str] = []
        if isinstance(
            ent,
            ast.ExternDecl
            | ast.ParserTypeDecl
            | ast.ControlTypeDecl
            | ast.PackageDecl
            | ast.ParserDecl
            | ast.ControlDecl,
        ):
            generic = ent.type_params
        if isinstance(
            ent,
            ast.ExternDecl
            | ast.ParserTypeDecl
            | ast.ControlTypeDecl
            | ast.PackageDecl
            | ast.ParserDecl
            | ast.ControlDecl,
        ):
            if args and len(args) != len(generic):
                raise P4Error(
                    ref.loc, f"{n} takes {len(generic)} type arguments, {len(args)} given"
                )
            if not args and generic and not allow_generic_missing:
                raise P4Error(ref.loc, f"{n} needs {len(generic)} type argument(s)")
            targs = tuple(args)
            if isinstance(ent, ast.ExternDecl):
                return ExternT(n, ent, targs)
            if isinstance(ent, ast.ParserTypeDecl | ast.ParserDecl):
                return ParserT(n, ent, targs)
            if isinstance(ent, ast.ControlTypeDecl | ast.ControlDecl):
                return ControlT(n, ent, targs)
            return PackageT(n, ent, targs)
        raise P4Error(ref.loc, f"'{n}' is not a type")

    def _no_args(self, ref: ast.TypeRef, t: Type) -> Type:
        if ref.args:
            raise P4Error(ref.loc, f"{type_str(t)} takes no type arguments")
        return t

    def extern_subst(self, t: ExternT) -> dict[TypeVarT, Type]:
        tv = self.tvars.get(id(t.decl), {})
        return {v: a for v, a in zip(tv.values(), t.type_args, strict=False)}

    # ================================================================== statements

    def block(self, b: ast.Block, scope: Scope, ctx: _Ctx) -> None:
        inner = Scope(scope)
        for s in b.stmts:
            self.stmt(s, inner, ctx)

    def stmt(self, s: ast.Stmt | ast.Declaration, scope: Scope, ctx: _Ctx) -> None:
        if isinstance(s, ast.Declaration):
            if isinstance(s, ast.VarDecl | ast.ConstDecl):
                self.check_decl(s, scope, ctx)
            elif isinstance(s, ast.Instantiation):
                raise P4Error(s.loc, "instantiations are not allowed inside blocks")
            else:
                raise P4Error(s.loc, f"{type(s).__name__} is not allowed here")
            return
        if isinstance(s, ast.Assign):
            lt = self.expr(s.lhs, scope)
            self.require_lvalue(s.lhs, "assignment")
            self.expr(s.rhs, scope, lt)
            s.rhs = self.coerce(s.rhs, lt, what="assignment")
        elif isinstance(s, ast.CallStmt):
            self.expr(s.call, scope)
        elif isinstance(s, ast.If):
            self.expr(s.cond, scope, BOOL)
            self.require(s.cond, BOOL, "if condition")
            self.stmt(s.then, Scope(scope), ctx)
            if s.other is not None:
                self.stmt(s.other, Scope(scope), ctx)
        elif isinstance(s, ast.Block):
            self.block(s, scope, ctx)
        elif isinstance(s, ast.Switch):
            self.switch(s, scope, ctx)
        elif isinstance(s, ast.Exit):
            if ctx.kind == "parser":
                raise P4Error(s.loc, "exit is not allowed in a parser")
        elif isinstance(s, ast.Return):
            if ctx.kind == "parser":
                raise P4Error(s.loc, "return is not allowed in a parser")
            if s.expr is None:
                if not isinstance(ctx.ret, VoidT):
                    raise P4Error(s.loc, f"return needs a value of type {type_str(ctx.ret)}")
            else:
                if isinstance(ctx.ret, VoidT):
                    raise P4Error(s.loc, "return with a value in a void context")
                self.expr(s.expr, scope, ctx.ret)
                s.expr = self.coerce(s.expr, ctx.ret, what="return value")
        elif isinstance(s, ast.Empty):
            pass
        else:
            raise Unsupported(s.loc, f"{type(s).__name__} statement")
        if ctx.kind != "parser":
            self.track_applies(s, ctx)

    def track_applies(self, s: ast.Stmt, ctx: _Ctx) -> None:
        """Table apply rules: never from actions/functions."""
        for call in _direct_calls(s):
            if isinstance(call.callee, ast.TableDecl):
                t = call.callee
                if ctx.kind != "control":
                    raise P4Error(
                        call.loc, f"table '{t.name}' cannot be applied inside an {ctx.kind}"
                    )
                # Applying a table twice on one path is refused by bmv2_checks.

    def switch(self, s: ast.Switch, scope: Scope, ctx: _Ctx) -> None:
        t = self.expr(s.expr, scope)
        if isinstance(t, ast.ActionEnumT):
            actions = {r.decl.name: r.decl for r in t.table.actions if r.decl is not None}
            seen: set[str] = set()
            for i, case in enumerate(s.cases):
                for lab in case.labels:
                    if isinstance(lab, ast.Default):
                        if i != len(s.cases) - 1:
                            raise P4Error(lab.loc, "default must be the last switch case")
                        lab.type = DONTCARE
                        continue
                    if not isinstance(lab, ast.PathExpr) or lab.name not in actions:
                        raise P4Error(
                            lab.loc, f"switch label must be an action of table '{t.table.name}'"
                        )
                    if lab.name in seen:
                        raise P4Error(lab.loc, f"duplicate switch label '{lab.name}'")
                    seen.add(lab.name)
                    lab.decl = actions[lab.name]
                    lab.type = t
        elif isinstance(t, BitT | EnumT | ErrorT | NewTypeT):
            seen_vals: set[object] = set()
            for i, case in enumerate(s.cases):
                for k, lab in enumerate(case.labels):
                    if isinstance(lab, ast.Default):
                        if i != len(s.cases) - 1:
                            raise P4Error(lab.loc, "default must be the last switch case")
                        lab.type = DONTCARE
                        continue
                    self.expr(lab, scope, t)
                    lab2 = self.coerce(lab, t, what="switch label")
                    if lab2.const is None:
                        raise P4Error(lab.loc, "switch labels must be compile-time constants")
                    if lab2.const in seen_vals:
                        raise P4Error(lab.loc, "duplicate switch label")
                    seen_vals.add(lab2.const)
                    case.labels[k] = lab2
        else:
            raise P4Error(s.expr.loc, f"cannot switch on {type_str(t)}")
        if s.cases and s.cases[-1].body is None:
            raise P4Error(s.cases[-1].loc, "the last switch case needs a block")
        for case in s.cases:
            if case.body is not None:
                self.block(case.body, scope, ctx)

    # ================================================================== expressions

    def require(self, e: ast.Expr, t: Type, what: str) -> None:
        if not same_type(e.type, t):
            raise P4Error(e.loc, f"{what} must have type {type_str(t)}, not {type_str(e.type)}")

    def require_lvalue(self, e: ast.Expr, what: str) -> None:
        reason = self.lvalue_problem(e)
        if reason is not None:
            raise P4Error(e.loc, f"{what}: {reason}")

    def lvalue_problem(self, e: ast.Expr) -> str | None:
        if isinstance(e, ast.PathExpr):
            d = e.decl
            if isinstance(d, ast.VarDecl):
                return None
            if isinstance(d, ast.Param):
                if d.direction in ("out", "inout"):
                    return None
                if d.direction == "in":
                    return f"cannot assign to 'in' parameter '{e.name}'"
                return f"cannot assign to directionless parameter '{e.name}'"
            if isinstance(d, ast.ConstDecl):
                return f"cannot assign to constant '{e.name}'"
            return f"'{e.name}' is not an l-value"
        if isinstance(e, ast.Member):
            if e.kind in ("field", "stack_next", "stack_last"):
                assert isinstance(e.expr, ast.Expr)
                return self.lvalue_problem(e.expr)
            return "expression is not an l-value"
        if isinstance(e, ast.Index | ast.Slice):
            assert e.expr is not None
            return self.lvalue_problem(e.expr)
        return "expression is not an l-value"

    def coerce(self, e: ast.Expr, t: Type | None, what: str = "expression") -> ast.Expr:
        """Apply P4's implicit casts so that e has type t, or raise."""
        if t is None or same_type(e.type, t):
            return e
        et = e.type
        if isinstance(t, TypeVarT) or isinstance(et, TypeVarT):
            return e
        target: Type = t
        if isinstance(et, InfIntT):
            base = target
            while isinstance(base, NewTypeT):
                base = base.base
            if isinstance(base, BitT | InfIntT):
                e.type = t
                if isinstance(e.const, int):
                    e.const = wrap(e.const, base)
                return e
        if isinstance(et, EnumT) and et.underlying is not None and same_type(et.underlying, t):
            c = ast.Cast(e.loc, to=None, expr=e)
            c.type = t
            if isinstance(e.const, str):
                c.const = et.values.get(e.const)
            return c
        if isinstance(e, ast.ListExpr | ast.StructInit) and isinstance(
            t, StructT | HeaderT | TupleT
        ):
            self.list_to(e, t)
            return e
        if (
            isinstance(t, ParserT | ControlT)
            and type(et) is type(t)
            and isinstance(t.decl, ast.ParserTypeDecl | ast.ControlTypeDecl)
        ):
            # a parser/control instance given where a parser/control type is expected
            self.match_block_type(t, et, {}, e.loc, what)
            return e
        raise P4Error(
            e.loc,
            f"{what}: cannot use a value of type {type_str(et)} where {type_str(t)} is expected",
        )

    def list_to(self, e: ast.ListExpr | ast.StructInit, t: StructT | HeaderT | TupleT) -> None:
        if isinstance(t, TupleT):
            if not isinstance(e, ast.ListExpr) or len(e.items) != len(t.elems):
                raise P4Error(e.loc, f"expected {len(t.elems)} elements for {type_str(t)}")
            for i, et in enumerate(t.elems):
                e.items[i] = self.coerce(e.items[i], et, what="list element")
            e.type = t
            return
        fields = t.fields
        if isinstance(e, ast.ListExpr):
            if len(e.items) != len(fields):
                raise P4Error(
                    e.loc, f"{type_str(t)} has {len(fields)} fields, the list has {len(e.items)}"
                )
            for i, (_, ft) in enumerate(fields):
                e.items[i] = self.coerce(e.items[i], ft, what="list element")
        else:
            names = [n for n, _ in fields]
            got = [n for n, _ in e.fields]
            if sorted(names) != sorted(got):
                raise P4Error(
                    e.loc, f"initializer fields {got} do not match the fields of {type_str(t)}"
                )
            ftypes = dict(fields)
            e.fields = [(n, self.coerce(v, ftypes[n], what=f"field '{n}'")) for n, v in e.fields]
        e.type = t
        e.const = None

    def expr(self, e: ast.Expr, scope: Scope, expected: Type | None = None) -> Type:
        t = self._expr(e, scope, expected)
        e.type = t
        return t

    def _expr(self, e: ast.Expr, scope: Scope, expected: Type | None) -> Type:
        if isinstance(e, ast.IntLit):
            if e.width is None:
                e.const = e.value
                return INFINT
            t = BitT(e.width, e.signed)
            if e.signed and e.width < 2:
                raise P4Error(e.loc, "int<W> literals need a width of at least 2")
            e.const = wrap(e.value, t)
            return t
        if isinstance(e, ast.BoolLit):
            e.const = e.value
            return BOOL
        if isinstance(e, ast.StringLit):
            e.const = e.value
            return STRING
        if isinstance(e, ast.PathExpr):
            return self.path(e, scope)
        if isinstance(e, ast.TypeExpr):
            assert e.ref is not None
            return self.resolve(e.ref, scope)
        if isinstance(e, ast.Member):
            return self.member(e, scope)
        if isinstance(e, ast.Call):
            return self.call(e, scope, expected)
        if isinstance(e, ast.Unary):
            return self.unary(e, scope, expected)
        if isinstance(e, ast.Binary):
            return self.binary(e, scope, expected)
        if isinstance(e, ast.Ternary):
            assert e.cond and e.then and e.other
            self.expr(e.cond, scope, BOOL)
            self.require(e.cond, BOOL, "condition of ?:")
            a = self.expr(e.then, scope, expected)
            b = self.expr(e.other, scope, expected)
            if isinstance(a, InfIntT) and isinstance(b, InfIntT):
                if e.cond.const is None:
                    raise P4Error(
                        e.loc, "?: with unsized constant branches needs a width (e.g. 8w1)"
                    )
                tt: Type = INFINT
            elif isinstance(a, InfIntT):
                e.then = self.coerce(e.then, b)
                tt = b
            else:
                e.other = self.coerce(e.other, a, what="?: branch")
                tt = a
            if isinstance(e.cond.const, bool):
                chosen = e.then if e.cond.const else e.other
                e.const = chosen.const
            return tt
        if isinstance(e, ast.Cast):
            return self.cast(e, scope)
        if isinstance(e, ast.Index):
            return self.index(e, scope)
        if isinstance(e, ast.Slice):
            return self.slice(e, scope)
        if isinstance(e, ast.ListExpr):
            want: Sequence[Type | None] = [None] * len(e.items)
            if isinstance(expected, TupleT) and len(expected.elems) == len(e.items):
                want = expected.elems
            elif isinstance(expected, StructT | HeaderT) and len(expected.fields) == len(e.items):
                want = [ft for _, ft in expected.fields]
            types = [self.expr(it, scope, w) for it, w in zip(e.items, want, strict=True)]
            if all(it.const is not None for it in e.items):
                e.const = tuple(it.const for it in e.items)
            return TupleT(tuple(types))
        if isinstance(e, ast.StructInit):
            ftypes: dict[str, Type] = {}
            if isinstance(expected, StructT | HeaderT):
                ftypes = dict(expected.fields)
            seen: set[str] = set()
            for n, v in e.fields:
                if n in seen:
                    raise P4Error(v.loc, f"field '{n}' given twice")
                seen.add(n)
                self.expr(v, scope, ftypes.get(n))
            if isinstance(expected, StructT | HeaderT):
                self.list_to(e, expected)
                return expected
            raise P4Error(
                e.loc, "the type of a structure initializer must be known here (use a cast)"
            )
        if isinstance(e, ast.Mask | ast.Range | ast.Default):
            raise P4Error(
                e.loc,
                "keyset expressions (&&&, .., default, _) are only allowed in select and entries",
            )
        raise Unsupported(e.loc, f"{type(e).__name__} expression")

    def path(self, e: ast.PathExpr, scope: Scope) -> Type:
        if e.name == "error" and not e.absolute:
            e.decl = "error"
            return ERROR
        ents = self.top.lookup(e.name) if e.absolute else scope.lookup(e.name)
        if not ents:
            raise P4Error(e.loc, f"unknown name '{e.name}'")
        d = ents[0]
        e.decl = d
        if isinstance(d, ast.ConstDecl):
            e.const = d.value.const
            assert d.type.resolved is not None
            return d.type.resolved
        if isinstance(d, ast.VarDecl):
            assert d.type.resolved is not None
            return d.type.resolved
        if isinstance(d, ast.Param):
            assert d.resolved is not None
            return d.resolved
        if isinstance(d, ast.Instantiation):
            assert d.resolved is not None
            return d.resolved
        if isinstance(d, ast.TableDecl):
            return TableT(d)
        if isinstance(d, ast.ActionDecl):
            return FunctionT(d, d.params, VOID)
        if isinstance(d, ast.FunctionDecl | ast.ExternFunctionDecl):
            return FunctionT(d, d.params, _ret_of(d))
        if isinstance(d, ast.ValueSetDecl):
            raise P4Error(e.loc, f"value_set '{e.name}' can only be used as a select keyset")
        if isinstance(d, _TypeParamEntry):
            return d.type
        if isinstance(d, ast.EnumDecl):
            return self.enum_type(d, scope)
        if isinstance(d, ast.HeaderDecl):
            return self.header_type(d, scope)
        if isinstance(d, ast.StructDecl):
            return self.struct_type(d, scope)
        if isinstance(d, ast.TypedefDecl) and d.resolved is not None:
            return d.resolved
        if isinstance(d, ast.ParserDecl):
            return ParserT(d.name, d)
        if isinstance(d, ast.ControlDecl):
            return ControlT(d.name, d)
        raise P4Error(e.loc, f"'{e.name}' cannot be used as a value")

    def _is_type_path(self, e: ast.Expr) -> bool:
        return isinstance(e, ast.PathExpr) and isinstance(e.decl, (*_TYPE_DECLS, _TypeParamEntry))

    def member(self, e: ast.Member, scope: Scope) -> Type:
        base = e.expr
        assert isinstance(base, ast.Expr)
        bt = self.expr(base, scope)
        n = e.name
        if isinstance(base, ast.PathExpr) and base.decl == "error":
            if n not in self.errors:
                raise P4Error(e.loc, f"no error named '{n}'")
            e.kind = "error_member"
            e.const = n
            return ERROR
        if isinstance(base, ast.PathExpr) and isinstance(base.decl, ast.EnumDecl):
            assert isinstance(bt, EnumT)
            if n not in bt.members:
                raise P4Error(e.loc, f"enum {bt.name} has no member '{n}'")
            e.kind = "enum_member"
            e.const = bt.values[n] if bt.underlying is not None else n
            return bt
        if (
            n == "apply"
            and isinstance(base, ast.PathExpr)
            and isinstance(base.decl, ast.ParserDecl | ast.ControlDecl)
            and not base.decl.ctor_params
        ):
            # direct type invocation (spec 15.1): an instance named after the type
            e.kind = "method"
            return FunctionT(base.decl, base.decl.params, VOID)
        if self._is_type_path(base) or isinstance(base, ast.TypeExpr):
            if n in ("minSizeInBits", "minSizeInBytes"):
                e.kind = "type_member"
                return FunctionT(ast.BuiltinMethod(e.loc, n, target=bt), [], INFINT)
            raise P4Error(e.loc, f"type {type_str(bt)} has no member '{n}'")
        if isinstance(bt, NewTypeT):
            raise P4Error(e.loc, f"{type_str(bt)} has no member '{n}'")
        if isinstance(bt, HeaderT | StructT | HeaderUnionT):
            for fname, ft in bt.fields:
                if fname == n:
                    e.kind = "field"
                    return ft
            if isinstance(bt, HeaderUnionT) and n == "isValid":
                e.kind = "method"
                return FunctionT(ast.BuiltinMethod(e.loc, n, target=bt), [], BOOL)
            if isinstance(bt, HeaderT) and n in ("isValid", "setValid", "setInvalid"):
                e.kind = "method"
                return FunctionT(
                    ast.BuiltinMethod(e.loc, n, target=bt), [], BOOL if n == "isValid" else VOID
                )
            if n in ("minSizeInBits", "minSizeInBytes"):
                e.kind = "method"
                return FunctionT(ast.BuiltinMethod(e.loc, n, target=bt), [], INFINT)
            raise P4Error(e.loc, f"{type_str(bt)} has no field '{n}'")
        if isinstance(bt, StackT):
            if n in ("next", "last"):
                e.kind = f"stack_{n}"
                return bt.elem
            if n in ("size", "lastIndex"):
                e.kind = f"stack_{n}"
                if n == "size":
                    e.const = bt.size
                return U32
            if n in ("push_front", "pop_front"):
                e.kind = "method"
                p = ast.Param(e.loc, "in", ast.TypeRef(e.loc, "int"), "count", resolved=INFINT)
                return FunctionT(ast.BuiltinMethod(e.loc, n, target=bt), [p], VOID)
            raise P4Error(e.loc, f"header stack has no member '{n}'")
        if isinstance(bt, ExternT):
            methods = [m for m in bt.decl.methods if m.name == n and m.ret is not None]
            if not methods:
                raise P4Error(e.loc, f"extern {bt.name} has no method '{n}'")
            e.kind = "method"
            return FunctionT(methods[0], methods[0].params, _ret_of(methods[0]))
        if isinstance(bt, TableT):
            if n != "apply":
                raise P4Error(e.loc, f"a table has no member '{n}' (only apply())")
            e.kind = "method"
            return FunctionT(bt.decl, [], ApplyResultT(bt.decl))
        if isinstance(bt, ParserT | ControlT):
            if (
                n != "apply"
                or not isinstance(base, ast.PathExpr)
                or not isinstance(base.decl, ast.Instantiation | ast.Param)
            ):
                raise P4Error(e.loc, f"{type_str(bt)} has no member '{n}'")
            e.kind = "method"
            decl = bt.decl
            return FunctionT(decl, decl.params, VOID)
        if isinstance(bt, ApplyResultT):
            if n in ("hit", "miss"):
                e.kind = n
                return BOOL
            if n == "action_run":
                e.kind = "action_run"
                return ast.ActionEnumT(bt.table)
            raise P4Error(e.loc, f"table apply result has no member '{n}' (hit, miss, action_run)")
        raise P4Error(e.loc, f"{type_str(bt)} has no member '{n}'")

    def call(self, e: ast.Call, scope: Scope, expected: Type | None) -> Type:
        f = e.func
        assert f is not None
        ft = self.expr(f, scope)
        if not isinstance(ft, FunctionT):
            if isinstance(ft, ParserT | ControlT | ExternT):
                raise P4Error(e.loc, f"{type_str(ft)} cannot be instantiated here")
            raise P4Error(e.loc, f"cannot call a value of type {type_str(ft)}")
        decl = ft.decl
        targs = [self.resolve(a, scope) for a in e.type_args]
        if isinstance(decl, ast.BuiltinMethod):
            e.callee = decl
            if targs:
                raise P4Error(e.loc, f"{decl.name} takes no type arguments")
            if decl.name in ("minSizeInBits", "minSizeInBytes"):
                if e.args:
                    raise P4Error(e.loc, f"{decl.name} takes no arguments")
                target = decl.target
                assert isinstance(target, HeaderT | StructT | StackT) or target is not None
                bits = header_width(target)  # type: ignore[arg-type]
                e.const = bits if decl.name == "minSizeInBits" else (bits + 7) // 8
                return INFINT
            self.bind_args(e.args, ft.params, scope, e.loc, decl.name)
            if decl.name in ("push_front", "pop_front"):
                a = e.args[0].expr
                if a is None or not isinstance(a.const, int) or a.const < 0:
                    raise P4Error(e.loc, f"{decl.name} needs a non-negative constant count")
                assert isinstance(f, ast.Member) and isinstance(f.expr, ast.Expr)
                self.require_lvalue(f.expr, decl.name)
            if decl.name in ("setValid", "setInvalid"):
                assert isinstance(f, ast.Member) and isinstance(f.expr, ast.Expr)
                self.require_lvalue(f.expr, decl.name)
            return ft.ret
        if isinstance(decl, ast.TableDecl):
            if e.args or targs:
                raise P4Error(e.loc, "table apply() takes no arguments")
            e.callee = decl
            return ft.ret
        if isinstance(decl, ast.ParserDecl | ast.ControlDecl | ast.ParserTypeDecl):
            e.callee = decl
            self.bind_args(e.args, decl.params, scope, e.loc, f"{decl.name}.apply")
            return VOID
        if isinstance(decl, ast.ControlTypeDecl):
            # apply of a constructor parameter whose type is a control/parser type
            e.callee = decl
            self.bind_args(e.args, decl.params, scope, e.loc, f"{decl.name}.apply")
            return VOID
        if isinstance(decl, ast.ActionDecl):
            e.callee = decl
            if targs:
                raise P4Error(e.loc, "actions take no type arguments")
            self.bind_args(e.args, decl.params, scope, e.loc, f"action '{decl.name}'")
            return VOID
        # functions, extern functions, extern methods: overloads and generics
        subst: dict[TypeVarT, Type] = {}
        if isinstance(decl, ast.MethodDecl):
            assert isinstance(f, ast.Member) and isinstance(f.expr, ast.Expr)
            ext = f.expr.type
            assert isinstance(ext, ExternT)
            cands: list[ast.Declaration] = [
                m for m in ext.decl.methods if m.name == decl.name and m.ret is not None
            ]
            subst = self.extern_subst(ext)
        else:
            ents = (
                self.top.lookup(decl.name)
                if (isinstance(f, ast.PathExpr) and f.absolute)
                else scope.lookup(decl.name)
            )
            cands = [
                x for x in (ents or []) if isinstance(x, ast.FunctionDecl | ast.ExternFunctionDecl)
            ]
        callee = self.pick_overload(cands, e.args, e.loc, decl.name)
        e.callee = callee
        if isinstance(f, ast.PathExpr):
            f.decl = callee
        tparams: list[str] = getattr(callee, "type_params", [])
        tv = self.tvars.get(id(callee), {})
        if targs:
            if len(targs) != len(tparams):
                raise P4Error(
                    e.loc, f"{decl.name} takes {len(tparams)} type arguments, {len(targs)} given"
                )
            for name, targ in zip(tparams, targs, strict=True):
                subst[tv[name]] = targ
        generic = {tv[n] for n in tparams if tv[n] not in subst}
        inferred = self.bind_args(
            e.args, _params_of(callee), scope, e.loc, decl.name, subst=subst, generic=generic
        )
        subst.update(inferred)
        missing = [v.name for v in generic if v not in subst]
        ret: Type = _ret_of(callee)
        if (
            isinstance(ret, TypeVarT)
            and ret in generic
            and ret not in subst
            and expected is not None
        ):
            subst[ret] = expected
            missing.remove(ret.name)
        if missing:
            raise P4Error(
                e.loc,
                f"cannot infer type argument(s) {', '.join(missing)} of {decl.name}; give "
                "them explicitly",
            )
        e.inferred_type_args = {n: subst[tv[n]] for n in tparams if tv[n] in subst}
        ret = _subst(ret, subst)
        if isinstance(callee, ast.ExternFunctionDecl) and callee.name == "static_assert":
            self.static_assert(e)
        if (
            isinstance(callee, ast.MethodDecl)
            and callee.name == "lookahead"
            and not _fixed_width(ret)
        ):
            raise P4Error(e.loc, f"lookahead needs a fixed-width type, not {type_str(ret)}")
        if isinstance(callee, ast.MethodDecl) and callee.name in ("extract", "emit"):
            arg = e.args[0].expr if e.args else None
            at = arg.type if arg is not None else None
            if callee.name == "extract" and not isinstance(at, HeaderT):
                raise P4Error(e.loc, f"extract needs a header, not {type_str(at)}")
            if callee.name == "emit" and not _emittable(at):
                raise P4Error(
                    e.loc,
                    f"emit needs a header, header stack or struct of headers, not {type_str(at)}",
                )
        return ret

    def pick_overload(
        self, cands: Sequence[ast.Declaration], args: list[ast.Arg], loc: Loc, name: str
    ) -> ast.Declaration:
        if not cands:
            raise P4Error(loc, f"'{name}' is not callable")
        named = {a.name for a in args if a.name}
        fits = []
        for c in cands:
            ps = _params_of(c)
            required = [p for p in ps if p.default is None]
            if named:
                pnames = {p.name for p in ps}
                if named <= pnames and len(required) <= len(args) <= len(ps):
                    fits.append(c)
            elif len(required) <= len(args) <= len(ps):
                fits.append(c)
        if not fits:
            if len(cands) == 1:
                # bind_args/match_args then says exactly what is wrong with the arguments
                return cands[0]
            if named:
                raise P4Error(
                    loc,
                    f"no overload of {name} has parameter(s) named "
                    + ", ".join(f"'{n}'" for n in sorted(n for n in named if n)),
                )
            counts = sorted({len(_params_of(c)) for c in cands})
            raise P4Error(
                loc, f"{name} takes {' or '.join(map(str, counts))} argument(s), {len(args)} given"
            )
        if len(fits) > 1:
            exact = [c for c in fits if len(_params_of(c)) == len(args)]
            if len(exact) == 1:
                return exact[0]
        return fits[0]

    def bind_args(
        self,
        args: list[ast.Arg],
        params: list[ast.Param],
        scope: Scope,
        loc: Loc,
        what: str,
        subst: dict[TypeVarT, Type] | None = None,
        generic: set[TypeVarT] | None = None,
        data_const: bool = False,
    ) -> dict[TypeVarT, Type]:
        """Check call arguments against parameters; returns inferred type variables."""
        subst = dict(subst or {})
        generic = generic or set()
        inferred: dict[TypeVarT, Type] = {}
        pairs = match_args(args, params, loc, what)
        # first the arguments whose types can bind generics, then the rest
        deferred: list[tuple[ast.Arg, ast.Param]] = []
        for a, p in pairs:
            if a.expr is None:
                if p.direction != "out":
                    raise P4Error(
                        a.loc, f"'_' can only be passed to an out parameter ({what}, '{p.name}')"
                    )
                continue
            pt = _subst(p.resolved, {**subst, **inferred})
            at = self.expr(a.expr, scope, pt if not _has_var(pt, generic) else None)
            if _has_var(pt, generic):
                if isinstance(at, InfIntT) or (
                    isinstance(a.expr, ast.ListExpr) and _has_infint(at)
                ):
                    deferred.append((a, p))
                    continue
                self.unify(pt, at, generic, inferred, a.loc, what, p.name)
            self.finish_arg(a, p, {**subst, **inferred}, what, data_const)
        for a, p in deferred:
            pt = _subst(p.resolved, {**subst, **inferred})
            if _has_var(pt, generic):
                assert a.expr is not None
                raise P4Error(
                    a.expr.loc,
                    f"{what}: the width of argument '{p.name}' is unknown; use a width literal "
                    "(e.g. 8w5) or a cast",
                )
            self.finish_arg(a, p, {**subst, **inferred}, what, data_const)
        return inferred

    def finish_arg(
        self, a: ast.Arg, p: ast.Param, subst: dict[TypeVarT, Type], what: str, data_const: bool
    ) -> None:
        assert a.expr is not None
        pt = _subst(p.resolved, subst)
        if p.direction in ("out", "inout"):
            if not same_type(a.expr.type, pt) and not isinstance(pt, TypeVarT):
                raise P4Error(
                    a.expr.loc,
                    f"{what}: argument '{p.name}' must have type {type_str(pt)}, not "
                    f"{type_str(a.expr.type)}",
                )
            prob = self.lvalue_problem(a.expr)
            if prob is not None:
                raise P4Error(
                    a.expr.loc,
                    f"{what}: argument for {p.direction} parameter '{p.name}' must be an "
                    f"l-value ({prob})",
                )
            return
        a.expr = self.coerce(a.expr, pt, what=f"{what}, argument '{p.name}'")
        if data_const and p.direction == "" and a.expr.const is None:
            raise P4Error(
                a.expr.loc,
                f"{what}: action data argument '{p.name}' must be a compile-time constant",
            )

    def unify(
        self,
        pt: Type | None,
        at: Type | None,
        generic: set[TypeVarT],
        out: dict[TypeVarT, Type],
        loc: Loc,
        what: str,
        pname: str,
    ) -> None:
        if isinstance(pt, TypeVarT) and pt in generic:
            if pt in out:
                if not same_type(out[pt], at):
                    raise P4Error(
                        loc,
                        f"{what}: argument '{pname}' has type {type_str(at)}, but {pt.name} "
                        f"is {type_str(out[pt])}",
                    )
            else:
                assert at is not None
                out[pt] = at
            return
        if isinstance(pt, TupleT) and isinstance(at, TupleT) and len(pt.elems) == len(at.elems):
            for x, y in zip(pt.elems, at.elems, strict=True):
                self.unify(x, y, generic, out, loc, what, pname)

    def unary(self, e: ast.Unary, scope: Scope, expected: Type | None) -> Type:
        assert e.expr is not None
        t = self.expr(e.expr, scope, expected)
        c = e.expr.const
        if e.op == "!":
            self.require(e.expr, BOOL, "operand of !")
            if isinstance(c, bool):
                e.const = not c
            return BOOL
        base = _num_base(t)
        if e.op == "~":
            if not isinstance(base, BitT):
                raise P4Error(e.loc, f"~ needs bit<W> or int<W>, not {type_str(t)}")
            if isinstance(c, int):
                e.const = wrap(~c, base)
            return t
        if e.op in ("-", "+"):
            if not isinstance(base, BitT | InfIntT):
                raise P4Error(e.loc, f"unary {e.op} needs a number, not {type_str(t)}")
            if isinstance(c, int) and not isinstance(c, bool):
                e.const = wrap(-c if e.op == "-" else c, base)
            return t
        raise P4Error(e.loc, f"unknown operator {e.op}")

    def binary(self, e: ast.Binary, scope: Scope, expected: Type | None) -> Type:
        assert e.left is not None and e.right is not None
        op = e.op
        if op in ("&&", "||"):
            self.expr(e.left, scope, BOOL)
            self.expr(e.right, scope, BOOL)
            self.require(e.left, BOOL, f"operand of {op}")
            self.require(e.right, BOOL, f"operand of {op}")
            lc, rc = e.left.const, e.right.const
            if op == "&&":
                if lc is False or (lc is True and isinstance(rc, bool)):
                    e.const = False if lc is False else rc
            elif lc is True or (lc is False and isinstance(rc, bool)):
                e.const = True if lc is True else rc
            return BOOL
        lt = self.expr(
            e.left, scope, expected if op not in ("==", "!=", "<", "<=", ">", ">=") else None
        )
        if op in ("<<", ">>"):
            rt = self.expr(e.right, scope)
            lb = _num_base(lt)
            if not isinstance(lb, BitT | InfIntT):
                raise P4Error(e.left.loc, f"cannot shift a value of type {type_str(lt)}")
            rb = _num_base(rt)
            if isinstance(rb, BitT) and rb.signed:
                raise P4Error(e.right.loc, "a shift amount must be unsigned (bit<W>), not int<W>")
            if not isinstance(rb, BitT | InfIntT):
                raise P4Error(e.right.loc, f"a shift amount must be a number, not {type_str(rt)}")
            rc = e.right.const
            if isinstance(rb, InfIntT) and isinstance(rc, int) and rc < 0:
                raise P4Error(e.right.loc, "negative shift amount")
            if isinstance(lb, InfIntT) and rc is None:
                raise P4Error(
                    e.loc, "shifting an unsized constant needs a constant shift amount (or a width)"
                )
            lc = e.left.const
            if isinstance(lc, int) and isinstance(rc, int):
                v = lc << rc if op == "<<" else lc >> rc
                e.const = wrap(v, lb)
            return lt
        rt = self.expr(e.right, scope, lt if not isinstance(lt, InfIntT) else None)
        if op == "++" and (isinstance(lt, InfIntT) or isinstance(rt, InfIntT)):
            raise P4Error(
                e.loc,
                "++ needs operands with known widths; use a width literal (e.g. 8w5) or a cast",
            )
        if isinstance(lt, InfIntT) and not isinstance(rt, InfIntT):
            e.left = self.coerce(e.left, rt, what=f"left operand of {op}")
            lt = _typed(e.left)
        elif isinstance(rt, InfIntT) and not isinstance(lt, InfIntT):
            e.right = self.coerce(e.right, lt, what=f"right operand of {op}")
            rt = _typed(e.right)
        elif isinstance(lt, EnumT) and lt.underlying is not None and not isinstance(rt, EnumT):
            e.left = self.coerce(e.left, rt, what=f"left operand of {op}")
            lt = _typed(e.left)
        elif isinstance(rt, EnumT) and rt.underlying is not None and not isinstance(lt, EnumT):
            e.right = self.coerce(e.right, lt, what=f"right operand of {op}")
            rt = _typed(e.right)
        lc, rc = e.left.const, e.right.const
        if op in ("==", "!="):
            if not same_type(lt, rt):
                raise P4Error(e.loc, f"cannot compare {type_str(lt)} with {type_str(rt)}")
            if isinstance(lt, ExternT | ParserT | ControlT | TableT | StringT | FunctionT):
                raise P4Error(e.loc, f"{op} is not defined on {type_str(lt)}")
            if lc is not None and rc is not None:
                e.const = (lc == rc) == (op == "==")
            return BOOL
        if op == "++":
            lb, rb = _num_base(lt), _num_base(rt)
            if not isinstance(lb, BitT) or not isinstance(rb, BitT):
                raise P4Error(
                    e.loc,
                    "++ needs bit<W> or int<W> operands with known widths, not "
                    f"{type_str(lt)} and {type_str(rt)}",
                )
            t = BitT(lb.width + rb.width, lb.signed)
            if isinstance(lc, int) and isinstance(rc, int):
                e.const = wrap(
                    ((lc & ((1 << lb.width) - 1)) << rb.width) | (rc & ((1 << rb.width) - 1)), t
                )
            return t
        if not same_type(lt, rt):
            raise P4Error(
                e.loc,
                f"operands of {op} must have the same type: {type_str(lt)} and {type_str(rt)} "
                "(use a cast)",
            )
        base = _num_base(lt)
        if not isinstance(base, BitT | InfIntT):
            raise P4Error(e.loc, f"{op} needs numeric operands, not {type_str(lt)}")
        if op in ("<", "<=", ">", ">="):
            if isinstance(lc, int) and isinstance(rc, int):
                e.const = {"<": lc < rc, "<=": lc <= rc, ">": lc > rc, ">=": lc >= rc}[op]
            return BOOL
        if (
            op in ("&", "|", "^")
            and isinstance(base, InfIntT)
            and ((isinstance(lc, int) and lc < 0) or (isinstance(rc, int) and rc < 0))
        ):
            raise P4Error(e.loc, f"{op} on negative unsized constants needs a width")
        if op in ("|+|", "|-|") and isinstance(base, InfIntT):
            raise P4Error(e.loc, f"saturating {op} needs a width (bit<W> or int<W>)")
        if op in ("/", "%"):
            if isinstance(base, BitT) and base.signed:
                raise P4Error(e.loc, f"{op} is not defined on signed int<W>")
            if rc == 0:
                raise P4Error(e.right.loc, "division by zero")
            if isinstance(base, InfIntT) and (
                (isinstance(lc, int) and lc < 0) or (isinstance(rc, int) and rc < 0)
            ):
                raise P4Error(e.loc, f"{op} of negative constants is not defined")
        if op not in ("+", "-", "*", "/", "%", "&", "|", "^", "|+|", "|-|"):
            raise P4Error(e.loc, f"unknown operator {op}")
        if isinstance(lc, int) and isinstance(rc, int):
            e.const = _fold(op, lc, rc, base)
        return lt

    def cast(self, e: ast.Cast, scope: Scope) -> Type:
        assert e.to is not None and e.expr is not None
        t = self.resolve(e.to, scope)
        st = self.expr(e.expr, scope, t)
        if isinstance(e.expr, ast.ListExpr | ast.StructInit) and isinstance(
            t, StructT | HeaderT | TupleT
        ):
            self.list_to(e.expr, t)
            return t
        if same_type(st, t):
            e.const = e.expr.const
            return t
        src, dst = _num_base(st), _num_base(t)
        c = e.expr.const
        ok = False
        if isinstance(dst, BitT) and isinstance(src, BitT | InfIntT):
            ok = isinstance(src, InfIntT) or src.signed == dst.signed or src.width == dst.width
            if isinstance(src, BitT) and src.signed != dst.signed and src.width != dst.width:
                ok = False
            if isinstance(c, int) and not isinstance(c, bool):
                e.const = wrap(c, dst)
        elif isinstance(dst, BitT) and isinstance(st, BoolT):
            ok = dst.width == 1 and not dst.signed
            if isinstance(c, bool):
                e.const = int(c)
        elif isinstance(t, BoolT) and isinstance(src, BitT | InfIntT):
            ok = isinstance(src, InfIntT) or (src.width == 1 and not src.signed)
            if isinstance(c, int):
                if isinstance(src, InfIntT) and c not in (0, 1):
                    raise P4Error(e.loc, "only 0 and 1 can be cast to bool")
                e.const = bool(c)
        elif isinstance(t, EnumT) and t.underlying is not None and isinstance(src, BitT | InfIntT):
            ok = isinstance(src, InfIntT) or same_type(src, t.underlying)
            if isinstance(c, int):
                e.const = next((m for m, v in t.values.items() if v == wrap(c, t.underlying)), None)
        elif isinstance(st, EnumT) and st.underlying is not None and isinstance(dst, BitT):
            ok = same_type(st.underlying, dst)
            if isinstance(c, str):
                e.const = st.values.get(c)
        if isinstance(t, NewTypeT) or isinstance(st, NewTypeT):
            ok = ok or same_type(_strip_new(t), _strip_new(st))
            if isinstance(c, int) and isinstance(dst, BitT):
                e.const = wrap(c, dst)
        if not ok:
            raise P4Error(e.loc, f"cannot cast {type_str(st)} to {type_str(t)}")
        return t

    def index(self, e: ast.Index, scope: Scope) -> Type:
        assert e.expr is not None and e.index is not None
        bt = self.expr(e.expr, scope)
        it = self.expr(e.index, scope)
        if not isinstance(bt, StackT):
            if isinstance(bt, TupleT) and isinstance(e.index.const, int):
                if not 0 <= e.index.const < len(bt.elems):
                    raise P4Error(e.index.loc, "tuple index out of range")
                return bt.elems[e.index.const]
            raise P4Error(e.loc, f"cannot index a value of type {type_str(bt)}")
        if not isinstance(_num_base(it), BitT | InfIntT):
            raise P4Error(e.index.loc, f"a stack index must be a number, not {type_str(it)}")
        c = e.index.const
        if isinstance(c, int) and not 0 <= c < bt.size:
            raise P4Error(e.index.loc, f"index {c} is out of range for a stack of size {bt.size}")
        return bt.elem

    def slice(self, e: ast.Slice, scope: Scope) -> Type:
        assert e.expr is not None and e.hi is not None and e.lo is not None
        bt = self.expr(e.expr, scope)
        base = _num_base(bt)
        self.expr(e.hi, scope)
        self.expr(e.lo, scope)
        hi, lo = e.hi.const, e.lo.const
        if not isinstance(hi, int) or not isinstance(lo, int) or isinstance(hi, bool):
            raise P4Error(e.loc, "slice bounds must be compile-time constants")
        if isinstance(base, InfIntT):
            if e.expr.const is None:
                raise P4Error(e.loc, "cannot slice an unsized value")
            width = hi + 1
        elif isinstance(base, BitT):
            width = base.width
        else:
            raise P4Error(e.loc, f"cannot slice a value of type {type_str(bt)}")
        if not (0 <= lo <= hi < width):
            raise P4Error(
                e.loc,
                f"slice [{hi}:{lo}] is out of range for {type_str(bt)} (need {width - 1} >= "
                "hi >= lo >= 0)",
            )
        t = BitT(hi - lo + 1)
        c = e.expr.const
        if isinstance(c, int) and not isinstance(c, bool):
            e.const = (c >> lo) & ((1 << (hi - lo + 1)) - 1)
        return t


# ================================================================== helpers


def _is_ctor_param(e: ast.Expr) -> bool:
    """A constructor parameter of the enclosing parser/control: constant once instantiated."""
    return isinstance(e, ast.PathExpr) and isinstance(e.decl, ast.Param) and e.decl.direction == ""


def _ret_of(d: object) -> Type:
    ret = getattr(d, "ret", None)
    if isinstance(ret, ast.TypeRef) and ret.resolved is not None:
        return ret.resolved
    return VOID


def match_args(
    args: Sequence[ast.Arg], params: Sequence[ast.Param], loc: Loc, what: str
) -> list[tuple[ast.Arg, ast.Param]]:
    """Pair call arguments with parameters, in the order the arguments are written.

    P4_16 allows either all-positional or all-named arguments; named ones match
    parameters by name in any order. Parameters left out must have defaults.
    """
    if not any(a.name for a in args):
        required = [p for p in params if p.default is None]
        if not (len(required) <= len(args) <= len(params)):
            raise P4Error(loc, f"{what} takes {len(params)} argument(s), {len(args)} given")
        return list(zip(args, params, strict=False))
    if not all(a.name for a in args):
        bad = next(a for a in args if not a.name)
        raise P4Error(
            bad.loc, f"{what}: cannot mix named and positional arguments; name all or none"
        )
    byname = {p.name: p for p in params}
    pairs: list[tuple[ast.Arg, ast.Param]] = []
    seen: set[str] = set()
    for a in args:
        assert a.name is not None
        if a.name not in byname:
            raise P4Error(a.loc, f"{what} has no parameter named '{a.name}'")
        if a.name in seen:
            raise P4Error(a.loc, f"{what}: argument '{a.name}' is given twice")
        seen.add(a.name)
        pairs.append((a, byname[a.name]))
    for p in params:
        if p.name not in seen and p.default is None:
            raise P4Error(loc, f"{what}: missing argument for parameter '{p.name}'")
    return pairs


def args_in_param_order(
    args: Sequence[ast.Arg], params: Sequence[ast.Param], loc: Loc, what: str
) -> list[ast.Arg | None]:
    """Arguments rearranged into parameter order; None where a parameter was left out."""
    slot = {id(p): i for i, p in enumerate(params)}
    out: list[ast.Arg | None] = [None] * len(params)
    for a, p in match_args(args, params, loc, what):
        out[slot[id(p)]] = a
    return out


def _params_of(d: object) -> list[ast.Param]:
    ps = getattr(d, "params", None)
    return ps if isinstance(ps, list) else []


def _strip_new(t: Type | None) -> Type | None:
    while isinstance(t, NewTypeT):
        t = t.base
    return t


def _num_base(t: Type | None) -> Type | None:
    return _strip_new(t)


def _keyable(t: Type | None) -> bool:
    b = _strip_new(t)
    return isinstance(b, BitT | BoolT | EnumT | ErrorT)


def _fixed_width(t: Type | None) -> bool:
    b = _strip_new(t)
    if isinstance(b, BitT | BoolT):
        return True
    if isinstance(b, EnumT):
        return b.underlying is not None
    if isinstance(b, HeaderT | StructT):
        return all(_fixed_width(ft) for _, ft in b.fields)
    return False


def _is_block_instance(e: ast.Expr) -> bool:
    """A parser/control instance named as a constructor argument."""
    return isinstance(e, ast.PathExpr) and isinstance(e.type, ParserT | ControlT)


def _emittable(t: Type | None) -> bool:
    if isinstance(t, HeaderT | StackT | HeaderUnionT):
        return True
    if isinstance(t, StructT):
        return all(_emittable(ft) for _, ft in t.fields)
    return False


def _has_var(t: Type | None, vars_: set[TypeVarT]) -> bool:
    if isinstance(t, TypeVarT):
        return t in vars_
    if isinstance(t, TupleT):
        return any(_has_var(x, vars_) for x in t.elems)
    return False


def _has_infint(t: Type | None) -> bool:
    if isinstance(t, InfIntT):
        return True
    if isinstance(t, TupleT):
        return any(_has_infint(x) for x in t.elems)
    return False


def _subst(t: Type | None, s: dict[TypeVarT, Type]) -> Type:
    if t is None:
        return VOID
    if isinstance(t, TypeVarT):
        return s.get(t, t)
    if isinstance(t, TupleT):
        return TupleT(tuple(_subst(x, s) for x in t.elems))
    if isinstance(t, StackT):
        return StackT(_subst(t.elem, s), t.size)
    if isinstance(t, ExternT | ParserT | ControlT | PackageT) and t.type_args:
        args = tuple(_subst(x, s) for x in t.type_args)
        return type(t)(t.name, t.decl, args)  # type: ignore[arg-type]
    return t


def _fold(op: str, a: int, b: int, t: Type | None) -> int:
    if op == "+":
        v = a + b
    elif op == "-":
        v = a - b
    elif op == "*":
        v = a * b
    elif op == "/":
        v = a // b
    elif op == "%":
        v = a % b
    elif op == "&":
        v = a & b
    elif op == "|":
        v = a | b
    elif op == "^":
        v = a ^ b
    elif op in ("|+|", "|-|"):
        assert isinstance(t, BitT)
        v = a + b if op == "|+|" else a - b
        if t.signed:
            lo, hi = -(1 << (t.width - 1)), (1 << (t.width - 1)) - 1
        else:
            lo, hi = 0, (1 << t.width) - 1
        return max(lo, min(hi, v))
    else:
        raise AssertionError(op)
    return wrap(v, t)


def _always_returns(s: ast.Stmt | ast.Declaration) -> bool:
    if isinstance(s, ast.Return | ast.Exit):
        return True
    if isinstance(s, ast.Block):
        return any(_always_returns(x) for x in s.stmts)
    if isinstance(s, ast.If):
        return s.other is not None and _always_returns(s.then) and _always_returns(s.other)
    if isinstance(s, ast.Switch):
        return any(isinstance(lab, ast.Default) for c in s.cases for lab in c.labels) and all(
            c.body is None or _always_returns(c.body) for c in s.cases
        )
    return False


def _typed(e: ast.Expr) -> Type:
    """The type of an expression the checker has typed."""
    assert e.type is not None
    return e.type


def _direct_calls(s: ast.Stmt) -> Iterator[ast.Call]:
    """Calls in the expressions of s itself (not of nested statements)."""
    exprs: list[ast.Expr] = []
    if isinstance(s, ast.Assign):
        exprs = [s.lhs, s.rhs]
    elif isinstance(s, ast.CallStmt):
        exprs = [s.call]
    elif isinstance(s, ast.If):
        exprs = [s.cond]
    elif isinstance(s, ast.Switch | ast.Return) and s.expr is not None:
        exprs = [s.expr]
    for e in exprs:
        yield from iter_calls(e)


def iter_exprs(e: ast.Expr | None) -> Iterator[ast.Expr]:
    """Every expression node under e, e first."""
    if e is None:
        return
    yield e
    for name in (
        "expr",
        "left",
        "right",
        "cond",
        "then",
        "other",
        "index",
        "hi",
        "lo",
        "func",
        "value",
        "mask",
    ):
        sub = getattr(e, name, None)
        if isinstance(sub, ast.Expr):
            yield from iter_exprs(sub)
    if isinstance(e, ast.Call):
        for a in e.args:
            yield from iter_exprs(a.expr)
    if isinstance(e, ast.ListExpr):
        for it in e.items:
            yield from iter_exprs(it)
    if isinstance(e, ast.StructInit):
        for _, v in e.fields:
            yield from iter_exprs(v)


def iter_calls(e: ast.Expr) -> Iterator[ast.Call]:
    for x in iter_exprs(e):
        if isinstance(x, ast.Call):
            yield x


def typecheck(program: ast.Program) -> TypeChecker:
    """Type-check a program in place; raises P4Error on the first problem."""
    tc = TypeChecker(program)
    tc.check()
    return tc
