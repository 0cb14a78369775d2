"""Parser code generation: one Python function per parser state.

A state function runs the state's statements and returns the next state's
function (None for accept/reject). The packet is the module globals `_PD`
(bytes), `_PL` (length) and `_PO` (byte offset). Parser errors raise `_PErr`;
the driver catches it, records the error code and stops parsing, as BMv2
does: headers extracted so far stay valid, the packet continues to ingress
with `parser_error` set, and the unparsed bytes are the payload. The
packet_in methods a state calls (extract, lookahead, advance) are calls
(`externs.CallConverter`).
"""

from __future__ import annotations

from softswitch.engine.context import Fn, GenContext, UnsupportedError, operand
from softswitch.engine.controlgen import ControlConverter
from softswitch.engine.exprs import ExprConverter, const_of, mask
from softswitch.engine.values import base_type, width_of
from softswitch.frontend import ast as A


class ParserConverter:
    """Parser states and select, generated in one shared `GenContext`."""

    def __init__(self, ctx: GenContext, exprs: ExprConverter, controls: ControlConverter) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.controls = controls

    def gen_parser(self, b: A.BlockInstance, sub: bool = False) -> str:
        """The parser's entry function; `sub`: a parser applied by another parser.

        A sub-parser shares the packet and the position with its caller; its
        errors end the whole parse, as the caller's own would.
        """
        d = b.decl
        assert isinstance(d, A.ParserDecl)
        prefix = self.ctx.ident("P_" + b.qualname)
        for child in b.children.values():
            if isinstance(child.decl, A.ParserDecl):
                self.gen_parser(child, sub=True)
            else:
                raise UnsupportedError(child.decl.loc, "a control instantiated inside a parser")
        self.ctx.enter_block(b, prefix)
        state_fns = {s.name: f"{prefix}_s_{s.name}" for s in d.states}
        state_fns["accept"] = "None"
        state_fns["reject"] = "None"
        self.ctx.state_fns = state_fns
        # the parser entry binds the frame first: the states refer to it
        entry = Fn(prefix)
        params = self.controls.bind_params(d.params, entry)
        self.controls.init_frame_locals(d.locals, entry)
        for s in d.states:
            if s.name in ("accept", "reject"):
                continue
            fn = Fn(state_fns[s.name])
            self.exprs.block(s.stmts, fn)
            start = len(fn.lines)
            self.transition(s, fn)
            fn.mark(start, s.transition.loc if s.transition is not None else s.loc)
            self.ctx.out.extend(fn.source(f"def {fn.name}():"))
        start_fn = state_fns.get("start")
        if start_fn is None:
            raise UnsupportedError(d.loc, "a parser without a start state")
        if sub:
            entry.emit(f"st = {start_fn}")
            entry.emit("while st is not None:")
            entry.emit("    st = st()")
            self.ctx.out.extend(entry.source(f"def {prefix}({', '.join(params)}):"))
            self.ctx.leave_block()
            return prefix
        entry.globals_assigned.update({"_PD", "_PL", "_PO"})
        entry.emit("_PD = data; _PL = len(data); _PO = 0")
        entry.emit(f"st = {start_fn}")
        entry.emit("try:")
        entry.emit("    while st is not None:")
        entry.emit("        st = st()")
        entry.emit("except _PErr as exc:")
        entry.emit("    return _PO, exc.code")
        entry.emit("return _PO, 0")
        self.ctx.out.extend(entry.source(f"def {prefix}(data, {', '.join(params)}):"))
        self.ctx.leave_block()
        return prefix

    def transition(self, s: A.ParserState, fn: Fn) -> None:
        tr = s.transition
        if tr is None:
            fn.emit("return None")
            return
        if tr.select is None:
            fn.emit(f"return {self._state_ref(tr.state, tr.loc)}")
            return
        keys = [self.exprs.expr(k, fn) for k in tr.select]
        ktypes = [base_type(k.type) for k in tr.select]
        kv = []
        for k in keys:
            if k.isidentifier() or k.lstrip("-").isdigit():
                kv.append(k)
            else:
                t = fn.tmp("k")
                fn.emit(f"{t} = {k}")
                kv.append(t)
        # fast path: every case an exact constant (or default last) -> dict lookup
        simple = True
        table: list[tuple[object, str]] = []
        default: str | None = None
        for case in tr.cases:
            items = (
                case.keyset.items
                if isinstance(case.keyset, A.ListExpr) and len(kv) > 1
                else [case.keyset]
            )
            if len(items) == 1 and isinstance(items[0], A.Default):
                if default is None:
                    default = self._state_ref(case.state, case.loc)
                break
            if default is not None or len(items) != len(kv):
                simple = False
                break
            vals = []
            for it, kt in zip(items, ktypes, strict=True):
                if isinstance(it, A.Mask | A.Range | A.Default) or not isinstance(
                    it.const, int | bool
                ):
                    simple = False
                    break
                vals.append(
                    int(it.const) & (mask(width_of(kt)) if not isinstance(kt, A.InfIntT) else -1)
                )
            if not simple:
                break
            key = vals[0] if len(vals) == 1 else tuple(vals)
            if all(k != key for k, _ in table):
                table.append((key, self._state_ref(case.state, case.loc)))
        if simple and len(table) >= 3:
            name = self.ctx.ident(f"_SEL_{fn.name}")
            entries = ", ".join(f"{k!r}: {v}" for k, v in table)
            self.ctx.post.append(f"{name} = {{{entries}}}")
            kx = kv[0] if len(kv) == 1 else "(" + ", ".join(kv) + ",)"
            fn.emit(f"return {name}.get({kx}, {default or '_no_match'})")
            return
        for case in tr.cases:
            cond = self.keyset_cond(case.keyset, kv, ktypes, fn)
            target = self._state_ref(case.state, case.loc)
            if cond == "True":
                fn.emit(f"return {target}")
                return
            fn.emit(f"if {cond}: return {target}")
        fn.emit(f"raise _PErr({self.ctx.error_code('NoMatch')})")

    def _state_ref(self, name: str | None, loc: A.Loc) -> str:
        r = self.ctx.state_fns.get(name) if name is not None else None
        if r is None:
            raise UnsupportedError(loc, f"transition to unknown state {name}")
        return r

    def keyset_cond(self, ks: A.Expr, kv: list[str], ktypes: list[A.Type | None], fn: Fn) -> str:
        items = ks.items if len(kv) > 1 and isinstance(ks, A.ListExpr) else [ks]
        if len(items) == 1 and isinstance(items[0], A.Default):
            return "True"
        if len(kv) > 1 and isinstance(ks, A.PathExpr) and isinstance(ks.decl, A.ValueSetDecl):
            # a value set of structs matches the whole key tuple
            return f"{self.value_set_fn(ks.decl)}(({''.join(k + ', ' for k in kv)}))"
        if len(items) != len(kv):
            raise UnsupportedError(ks.loc, "keyset size differs from the select key")
        conds = []
        for it, k, t in zip(items, kv, ktypes, strict=True):
            c = self.keyset_item(it, k, t, fn)
            if c != "True":
                conds.append(c)
        return " and ".join(conds) if conds else "True"

    def keyset_item(self, it: A.Expr, k: str, t: A.Type | None, fn: Fn) -> str:
        if isinstance(it, A.Default):
            return "True"
        if isinstance(it, A.Mask):
            v = self.exprs.expr(operand(it.value, it.loc), fn)
            m = self.exprs.expr(operand(it.mask, it.loc), fn)
            return f"({k} & {m}) == ({v} & {m})"
        if isinstance(it, A.Range):
            lo = self.exprs.expr(operand(it.lo, it.loc), fn)
            hi = self.exprs.expr(operand(it.hi, it.loc), fn)
            return f"{lo} <= {k} <= {hi}"
        if isinstance(it, A.PathExpr) and isinstance(it.decl, A.ValueSetDecl):
            vs = self.value_set_fn(it.decl)
            return f"{vs}({k})"
        if isinstance(it.const, int | bool) and isinstance(t, A.BitT):
            return f"{k} == {const_of(it.const, t)}"
        return f"{k} == {self.exprs.expr(it, fn)}"

    def value_set_fn(self, d: A.ValueSetDecl) -> str:
        for vs in self.ctx.e.value_sets:
            if vs.decl is d:
                sets = getattr(self.ctx.state, "value_sets", {})
                obj = sets.get(vs.qualname)
                if obj is None:
                    return self.ctx.bind(_never, "vs")
                return self.ctx.bind(obj.matches, "vs")
        raise UnsupportedError(d.loc, f"value set {d.name}")


def _never(_key: object) -> bool:
    return False
