"""Expression and statement code generation (P4 AST -> Python source text).

Every generated expression string is an *atom* (parenthesized when it is
not a name, attribute, call or literal), so callers can embed it anywhere.
Scalar results are always reduced to their type's width; int<W> values are
kept as W-bit two's-complement patterns and converted to Python's signed
ints only where the sign matters (comparisons, >>, division, casts that
widen, saturation).
"""

from __future__ import annotations

import dataclasses

from softswitch.engine.context import Fn, GenContext, UnsupportedError, operand
from softswitch.engine.values import base_type, is_aggregate, width_of
from softswitch.frontend import ast as A


def mask(w: int) -> int:
    return (1 << w) - 1


def const_of(v: object, t: A.Type | None) -> str:
    """Python literal for a folded constant of type t."""
    t = base_type(t)
    if isinstance(v, bool):
        if isinstance(t, A.BitT):
            return str(int(v))
        return "True" if v else "False"
    if isinstance(v, int):
        if isinstance(t, A.BitT):
            return str(v & mask(t.width))
        if isinstance(t, A.BoolT):
            return "True" if v else "False"
        return str(v)
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, tuple):
        return "(" + "".join(f"{const_of(x, None)}, " for x in v) + ")"
    raise TypeError(f"constant {v!r}")


def signed(x: str, w: int) -> str:
    """Signed value of a w-bit two's-complement pattern."""
    s = 1 << (w - 1)
    return f"(({x} ^ {s}) - {s})"


class ExprConverter:
    """Expressions and statements, generated in one shared `GenContext`."""

    def __init__(self, ctx: GenContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------ helpers

    def is_signed(self, t: A.Type | None) -> bool:
        t = base_type(t)
        return isinstance(t, A.BitT) and t.signed

    def enum_value(self, e: A.Member) -> int:
        t = base_type(e.type)
        if isinstance(t, A.EnumT):
            if t.underlying is not None and e.name in t.values:
                return t.values[e.name]
            return t.members.index(e.name)
        if isinstance(t, A.ErrorT):
            return self.ctx.error_code(e.name)
        raise UnsupportedError(e.loc, f"enum member {e.name}")

    # ------------------------------------------------------------ expressions

    def expr(self, e: A.Expr, fn: Fn) -> str:
        t = base_type(e.type)
        if (
            isinstance(e.const, bool | int)
            and not isinstance(e, A.StringLit | A.ListExpr | A.StructInit)
            and not is_aggregate(t)
        ):
            return const_of(e.const, t)
        m = getattr(self, "x_" + type(e).__name__, None)
        if m is None:
            raise UnsupportedError(e.loc, f"expression {type(e).__name__}")
        r: str = m(e, fn)
        return r

    def x_IntLit(self, e: A.IntLit, fn: Fn) -> str:
        return const_of(e.value, e.type)

    def x_BoolLit(self, e: A.BoolLit, fn: Fn) -> str:
        return "True" if e.value else "False"

    def x_StringLit(self, e: A.StringLit, fn: Fn) -> str:
        return repr(e.value)

    def x_TypeExpr(self, e: A.TypeExpr, fn: Fn) -> str:
        raise UnsupportedError(e.loc, "a type used as a value")

    def x_PathExpr(self, e: A.PathExpr, fn: Fn) -> str:
        d = e.decl
        name = fn.locals.get(id(d))
        if name is not None:
            return name
        name = self.ctx.frame_names.get(id(d))
        if name is not None:
            return name
        if isinstance(d, A.ConstDecl):
            if d.value.const is None:
                return self.expr(d.value, fn)
            return const_of(d.value.const, e.type)
        if isinstance(d, A.Instantiation):
            raise UnsupportedError(e.loc, f"instance {e.name} used as a value")
        if isinstance(d, A.Param) and any(d is p for p in self.ctx.cur_block.decl.ctor_params):
            v = self.ctx.cur_block.ctor_args.get(d.name)
            if isinstance(v, bool | int):
                return const_of(v, e.type)
        raise UnsupportedError(e.loc, f"reference to {e.name}")

    def x_Member(self, e: A.Member, fn: Fn) -> str:
        k = e.kind
        if k == "field":
            base = self.expr(operand(e.expr, e.loc), fn)
            return f"{base}.{e.name}"
        if k in ("enum_member", "error_member"):
            return str(self.enum_value(e))
        if k == "stack_next":
            return f"_snext({self.expr(operand(e.expr, e.loc), fn)})"
        if k == "stack_last":
            return f"_slast({self.expr(operand(e.expr, e.loc), fn)})"
        if k == "stack_size":
            st = base_type(operand(e.expr, e.loc).type)
            assert isinstance(st, A.StackT)
            return str(st.size)
        if k == "stack_lastIndex":
            return f"(({self.expr(operand(e.expr, e.loc), fn)}.n - 1) & 0xffffffff)"
        if k in ("hit", "miss"):
            call = e.expr
            if not isinstance(call, A.Call):
                raise UnsupportedError(e.loc, f".{k} of something other than apply()")
            hit = self.ctx.controls.table_apply_expr(call, fn)
            assert hit is not None
            return hit if k == "hit" else f"(not {hit})"
        if k == "action_run":
            raise UnsupportedError(e.loc, "action_run outside switch")
        if k == "type_member" and e.const is not None:
            return const_of(e.const, e.type)
        raise UnsupportedError(e.loc, f"member .{e.name} ({k})")

    def x_Index(self, e: A.Index, fn: Fn) -> str:
        s = self.expr(operand(e.expr, e.loc), fn)
        st = base_type(operand(e.expr, e.loc).type)
        idx = e.index
        assert idx is not None
        if idx.const is not None and isinstance(idx.const, int):
            if isinstance(st, A.StackT) and not 0 <= idx.const < st.size:
                raise UnsupportedError(e.loc, "constant stack index out of bounds")
            return f"{s}.h[{idx.const}]"
        return f"_sidx({s}, {self.expr(idx, fn)})"

    def x_Slice(self, e: A.Slice, fn: Fn) -> str:
        hi, lo = _slice_bounds(e)
        x = self.expr(operand(e.expr, e.loc), fn)
        m = mask(hi - lo + 1)
        if lo == 0:
            return f"({x} & {m:#x})"
        return f"(({x} >> {lo}) & {m:#x})"

    def x_Unary(self, e: A.Unary, fn: Fn) -> str:
        x = self.expr(operand(e.expr, e.loc), fn)
        t = base_type(e.type)
        if e.op == "!":
            return f"(not {x})"
        if e.op == "+":
            return x
        if isinstance(t, A.InfIntT):
            return f"({e.op}{x})"
        w = width_of(t)
        if e.op == "-":
            return f"((-{x}) & {mask(w):#x})"
        if e.op == "~":
            return f"({x} ^ {mask(w):#x})"
        raise UnsupportedError(e.loc, f"operator {e.op}")

    # ------------------------------------------------------------ evaluation order
    # Most expressions become one Python expression, evaluated where it is used.
    # A call with out/inout arguments also emits statements (the copy-out) before
    # the line that uses its value. P4 evaluates left to right (spec 8.1) and
    # ?:, && and || evaluate only the operand they select, so: an operand that
    # emitted statements is moved under the condition that selects it, and the
    # operands before it are saved to temporaries before its statements run.

    def capture(self, e: A.Expr, fn: Fn) -> tuple[str, list[str]]:
        """Generate e; return its value and the statements it emitted (taken out of fn)."""
        start = len(fn.lines)
        v = self.expr(e, fn)
        lines = fn.lines[start:]
        del fn.lines[start:]
        return v, lines

    def in_order(self, exprs: list[A.Expr], fn: Fn) -> list[str]:
        """Values of exprs evaluated left to right, side effects included."""
        vals: list[str] = []
        for x in exprs:
            start = len(fn.lines)
            v = self.expr(x, fn)
            if len(fn.lines) > start:
                for i, pv in enumerate(vals):
                    if not _constant(pv):
                        t = fn.tmp("o")
                        fn.lines.insert(start, "    " * fn.indent + f"{t} = {pv}")
                        start += 1
                        vals[i] = t
            vals.append(v)
        return vals

    def _emit_under(self, fn: Fn, lines: list[str]) -> None:
        fn.lines.extend("    " + ln for ln in lines)

    def x_Ternary(self, e: A.Ternary, fn: Fn) -> str:
        c = self.expr(operand(e.cond, e.loc), fn)
        a, la = self.capture(operand(e.then, e.loc), fn)
        b, lb = self.capture(operand(e.other, e.loc), fn)
        if not la and not lb:
            return f"({a} if {c} else {b})"
        t = fn.tmp("q")
        fn.emit(f"if {c}:")
        self._emit_under(fn, la)
        fn.emit(f"    {t} = {a}")
        fn.emit("else:")
        self._emit_under(fn, lb)
        fn.emit(f"    {t} = {b}")
        return t

    def _short_circuit(self, e: A.Binary, fn: Fn) -> str:
        a = self.expr(operand(e.left, e.loc), fn)
        b, lb = self.capture(operand(e.right, e.loc), fn)
        py = "and" if e.op == "&&" else "or"
        if not lb:
            return f"({a} {py} {b})"
        t = fn.tmp("q")
        fn.emit(f"{t} = {a}")
        fn.emit(f"if {'' if e.op == '&&' else 'not '}{t}:")
        self._emit_under(fn, lb)
        fn.emit(f"    {t} = {b}")
        return t

    def x_Binary(self, e: A.Binary, fn: Fn) -> str:
        op = e.op
        lt, rt = base_type(operand(e.left, e.loc).type), base_type(operand(e.right, e.loc).type)
        if op in ("&&", "||"):
            return self._short_circuit(e, fn)
        if op in ("==", "!=") and is_aggregate(lt):
            return self.aggregate_eq(e, fn)
        a, b = self.in_order([operand(e.left, e.loc), operand(e.right, e.loc)], fn)
        if op in ("==", "!="):
            return f"({a} {op} {b})"
        if op in ("<", "<=", ">", ">="):
            t = lt if not isinstance(lt, A.InfIntT) else rt
            if self.is_signed(t):
                w = width_of(t)
                return f"({signed(a, w)} {op} {signed(b, w)})"
            return f"({a} {op} {b})"
        t = base_type(e.type)
        if op == "++":
            wb = width_of(rt)
            return f"(({a} << {wb}) | {b})"
        if isinstance(t, A.InfIntT):
            pyop = {"/": "//"}.get(op, op)
            return f"({a} {pyop} {b})"
        w = width_of(t)
        m = mask(w)
        sg = self.is_signed(t)
        if op in ("+", "-", "*"):
            return f"(({a} {op} {b}) & {m:#x})"
        if op in ("&", "|", "^"):
            return f"({a} {op} {b})"
        if op == "<<":
            c = operand(e.right, e.loc).const
            if isinstance(c, int):
                return "0" if c >= w else f"(({a} << {c}) & {m:#x})"
            return f"_shl({a}, {b}, {w})"
        if op == ">>":
            if sg:
                c = operand(e.right, e.loc).const
                if isinstance(c, int):
                    c = min(c, w)
                    return f"(({signed(a, w)} >> {c}) & {m:#x})"
                return f"(({signed(a, w)} >> {b}) & {m:#x})"
            return f"({a} >> {b})"
        if op in ("/", "%"):
            f = "_div" if op == "/" else "_mod"
            if sg:
                return f"({f}({signed(a, w)}, {signed(b, w)}) & {m:#x})"
            return f"{f}({a}, {b})"
        if op == "|+|":
            if sg:
                return f"_ssat({signed(a, w)} + {signed(b, w)}, {w})"
            return f"min({a} + {b}, {m:#x})"
        if op == "|-|":
            if sg:
                return f"_ssat({signed(a, w)} - {signed(b, w)}, {w})"
            return f"max({a} - {b}, 0)"
        raise UnsupportedError(e.loc, f"operator {op}")

    def aggregate_eq(self, e: A.Binary, fn: Fn) -> str:
        """`==`/`!=` on headers, structs and stacks (an initializer takes the other side's type)."""
        left, right = e.left, e.right
        assert left is not None and right is not None
        t = left.type if not isinstance(left, A.ListExpr | A.StructInit) else right.type
        a = self.build_aggregate(t, left, fn)
        b = self.build_aggregate(t, right, fn)
        x = self.ctx.types.eq(t, a, b)
        return x if e.op == "==" else f"(not {x})"

    def x_Cast(self, e: A.Cast, fn: Fn) -> str:
        to = base_type(e.type)
        src_e = e.expr
        assert src_e is not None
        fr = base_type(src_e.type)
        x = self.expr(src_e, fn)
        if isinstance(to, A.BoolT):
            if isinstance(fr, A.BoolT):
                return x
            return f"({x} != 0)"
        if isinstance(to, A.BitT | A.EnumT):
            wt = width_of(to)
            if isinstance(fr, A.BoolT):
                return f"int({x})"
            if isinstance(fr, A.InfIntT):
                return f"({x} & {mask(wt):#x})"
            if isinstance(fr, A.BitT | A.EnumT):
                wf = width_of(fr)
                if wt < wf:
                    return f"({x} & {mask(wt):#x})"
                if wt > wf and self.is_signed(fr):
                    return f"({signed(x, wf)} & {mask(wt):#x})"
                return x
        if isinstance(to, A.InfIntT):
            return x
        if is_aggregate(to) and is_aggregate(fr):
            return x
        raise UnsupportedError(e.loc, f"cast from {type(fr).__name__} to {type(to).__name__}")

    def x_Call(self, e: A.Call, fn: Fn) -> str:
        r = self.ctx.calls.call(e, fn, want_value=True)
        if r is None:
            raise UnsupportedError(e.loc, "call of a void function as a value")
        return r

    def x_ListExpr(self, e: A.ListExpr, fn: Fn) -> str:
        return "(" + "".join(self.expr(i, fn) + ", " for i in e.items) + ")"

    # ------------------------------------------------------------ aggregates

    def flat_scalars(self, e: A.Expr, fn: Fn) -> list[tuple[str, int | str, str | None]]:
        """The scalar leaves of an expression, in order: (python expr, width, validity guard).

        The width of a varbit field is an expression (its current width).

        The guard (a header object expression) is set for fields of headers: BMv2
        leaves fields of invalid headers out of field lists (hash/checksum data).
        """
        t = base_type(e.type)
        if isinstance(e, A.ListExpr):
            out = []
            for i in e.items:
                out.extend(self.flat_scalars(i, fn))
            return out
        if isinstance(e, A.StructInit):
            out = []
            for _, fe in e.fields:
                out.extend(self.flat_scalars(fe, fn))
            return out
        if isinstance(t, A.HeaderT | A.StructT | A.HeaderUnionT):
            obj = self.expr(e, fn)
            return self._flat_obj(obj, t)
        if isinstance(e, A.Member) and e.kind == "field":
            bt = base_type(operand(e.expr, e.loc).type)
            x = self.expr(e, fn)
            if isinstance(t, A.BoolT):
                x = f"int({x})"
            if isinstance(bt, A.HeaderT):
                h = self.expr(operand(e.expr, e.loc), fn)
                w = f"{h}._vl_{e.name}" if isinstance(t, A.VarbitT) else width_of(t)
                return [(x, w, h)]
            return [(x, width_of(t), None)]
        x = self.expr(e, fn)
        if isinstance(t, A.BoolT):
            x = f"int({x})"
        if isinstance(t, A.InfIntT):
            raise UnsupportedError(e.loc, "an unsized integer in a field list")
        return [(x, width_of(t), None)]

    def _flat_obj(self, obj: str, t: A.Type) -> list[tuple[str, int | str, str | None]]:
        if not isinstance(t, A.HeaderT | A.StructT | A.HeaderUnionT):
            raise UnsupportedError(None, f"a field list with a {type(t).__name__}")
        out: list[tuple[str, int | str, str | None]] = []
        for f, ft in t.fields:
            bt = base_type(ft)
            if isinstance(bt, A.HeaderT | A.StructT | A.HeaderUnionT):
                out.extend(self._flat_obj(f"{obj}.{f}", bt))
            elif isinstance(bt, A.StackT):
                for i in range(bt.size):
                    out.extend(self._flat_obj(f"{obj}.{f}.h[{i}]", bt.elem))
            else:
                x = f"{obj}.{f}"
                if isinstance(bt, A.BoolT):
                    x = f"int({x})"
                w = f"{obj}._vl_{f}" if isinstance(bt, A.VarbitT) else width_of(bt)
                out.append((x, w, obj if isinstance(t, A.HeaderT) else None))
        return out

    def build_aggregate(self, ty: A.Type | None, e: A.Expr, fn: Fn) -> str:
        """A new object of aggregate type t from a list / struct initializer / value."""
        t = base_type(ty)
        if isinstance(e, A.ListExpr | A.StructInit):
            if not isinstance(t, A.HeaderT | A.StructT | A.HeaderUnionT):
                raise UnsupportedError(e.loc, "an initializer of this type")
            tmp = fn.tmp("agg")
            fn.emit(f"{tmp} = {self.ctx.types.new(t)}")
            if isinstance(e, A.ListExpr):
                pairs = list(zip([f for f, _ in t.fields], e.items, strict=False))
            else:
                pairs = list(e.fields)
            ftypes = dict(t.fields)
            for fname, fe in pairs:
                ft = base_type(ftypes[fname])
                if is_aggregate(ft):
                    sub = self.build_aggregate(ft, fe, fn)
                    fn.emit(self.ctx.types.assign(ft, f"{tmp}.{fname}", sub))
                else:
                    fn.emit(f"{tmp}.{fname} = {self.expr(fe, fn)}")
            if isinstance(t, A.HeaderT):
                fn.emit(f"{tmp}._v = True")
            return tmp
        return self.expr(e, fn)

    # ------------------------------------------------------------ l-values

    def assign(self, lhs: A.Expr, value: str, fn: Fn) -> None:
        """Emit `lhs = value` for a scalar lhs (value is an already generated atom)."""
        if isinstance(lhs, A.PathExpr):
            d = lhs.decl
            name = fn.locals.get(id(d))
            if name is not None:
                fn.emit(f"{name} = {value}")
                return
            name = self.ctx.frame_names.get(id(d))
            if name is not None:
                fn.globals_assigned.add(name)
                fn.emit(f"{name} = {value}")
                return
            raise UnsupportedError(lhs.loc, f"assignment to {lhs.name}")
        if isinstance(lhs, A.Member) and lhs.kind == "field":
            base_t = base_type(operand(lhs.expr, lhs.loc).type)
            obj = self.expr(operand(lhs.expr, lhs.loc), fn)
            if isinstance(base_t, A.HeaderT):
                if not _simple(obj):
                    o = fn.tmp("h")
                    fn.emit(f"{o} = {obj}")
                    obj = o
                fn.emit(f"{obj}.{lhs.name} = {value}; {obj}._raw = None")
            else:
                fn.emit(f"{obj}.{lhs.name} = {value}")
                self.touch_header(operand(lhs.expr, lhs.loc), fn)
            return
        if isinstance(lhs, A.Slice):
            hi, lo = _slice_bounds(lhs)
            inner = lhs.expr
            assert inner is not None
            cur = self.expr(inner, fn)
            m = mask(hi - lo + 1) << lo
            wt = width_of(inner.type)
            keep = mask(wt) & ~m
            self.assign(inner, f"(({cur} & {keep:#x}) | (({value} << {lo}) & {m:#x}))", fn)
            return
        raise UnsupportedError(lhs.loc, f"assignment to {type(lhs).__name__}")

    def pin_lvalue(self, lhs: A.Expr, fn: Fn) -> A.Expr:
        """lhs with the stack indexes that contain calls evaluated now (into temporaries).

        As p4c orders side effects for BMv2: a call inside the left-hand side runs
        before the right-hand side; a plain index (`s[h.i] = f(h.i)`) is read
        after the right-hand side ran.
        """
        if isinstance(lhs, A.Index) and lhs.index is not None and _has_call(lhs.index):
            t = fn.tmp("ix")
            fn.emit(f"{t} = {self.expr(lhs.index, fn)}")
            pin = A.PathExpr(lhs.index.loc, name=t, decl=object(), type=lhs.index.type)
            fn.locals[id(pin.decl)] = t
            inner = self.pin_lvalue(operand(lhs.expr, lhs.loc), fn)
            return dataclasses.replace(lhs, expr=inner, index=pin)
        if isinstance(lhs, A.Member | A.Slice | A.Index) and isinstance(lhs.expr, A.Expr):
            return dataclasses.replace(lhs, expr=self.pin_lvalue(lhs.expr, fn))
        return lhs

    def touch_header(self, e: A.Expr, fn: Fn) -> None:
        """e (a struct) was written: if it lies inside a header, the header's bytes changed."""
        outer: A.Expr | A.TypeRef | None = e
        while isinstance(outer, A.Member) and outer.kind == "field":
            outer = outer.expr
            if isinstance(outer, A.Expr) and isinstance(base_type(outer.type), A.HeaderT):
                fn.emit(f"{self.expr(outer, fn)}._raw = None")
                return

    def union_member_valid(self, h: A.Expr, fn: Fn) -> None:
        """After header `h` may have become valid: if it is a header_union member,
        the union's other members become invalid (spec 8.20, as BMv2)."""
        if not (isinstance(h, A.Member) and h.kind == "field" and isinstance(h.expr, A.Expr)):
            return
        ut = base_type(h.expr.type)
        if not isinstance(ut, A.HeaderUnionT):
            return
        u = self.expr(h.expr, fn)
        others = [f for f, _ in ut.fields if f != h.name]
        if others:
            fn.emit(f"if {u}.{h.name}._v: " + "; ".join(f"{u}.{o}._v = False" for o in others))

    def s_Assign(self, s: A.Assign, fn: Fn) -> None:
        if _has_runtime_index(s.lhs) and _has_call(s.rhs):
            s = dataclasses.replace(s, lhs=self.pin_lvalue(s.lhs, fn))
        lt = base_type(s.lhs.type)
        if is_aggregate(lt):
            src = self.build_aggregate(lt, s.rhs, fn)
            dst = self.expr(s.lhs, fn)
            fn.emit(self.ctx.types.assign(lt, dst, src))
            if isinstance(lt, A.HeaderT):
                self.union_member_valid(s.lhs, fn)
            elif isinstance(lt, A.StructT):
                self.touch_header(s.lhs, fn)
            return
        if isinstance(s.rhs, A.Call):
            v = self.ctx.calls.call(s.rhs, fn, want_value=True)
            if v is None:
                raise UnsupportedError(s.loc, "assignment from a void call")
        else:
            v = self.expr(s.rhs, fn)
        v = self.fit(v, s.rhs.type, lt)
        self.assign(s.lhs, v, fn)

    def fit(self, v: str, frm: A.Type | None, to: A.Type | None) -> str:
        """Reduce an unsized value to the destination width when needed."""
        frm, to = base_type(frm), base_type(to)
        if isinstance(frm, A.InfIntT) and isinstance(to, A.BitT):
            return f"({v} & {mask(to.width):#x})"
        return v

    # ------------------------------------------------------------ statements

    def stmt(self, s: A.Stmt | A.Declaration, fn: Fn) -> None:
        if isinstance(s, A.VarDecl):
            start = len(fn.lines)
            self.local_var(s, fn)
            fn.mark(start, s.loc)
            return
        if isinstance(s, A.ConstDecl):
            return
        if isinstance(s, A.Declaration):
            raise UnsupportedError(s.loc, f"declaration {type(s).__name__} in a block")
        m = getattr(self, "s_" + type(s).__name__, None)
        if m is None:
            raise UnsupportedError(s.loc, f"statement {type(s).__name__}")
        start = len(fn.lines)
        m(s, fn)
        fn.mark(start, s.loc)

    def local_var(self, d: A.VarDecl, fn: Fn) -> None:
        t = base_type(d.type.resolved)
        name = f"l{len(fn.locals)}_{d.name}"
        fn.locals[id(d)] = name
        if is_aggregate(t):
            fn.emit(f"{name} = {self.ctx.types.new(t)}")
            if d.init is not None:
                src = self.build_aggregate(t, d.init, fn)
                fn.emit(self.ctx.types.assign(t, name, src))
        elif d.init is not None:
            if isinstance(d.init, A.Call):
                v = self.ctx.calls.call(d.init, fn, want_value=True)
                if v is None:
                    raise UnsupportedError(d.loc, "initialization from a void call")
            else:
                v = self.expr(d.init, fn)
            fn.emit(f"{name} = {self.fit(v, d.init.type, t)}")
        else:
            fn.emit(f"{name} = {self.ctx.types.new(t)}")

    def block(self, stmts: list[A.Stmt | A.Declaration], fn: Fn) -> None:
        start = len(fn.lines)
        for s in stmts:
            self.stmt(s, fn)
        if len(fn.lines) == start:
            fn.emit("pass")

    def s_Block(self, s: A.Block, fn: Fn) -> None:
        self.block(s.stmts, fn)

    def s_Empty(self, s: A.Empty, fn: Fn) -> None:
        fn.emit("pass")

    def s_CallStmt(self, s: A.CallStmt, fn: Fn) -> None:
        self.ctx.calls.call(s.call, fn, want_value=False)

    def s_If(self, s: A.If, fn: Fn) -> None:
        c = self.expr(s.cond, fn)
        fn.emit(f"if {c}:")
        fn.indent += 1
        self.stmt_as_block(s.then, fn)
        fn.indent -= 1
        if s.other is not None:
            fn.emit("else:")
            fn.indent += 1
            self.stmt_as_block(s.other, fn)
            fn.indent -= 1

    def stmt_as_block(self, s: A.Stmt, fn: Fn) -> None:
        start = len(fn.lines)
        self.stmt(s, fn)
        if len(fn.lines) == start:
            fn.emit("pass")

    def s_Exit(self, s: A.Exit, fn: Fn) -> None:
        fn.emit("raise _Exit")

    def s_Return(self, s: A.Return, fn: Fn) -> None:
        v = None
        if s.expr is not None and is_aggregate(fn.ret_type):
            # a new value: the caller may keep it, and `{...}` needs the type
            src = self.build_aggregate(fn.ret_type, s.expr, fn)
            v = fn.tmp("ret")
            fn.emit(f"{v} = {self.ctx.types.copy(fn.ret_type, src)}")
        elif s.expr is not None:
            v = self.fit(self.expr(s.expr, fn), s.expr.type, fn.ret_type)
        fn.emit(fn.ret_stmt(v))

    def s_Switch(self, s: A.Switch, fn: Fn) -> None:
        x = s.expr
        if isinstance(x, A.Member) and x.kind == "action_run":
            call = x.expr
            assert isinstance(call, A.Call)
            self.ctx.controls.table_apply_expr(call, fn, as_stmt=True)
            sel = fn.tmp("run")
            fn.emit(f"{sel} = _RUN")
            action_label = True
        else:
            sel = fn.tmp("sw")
            fn.emit(f"{sel} = {self.expr(x, fn)}")
            action_label = False
        first = True
        pending: list[str] = []
        for case in s.cases:
            is_default = any(isinstance(lb, A.Default) for lb in case.labels)
            for lb in case.labels:
                if isinstance(lb, A.Default):
                    continue
                if action_label:
                    pending.append(str(self.ctx.controls.action_id_of_label(lb)))
                else:
                    pending.append(self.expr(lb, fn))
            if case.body is None:
                continue  # fall through: labels join the next case
            if is_default:
                fn.emit("else:" if not first else "if True:")
            else:
                cond = " or ".join(f"{sel} == {v}" for v in pending) or "False"
                fn.emit(f"{'if' if first else 'elif'} {cond}:")
            first = False
            pending = []
            fn.indent += 1
            self.block(case.body.stmts, fn)
            fn.indent -= 1


def _slice_bounds(e: A.Slice) -> tuple[int, int]:
    """(hi, lo) of a slice; the type checker folded both to constants."""
    hi = e.hi.const if e.hi is not None else None
    lo = e.lo.const if e.lo is not None else None
    if not isinstance(hi, int) or not isinstance(lo, int):
        raise UnsupportedError(e.loc, "a slice with bounds that are not constants")
    return int(hi), int(lo)


def _has_runtime_index(e: A.Expr | A.TypeRef | None) -> bool:
    """Whether an l-value has a stack index with a call in it."""
    while isinstance(e, A.Member | A.Slice | A.Index):
        if isinstance(e, A.Index) and e.index is not None and _has_call(e.index):
            return True
        e = e.expr
    return False


def _has_call(e: object) -> bool:
    """Whether an expression tree contains a call (which may have side effects)."""
    if isinstance(e, A.Call):
        return True
    if isinstance(e, list | tuple):
        return any(_has_call(x) for x in e)
    if isinstance(e, A.Expr):
        return any(
            _has_call(getattr(e, name))
            for name in e.__dataclass_fields__
            if name not in ("type", "const", "loc", "decl")
        )
    return False


def _constant(x: str) -> bool:
    return x.lstrip("-").isdigit() or x in ("True", "False")


def _simple(x: str) -> bool:
    return all(c.isalnum() or c in "._" for c in x)
