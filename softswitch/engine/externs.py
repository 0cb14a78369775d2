"""Calls: extern functions and objects of core.p4/v1model.p4, header and stack
methods, packet_in (extract, lookahead, advance) and packet_out (emit), and user
actions/functions with P4's copy-in/copy-out.

Semantics follow BMv2 simple_switch (primitives.cpp, calculations.cpp):
register/counter/meter indexes out of range read 0 and write nothing;
hash() is `base + (h % max)` (max 0: `base + h`) truncated to the result width;
only the last clone/resubmit/recirculate/digest call of a pass counts.
"""

from __future__ import annotations

from softswitch.engine.context import Fn, GenContext, UnsupportedError, operand
from softswitch.engine.exprs import ExprConverter, mask
from softswitch.engine.values import base_type, is_aggregate, width_of
from softswitch.frontend import ast as A

_HASH_NAMES = {
    "crc32": "crc32",
    "crc32_custom": "crc32_custom",
    "crc16": "crc16",
    "crc16_custom": "crc16_custom",
    "identity": "identity",
    "csum16": "csum16",
    "xor16": "xor16",
    "random": "random",
}


def _args_by_param(params: list[A.Param], args: list[A.Arg], loc: A.Loc) -> list[A.Expr | None]:
    """Arguments in parameter order (named arguments and defaults resolved)."""
    out: list[A.Expr | None] = [None] * len(params)
    pos = 0
    for a in args:
        if a.name is not None:
            idx = next((i for i, p in enumerate(params) if p.name == a.name), None)
            if idx is None:
                raise UnsupportedError(loc, f"named argument {a.name}")
            out[idx] = a.expr
        else:
            if pos >= len(params):
                raise UnsupportedError(loc, "too many arguments")
            out[pos] = a.expr
            pos += 1
    for i, p in enumerate(params):
        if out[i] is None and p.default is not None:
            out[i] = p.default
    return out


def _arg_exprs(c: A.Call) -> list[A.Expr]:
    """The arguments of an extern call; a don't-care `_` is refused."""
    out = []
    for a in c.args:
        if a.expr is None:
            raise UnsupportedError(a.loc, "a don't-care argument to this extern")
        out.append(a.expr)
    return out


class CallConverter:
    """Every kind of call, generated in one shared `GenContext`."""

    def __init__(self, ctx: GenContext, exprs: ExprConverter) -> None:
        self.ctx = ctx
        self.exprs = exprs

    def call(self, c: A.Call, fn: Fn, want_value: bool) -> str | None:
        f = c.func
        if isinstance(f, A.Member) and f.kind == "method":
            return self.method_call(c, f, fn, want_value)
        callee = c.callee
        if callee is None and isinstance(f, A.PathExpr):
            callee = f.decl
        if isinstance(callee, A.ActionDecl):
            self.action_call(c, callee, fn)
            return None
        if isinstance(callee, A.FunctionDecl):
            return self.function_call(c, callee, fn, want_value)
        if isinstance(callee, A.ExternFunctionDecl):
            return self.extern_function(c, callee, fn)
        name = f.name if isinstance(f, A.PathExpr) else type(f).__name__
        raise UnsupportedError(c.loc, f"call of {name}")

    # ------------------------------------------------------------ user calls

    def user_call(
        self,
        target: str,
        params: list[A.Param],
        c: A.Call,
        fn: Fn,
        returns_value: bool,
        extra_args: tuple[str, ...] = (),
        is_action: bool = False,
        copy_inout: bool = True,
    ) -> str | None:
        """Call a generated function with copy-in/copy-out of scalar out/inout args."""
        argv = _args_by_param(params, c.args, c.loc)
        pyargs: list[str] = list(extra_args)
        backs: list[tuple[A.Expr, A.Type | None]] = []
        agg_outs: list[tuple[A.Expr, str, A.Type | None]] = []
        for p, a in zip(params, argv, strict=True):
            start = len(fn.lines)
            self._user_arg(p, a, pyargs, backs, agg_outs, c, fn, copy_inout)
            if len(fn.lines) > start:
                # this argument ran statements: the ones before it were evaluated first
                for i in range(len(extra_args), len(pyargs) - 1):
                    if not pyargs[i].lstrip("-").isdigit():
                        t = fn.tmp("o")
                        fn.lines.insert(start, "    " * fn.indent + f"{t} = {pyargs[i]}")
                        start += 1
                        pyargs[i] = t
        call = f"{target}({', '.join(pyargs)})"
        if not backs and not agg_outs:
            if returns_value:
                return call
            fn.emit(call)
            return None
        r = fn.tmp("r")
        if is_action and not fn.is_action:
            # BMv2 binds a control-level action call's arguments to the fields
            # themselves: what the action wrote before an exit stays written
            fn.emit("try:")
            fn.emit(f"    {r} = {call}")
            fn.emit("except _Exit as _x:")
            fn.indent += 1
            if backs:
                fn.emit("if isinstance(_x, _ExitOut):")
                fn.indent += 1
                for i, (a, _) in enumerate(backs):
                    self.exprs.assign(a, f"_x.vals[{i}]", fn)
                fn.indent -= 1
            self._copy_out_aggregates(agg_outs, fn)
            fn.emit("raise")
            fn.indent -= 1
        else:
            fn.emit(f"{r} = {call}")
        self._copy_out_aggregates(agg_outs, fn)
        if not backs:
            return r if returns_value else None
        n = len(backs) + (1 if returns_value else 0)
        vals = [r] if n == 1 else [f"{r}[{i}]" for i in range(n)]
        ret = None
        if returns_value:
            ret = vals.pop(0)
        for (a, _), v in zip(backs, vals, strict=True):
            self.exprs.assign(a, v, fn)
        if returns_value:
            if ret == r:
                return r
            t2 = fn.tmp("rv")
            fn.emit(f"{t2} = {ret}")
            return t2
        return None

    def _copy_out_aggregates(
        self, agg_outs: list[tuple[A.Expr, str, A.Type | None]], fn: Fn
    ) -> None:
        for a, t, pt in agg_outs:
            fn.emit(self.ctx.types.assign(pt, self.exprs.expr(a, fn), t))

    def _user_arg(
        self,
        p: A.Param,
        a: A.Expr | None,
        pyargs: list[str],
        backs: list[tuple[A.Expr, A.Type | None]],
        agg_outs: list[tuple[A.Expr, str, A.Type | None]],
        c: A.Call,
        fn: Fn,
        copy_inout: bool = True,
    ) -> None:
        """Append the Python argument for parameter p (and its copy-out, if any)."""
        pt = base_type(p.resolved or (a.type if a is not None else None))
        if a is None:
            if p.direction == "out":
                pyargs.append(self.ctx.types.new(pt))
                return
            raise UnsupportedError(c.loc, f"missing argument {p.name}")
        if is_aggregate(pt):
            if p.direction == "out":
                # a fresh (invalid) value, copied out after the call
                t = fn.tmp("ao")
                fn.emit(f"{t} = {self.ctx.types.new(pt)}")
                pyargs.append(t)
                agg_outs.append((a, t, pt))
            elif p.direction == "inout" and copy_inout:
                # copy-in/copy-out (spec 6.7), as p4c compiles action and function calls
                t = fn.tmp("ai")
                fn.emit(f"{t} = {self.ctx.types.copy(pt, self.exprs.expr(a, fn))}")
                pyargs.append(t)
                agg_outs.append((a, t, pt))
            elif p.direction in ("in", "") and not isinstance(a, A.ListExpr | A.StructInit):
                pyargs.append(self.exprs.expr(a, fn))
            else:
                pyargs.append(self.exprs.build_aggregate(pt, a, fn))
            return
        if p.direction == "out":
            pyargs.append(self.ctx.types.new(pt))
            backs.append((a, pt))
        elif p.direction == "inout":
            pyargs.append(self.exprs.expr(a, fn))
            backs.append((a, pt))
        else:
            pyargs.append(self.exprs.fit(self.exprs.expr(a, fn), a.type, pt))

    def action_call(self, c: A.Call, d: A.ActionDecl, fn: Fn) -> None:
        inst = self.ctx.controls.action_for_decl(d, c.loc)
        target = self.ctx.controls.action_fn(inst)
        self.user_call(target, d.params, c, fn, returns_value=False, is_action=True)
        return None

    def function_call(self, c: A.Call, d: A.FunctionDecl, fn: Fn, want_value: bool) -> str | None:
        name = self.ctx.controls.function_fn(d)
        rt = base_type(d.ret.resolved) if d.ret is not None else None
        returns = rt is not None and not isinstance(rt, A.VoidT)
        return self.user_call(name, d.params, c, fn, returns_value=returns)

    # ------------------------------------------------------------ methods

    def method_call(self, c: A.Call, f: A.Member, fn: Fn, want_value: bool) -> str | None:
        obj = f.expr
        ot = base_type(obj.type) if isinstance(obj, A.Expr) else None
        m = f.name
        if isinstance(ot, A.HeaderT) and isinstance(obj, A.Expr):
            h = self.exprs.expr(obj, fn)
            if m == "isValid":
                return f"{h}._v"
            if m == "setValid":
                fn.emit(f"_set_valid({h})")
                self.exprs.union_member_valid(obj, fn)
                return None
            if m == "setInvalid":
                fn.emit(f"{h}._v = False")
                return None
            if m in ("minSizeInBits", "minSizeInBytes"):
                w = ot.width()
                return str(w if m == "minSizeInBits" else (w + 7) // 8)
        if isinstance(ot, A.HeaderUnionT) and isinstance(obj, A.Expr):
            if m == "isValid":
                u = self.exprs.expr(obj, fn)
                return f"({' or '.join(f'{u}.{f}._v' for f, _ in ot.fields) or 'False'})"
            raise UnsupportedError(c.loc, f"header_union method {m}")
        if isinstance(ot, A.StackT) and isinstance(obj, A.Expr):
            s = self.exprs.expr(obj, fn)
            if m in ("push_front", "pop_front"):
                n = self.exprs.expr(operand(c.args[0].expr, c.args[0].loc), fn)
                fn.emit(f"_{m}({s}, {n})")
                return None
        if isinstance(ot, A.TableT) or (
            isinstance(obj, A.PathExpr) and isinstance(obj.decl, A.TableDecl)
        ):
            return self.ctx.controls.table_apply_expr(c, fn, as_stmt=not want_value)
        if (
            isinstance(obj, A.PathExpr)
            and isinstance(obj.decl, A.Param)
            and m == "apply"
            and isinstance(self.ctx.cur_block.ctor_args.get(obj.decl.name), A.BlockInstance)
        ):
            # a parser/control given as a constructor argument: the instance passed
            given = self.ctx.cur_block.ctor_args[obj.decl.name]
            assert isinstance(given, A.BlockInstance)
            self.ctx.controls.control_apply_call(given, c, fn)
            return None
        if (
            isinstance(obj, A.PathExpr)
            and isinstance(obj.decl, A.ParserDecl | A.ControlDecl)
            and m == "apply"
            and obj.decl.name in self.ctx.cur_block.children
        ):
            # direct type invocation: the instance named after the type
            named = self.ctx.cur_block.children[obj.decl.name]
            self.ctx.controls.control_apply_call(named, c, fn)
            return None
        if isinstance(obj, A.PathExpr) and isinstance(obj.decl, A.Instantiation):
            inst = obj.decl
            child = self.ctx.cur_block.children.get(inst.name)
            if child is not None and m == "apply":
                self.ctx.controls.control_apply_call(child, c, fn)
                return None
            ext = self.ctx.extern_by_decl.get(id(inst))
            if ext is not None:
                return self.extern_method(ext, m, c, fn)
        if isinstance(ot, A.ExternT) and ot.name == "packet_in":
            return self.packet_in_method(m, c, fn)
        if isinstance(ot, A.ExternT) and ot.name == "packet_out" and m == "emit":
            self.emit_call(operand(c.args[0].expr, c.args[0].loc), fn)
            return None
        if isinstance(obj, A.PathExpr) and isinstance(obj.decl, A.Param):
            pt = base_type(obj.decl.resolved)
            if isinstance(pt, A.ExternT) and pt.name == "packet_in":
                return self.packet_in_method(m, c, fn)
            if isinstance(pt, A.ExternT) and pt.name == "packet_out" and m == "emit":
                self.emit_call(operand(c.args[0].expr, c.args[0].loc), fn)
                return None
        raise UnsupportedError(c.loc, f"method {m}")

    # ------------------------------------------------------------ extern objects

    def extern_method(self, ext: A.ExternInstance, m: str, c: A.Call, fn: Fn) -> str | None:
        kind = ext.extern.name
        args = _arg_exprs(c)
        q = ext.qualname
        if kind == "register":
            r = self.ctx.bind(self.ctx.state.registers[q], "reg")
            if m == "read":
                if len(args) == 1:
                    return f"{r}.read({self.exprs.expr(args[0], fn)})"
                self.exprs.assign(args[0], f"{r}.read({self.exprs.expr(args[1], fn)})", fn)
                return None
            if m == "write":
                i = self.exprs.expr(args[0], fn)
                fn.emit(f"{r}.write({i}, {self.exprs.expr(args[1], fn)})")
                return None
        if kind == "counter" and m == "count":
            ctr = self.ctx.bind(self.ctx.state.counters[q], "ctr")
            fn.emit(f"{ctr}.count({self.exprs.expr(args[0], fn)}, _ILEN)")
            return None
        if kind == "meter" and m == "execute_meter":
            mt = self.ctx.bind(self.ctx.state.meters[q], "mtr")
            color = f"{mt}.execute({self.exprs.expr(args[0], fn)}, _ILEN, _NOW)"
            self.exprs.assign(args[1], self.exprs.fit(color, None, args[1].type), fn)
            return None
        if kind == "direct_counter" and m == "count":
            return None  # BMv2 counts direct counters on every hit by itself
        if kind == "direct_meter" and m == "read":
            # BMv2 writes the colour only when the table hit (p4c moves the
            # read into the table's direct-meter result field).
            fn.emit("if _MHIT:")
            fn.indent += 1
            self.exprs.assign(args[0], "_MCOLOR", fn)
            fn.indent -= 1
            return None
        raise UnsupportedError(c.loc, f"{kind}.{m}")

    # ------------------------------------------------------------ extern functions

    def extern_function(self, c: A.Call, d: A.ExternFunctionDecl, fn: Fn) -> str | None:
        name = d.name
        args = _arg_exprs(c)
        h = getattr(self, "xf_" + name, None)
        if h is None:
            raise UnsupportedError(c.loc, f"extern {name}")
        r: str | None = h(c, args, fn)
        return r

    def xf_verify(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        cond = self.exprs.expr(args[0], fn)
        err = self.exprs.expr(args[1], fn)
        fn.emit(f"if not {cond}: raise _PErr({err})")

    def xf_mark_to_drop(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        if not args:
            raise UnsupportedError(c.loc, "mark_to_drop() without standard_metadata")
        sm = self.exprs.expr(args[0], fn)
        fn.emit(f"{sm}.egress_spec = 511; {sm}.mcast_grp = 0")

    def xf_clone(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        fn.globals_assigned.add("_CLONE")
        fn.emit(f"_CLONE = ({self.exprs.expr(args[1], fn)}, 0)")

    def xf_clone_preserving_field_list(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        fn.globals_assigned.add("_CLONE")
        fn.emit(f"_CLONE = ({self.exprs.expr(args[1], fn)}, {self.field_list_index(args[2])})")

    def xf_resubmit_preserving_field_list(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        fn.globals_assigned.add("_RESUB")
        fn.emit(f"_RESUB = {self.field_list_index(args[0])}")

    def xf_recirculate_preserving_field_list(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        fn.globals_assigned.add("_RECIRC")
        fn.emit(f"_RECIRC = {self.field_list_index(args[0])}")

    def field_list_index(self, e: A.Expr) -> int:
        if not isinstance(e.const, int):
            raise UnsupportedError(e.loc, "a field list index that is not a constant")
        self.ctx.field_lists_used.add(e.const)
        return e.const

    def xf_truncate(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        fn.globals_assigned.add("_TRUNC")
        fn.emit(f"_TRUNC = {self.exprs.expr(args[0], fn)}")

    def xf_digest(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        data = args[1]
        t = base_type(data.type)
        name = getattr(t, "name", None)
        did = self.ctx.state.digest_ids.get(name) if name else None
        if did is None:
            for dg in self.ctx.e.digests:
                if c in dg.calls:
                    did = self.ctx.state.digest_ids.get(dg.name)
        if did is None:
            raise UnsupportedError(c.loc, f"digest of {name} (not in P4Info)")
        vals = [v for v, _, _ in self.exprs.flat_scalars(data, fn)]
        fn.globals_assigned.add("_DIGEST")
        fn.emit(f"_DIGEST = ({did}, ({''.join(v + ', ' for v in vals)}))")

    def xf_random(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        lo = self.exprs.expr(args[1], fn)
        hi = self.exprs.expr(args[2], fn)
        self.exprs.assign(args[0], f"_random({lo}, {hi})", fn)

    def hash_algo(self, e: A.Expr) -> str:
        if isinstance(e, A.Member) and e.kind == "enum_member":
            algo = e.name
        elif isinstance(e.const, str):
            algo = e.const
        else:
            raise UnsupportedError(e.loc, "a hash algorithm that is not a constant")
        if algo not in _HASH_NAMES:
            raise UnsupportedError(e.loc, f"hash algorithm {algo}")
        return algo

    def data_bytes(self, data: A.Expr, fn: Fn, with_payload: bool = False) -> str:
        """Emit code packing a field list like BMv2's BufBuilder; returns the bytes var."""
        leaves = self.exprs.flat_scalars(data, fn)
        v = fn.tmp("d")
        n = fn.tmp("n")
        guards = [g for _, _, g in leaves]
        if all(g is None for g in guards):
            total = " + ".join(str(w) for _, w, _ in leaves) or "0"
            expr = "0"
            for x, w, _ in leaves:
                expr = f"(({expr} << {w}) | ({x}))" if expr != "0" else f"({x})"
            fn.emit(f"{v} = _pack({expr}, {total})")
        else:
            fn.emit(f"{v} = 0; {n} = 0")
            i = 0
            while i < len(leaves):
                g = leaves[i][2]
                j = i
                while j < len(leaves) and leaves[j][2] == g:
                    j += 1
                grp = leaves[i:j]
                w = " + ".join(str(x[1]) for x in grp)
                acc = v
                for x, wx, _ in grp:
                    acc = f"(({acc} << {wx}) | ({x}))"
                if g is not None:
                    fn.emit(f"if {g}._v: {v} = {acc}; {n} += {w}")
                else:
                    fn.emit(f"{v} = {acc}; {n} += {w}")
                i = j
            fn.emit(f"{v} = _pack({v}, {n})")
        if with_payload:
            fn.emit(f"{v} += _PAY")
        return v

    def xf_hash(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        algo = self.hash_algo(args[1])
        base = self.exprs.expr(args[2], fn)
        mx = self.exprs.expr(args[4], fn)
        w = width_of(args[0].type)
        if algo == "random":
            h = "_rng_bits()"
        else:
            data = self.data_bytes(args[3], fn)
            h = f"_ALG_{algo}({data})"
        mxc = args[4].const
        if isinstance(mxc, int) and mxc > 0:
            val = f"(({base} + ({h} % {mxc})) & {mask(w):#x})"
        elif isinstance(mxc, int):
            val = f"(({base} + {h}) & {mask(w):#x})"
        else:
            val = f"_hash_offset({h}, {base}, {mx}, {w})"
        self.exprs.assign(args[0], val, fn)

    def _checksum(self, args: list[A.Expr], fn: Fn, update: bool, payload: bool) -> None:
        algo = self.hash_algo(args[3])
        if algo == "random":
            raise UnsupportedError(args[3].loc, "random as a checksum algorithm")
        cond = self.exprs.expr(args[0], fn)
        w = width_of(args[2].type)
        fn.emit(f"if {cond}:")
        fn.indent += 1
        data = self.data_bytes(args[1], fn, with_payload=payload)
        val = f"(_ALG_{algo}({data}) & {mask(w):#x})"
        if update:
            self.exprs.assign(args[2], val, fn)
        else:
            fn.globals_assigned.add("_CKERR")
            fn.emit(f"if {val} != {self.exprs.expr(args[2], fn)}: _CKERR = True")
        fn.indent -= 1

    def xf_verify_checksum(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        self._checksum(args, fn, update=False, payload=False)

    def xf_verify_checksum_with_payload(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        self._checksum(args, fn, update=False, payload=True)

    def xf_update_checksum(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        self._checksum(args, fn, update=True, payload=False)

    def xf_update_checksum_with_payload(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        self._checksum(args, fn, update=True, payload=True)

    def xf_log_msg(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        msg = args[0].const if isinstance(args[0].const, str) else getattr(args[0], "value", None)
        if not isinstance(msg, str):
            raise UnsupportedError(c.loc, "log_msg with a non-constant message")
        vals: list[str] = []
        if len(args) > 1:
            vals = [v for v, _, _ in self.exprs.flat_scalars(args[1], fn)]
        fn.emit(f"_log_msg({msg!r}, ({''.join(v + ', ' for v in vals)}))")

    def xf_assert(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        fn.emit(f"if not {self.exprs.expr(args[0], fn)}: _assert_fail('assert', {str(c.loc)!r})")

    def xf_assume(self, c: A.Call, args: list[A.Expr], fn: Fn) -> None:
        fn.emit(f"if not {self.exprs.expr(args[0], fn)}: _assert_fail('assume', {str(c.loc)!r})")

    # ------------------------------------------------------------ packet_in

    def packet_in_method(self, m: str, c: A.Call, fn: Fn) -> str | None:
        args = _arg_exprs(c)
        pts = self.ctx.error_code("PacketTooShort")
        fn.globals_assigned.add("_PO")
        if m == "extract" and len(args) == 2:
            self.extract_varbit(c, args[0], args[1], fn)
            return None
        if m == "extract":
            if len(args) != 1:
                raise UnsupportedError(c.loc, "extract with these arguments")
            target = args[0]
            t = base_type(target.type)
            if not isinstance(t, A.HeaderT):
                raise UnsupportedError(c.loc, "extract into a non-header")
            cls = self.ctx.types.cls(t)
            nb = (t.width() + 7) // 8
            if isinstance(target, A.Member) and target.kind == "stack_next":
                s = self.exprs.expr(operand(target.expr, target.loc), fn)
                st = base_type(operand(target.expr, target.loc).type)
                assert isinstance(st, A.StackT)
                sv = fn.tmp("s")
                fn.emit(f"{sv} = {s}")
                oob = self.ctx.error_code("StackOutOfBounds")
                fn.emit(f"if {sv}.n >= {st.size}: raise _PErr({oob})")
                h = f"{sv}.h[{sv}.n]"
                post = f"; {sv}.n += 1"
            else:
                h = self.exprs.expr(target, fn)
                post = ""
            fn.emit(f"_e = _PO + {nb}")
            fn.emit(f"if _e > _PL: raise _PErr({pts})")
            fn.emit(f"_ex_{cls}({h}, _PD[_PO:_e]){post}")
            fn.emit("_PO = _e")
            self.exprs.union_member_valid(target, fn)
            return None
        if m == "lookahead":
            t = base_type(c.type)
            if isinstance(t, A.HeaderT):
                cls = self.ctx.types.cls(t)
                nb = (t.width() + 7) // 8
                tmp = fn.tmp("la")
                fn.emit(f"if _PO + {nb} > _PL: raise _PErr({pts})")
                fn.emit(
                    f"{tmp} = {cls}(); _ex_{cls}({tmp}, _PD[_PO:_PO + {nb}]); {tmp}._raw = None"
                )
                return tmp
            w = width_of(t)
            nb = (w + 7) // 8
            if isinstance(t, A.BoolT):
                return f"(_lookahead({w}, {nb}) == 1)"
            return f"_lookahead({w}, {nb})"
        if m == "advance":
            n = args[0]
            if isinstance(n.const, int):
                if n.const % 8:
                    raise UnsupportedError(
                        c.loc, "advance by a number of bits that is not a multiple of 8"
                    )
                fn.emit(f"_e = _PO + {n.const // 8}")
            else:
                fn.emit(f"_e = _PO + ({self.exprs.expr(n, fn)} >> 3)")
            fn.emit(f"if _e > _PL: raise _PErr({pts})")
            fn.emit("_PO = _e")
            return None
        if m == "length":
            return "_PL"
        raise UnsupportedError(c.loc, f"packet_in.{m}")

    def extract_varbit(self, c: A.Call, target: A.Expr, nbits: A.Expr, fn: Fn) -> None:
        """extract(hdr, n): the varbit field takes n bits (spec 12.8.2, BMv2's checks:
        more than its maximum width is error.HeaderTooShort, a header that does not
        end on a byte boundary is error.ParserInvalidArgument)."""
        t = base_type(target.type)
        if not isinstance(t, A.HeaderT):
            raise UnsupportedError(c.loc, "extract into a non-header")
        vmax = [bt.max_width for _, ft in t.fields if isinstance(bt := base_type(ft), A.VarbitT)]
        if len(vmax) != 1:
            raise UnsupportedError(c.loc, "extract with a size into a header without one varbit")
        cls = self.ctx.types.cls(t)
        fixed = t.width()
        n = fn.tmp("vn")
        fn.emit(f"{n} = {self.exprs.expr(nbits, fn)}")
        fn.emit(f"if {n} > {vmax[0]}: raise _PErr({self.ctx.error_code('HeaderTooShort')})")
        bad = self.ctx.error_code("ParserInvalidArgument")
        fn.emit(f"if ({fixed} + {n}) % 8: raise _PErr({bad})")
        post = ""
        if isinstance(target, A.Member) and target.kind == "stack_next":
            st = base_type(operand(target.expr, target.loc).type)
            assert isinstance(st, A.StackT)
            sv = fn.tmp("s")
            fn.emit(f"{sv} = {self.exprs.expr(operand(target.expr, target.loc), fn)}")
            oob = self.ctx.error_code("StackOutOfBounds")
            fn.emit(f"if {sv}.n >= {st.size}: raise _PErr({oob})")
            h = f"{sv}.h[{sv}.n]"
            post = f"; {sv}.n += 1"
        else:
            h = self.exprs.expr(target, fn)
        fn.emit(f"_e = _PO + (({fixed} + {n}) >> 3)")
        fn.emit(f"if _e > _PL: raise _PErr({self.ctx.error_code('PacketTooShort')})")
        fn.emit(f"_exv_{cls}({h}, _PD[_PO:_e], {n}){post}")
        fn.emit("_PO = _e")
        self.exprs.union_member_valid(target, fn)

    # ------------------------------------------------------------ packet_out

    def emit_call(self, e: A.Expr, fn: Fn) -> None:
        t = base_type(e.type)
        x = self.exprs.expr(e, fn)
        if isinstance(t, A.HeaderT):
            c = self.ctx.types.cls(t)
            fn.emit(f"if {x}._v: _out_append({x}._raw if {x}._raw is not None else _ser_{c}({x}))")
        elif isinstance(t, A.StackT):
            c = self.ctx.types.cls(t.elem)
            fn.emit(f"for _eh in {x}.h:")
            fn.emit(
                f"    if _eh._v: _out_append(_eh._raw if _eh._raw is not None else _ser_{c}(_eh))"
            )
        elif isinstance(t, A.StructT | A.HeaderUnionT):
            for f, ft in t.fields:
                sub = A.Member(e.loc, expr=e, name=f, kind="field", type=ft)
                self.emit_call(sub, fn)
        else:
            raise UnsupportedError(e.loc, f"emit of {type(t).__name__}")
