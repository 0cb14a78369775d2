"""Control code generation: controls, actions, tables and user functions.

A control instance's parameters and control-level variables form its
*frame*: module globals named after the instance, bound when the control
is applied, so its actions and tables (separate functions) see them.
Scalar out/inout parameters are returned and copied back by the caller.

A table becomes one function: build the key tuple, `Table.lookup(key)`,
count/meter on hit, then call the entry's (or the default) action through
a dict from P4Info action id to action function. It returns `hit` and
leaves the action id in `_RUN` for `switch (t.apply().action_run)`.
"""

from __future__ import annotations

from softswitch.engine.context import Fn, GenContext, UnsupportedError
from softswitch.engine.exprs import ExprConverter
from softswitch.engine.externs import CallConverter
from softswitch.engine.values import base_type, is_aggregate, width_of
from softswitch.frontend import ast as A
from softswitch.runtime.tables import (
    ActionCall,
    ExactMatch,
    LpmMatch,
    Match,
    OptionalMatch,
    RangeMatch,
    Table,
    TernaryMatch,
)


class ControlConverter:
    """Controls, actions, tables and functions, generated in one shared `GenContext`."""

    def __init__(self, ctx: GenContext, exprs: ExprConverter, calls: CallConverter) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.calls = calls

    # ------------------------------------------------------------ frames

    def bind_params(self, params: list[A.Param], fn: Fn) -> list[str]:
        """Bind a block's parameters into its frame; returns the Python parameter names."""
        names = []
        for p in params:
            pt = base_type(p.resolved)
            if isinstance(pt, A.ExternT) and pt.name in ("packet_in", "packet_out"):
                continue
            g = f"{self.ctx.prefix}_{p.name}"
            self.ctx.frame_names[id(p)] = g
            pname = f"p_{p.name}"
            names.append(pname)
            fn.globals_assigned.add(g)
            fn.emit(f"{g} = {pname}")
            if not is_aggregate(pt) and p.direction in ("out", "inout"):
                fn.outs.append(g)
        return names

    def init_frame_locals(self, decls: list[A.Declaration], fn: Fn) -> None:
        for d in decls:
            if isinstance(d, A.VarDecl):
                g = f"{self.ctx.prefix}_{d.name}"
                self.ctx.frame_names[id(d)] = g
                fn.globals_assigned.add(g)
                t = base_type(d.type.resolved)
                if d.init is not None and not is_aggregate(t):
                    fn.emit(f"{g} = {self.exprs.fit(self.exprs.expr(d.init, fn), d.init.type, t)}")
                else:
                    fn.emit(f"{g} = {self.ctx.types.new(t)}")
                    if d.init is not None:
                        src = self.exprs.build_aggregate(t, d.init, fn)
                        fn.emit(self.ctx.types.assign(t, g, src))
            elif isinstance(
                d, (A.Instantiation | A.ConstDecl | A.ActionDecl | A.TableDecl, A.ValueSetDecl)
            ):
                continue
            else:
                raise UnsupportedError(d.loc, f"{type(d).__name__} in a parser or control")

    # ------------------------------------------------------------ controls

    def gen_control(self, b: A.BlockInstance) -> str:
        d = b.decl
        assert isinstance(d, A.ControlDecl)
        prefix = self.ctx.ident("C_" + b.qualname)
        self.ctx.enter_block(b, prefix)
        fn = Fn(prefix)
        params = self.bind_params(d.params, fn)
        # frame variables must be known before actions are generated
        self.init_frame_locals(d.locals, fn)
        for ai in b.actions.values():
            self.action_fn(ai)
        for ti in b.tables.values():
            self.table_fn(ti)
        for child in b.children.values():
            if isinstance(child.decl, A.ControlDecl):
                self.gen_control(child)
            else:
                raise UnsupportedError(child.decl.loc, "a parser instantiated inside a control")
        if d.body is not None:
            self.exprs.block(d.body.stmts, fn)
        self.ctx.out.extend(fn.source(f"def {prefix}({', '.join(params)}):"))
        self.ctx.leave_block()
        return prefix

    def control_apply_call(self, child: A.BlockInstance, c: A.Call, fn: Fn) -> None:
        target = self.ctx.block_fns.get(child.qualname)
        if target is None:
            raise UnsupportedError(c.loc, f"apply of {child.qualname}")
        # packet_in / packet_out are module globals in the generated code: drop them
        # from both the parameters and the arguments
        all_params = child.decl.params
        keep = [not isinstance(base_type(p.resolved), A.ExternT) for p in all_params]
        params = [p for p, k in zip(all_params, keep, strict=True) if k]
        args = []
        for i, a in enumerate(c.args):
            idx = (
                next((j for j, p in enumerate(all_params) if p.name == a.name), i)
                if a.name is not None
                else i
            )
            if idx >= len(keep) or keep[idx]:
                args.append(a)
        # a parser/control gets its header and metadata structs by reference
        call = A.Call(c.loc, func=c.func, args=args)
        self.calls.user_call(target, params, call, fn, False, copy_inout=False)
        return None

    # ------------------------------------------------------------ actions

    def action_for_decl(self, d: A.ActionDecl, loc: A.Loc) -> A.ActionInstance:
        for ai in self.ctx.cur_block.actions.values():
            if ai.decl is d:
                return ai
        for ai in self.ctx.e.actions:
            if ai.decl is d and ai.owner is None:
                return ai
        for ai in self.ctx.e.actions:
            if ai.decl is d:
                return ai
        raise UnsupportedError(loc, f"action {d.name} has no instance")

    def action_fn(self, ai: A.ActionInstance) -> str:
        key = f"{ai.qualname}#{id(ai.decl)}"  # actions may share a name (@name)
        name = self.ctx.action_fns.get(key)
        if name is not None:
            return name
        name = self.ctx.ident("A_" + ai.qualname)
        self.ctx.action_fns[key] = name
        fn = Fn(name, is_action=True)
        pnames = []
        for p in ai.decl.params:
            pn = f"p_{p.name}"
            fn.locals[id(p)] = pn
            pnames.append(pn)
            if p.direction in ("out", "inout") and not is_aggregate(base_type(p.resolved)):
                fn.outs.append(pn)
        if ai.owner is not None and ai.owner is not self.ctx.cur_block:
            raise UnsupportedError(ai.decl.loc, f"action {ai.qualname} used outside its control")
        if ai.decl.body is not None:
            self.exprs.block(ai.decl.body.stmts, fn)
        self.ctx.out.extend(fn.source(f"def {name}({', '.join(pnames)}):"))
        return name

    def action_id(self, ai: A.ActionInstance) -> int:
        aid = self.ctx.state.action_ids.get(ai.qualname)
        if aid is None:
            # not in P4Info (unused by any table): a private id
            aid = self.ctx.private_ids.setdefault(ai.qualname, -(len(self.ctx.private_ids) + 1))
        return aid

    def action_id_of_label(self, lb: A.Expr) -> int:
        d = getattr(lb, "decl", None)
        if isinstance(d, A.ActionDecl):
            return self.action_id(self.action_for_decl(d, lb.loc))
        if isinstance(lb, A.PathExpr):
            for ai in list(self.ctx.cur_block.actions.values()) + self.ctx.e.actions:
                if ai.decl.name == lb.name:
                    return self.action_id(ai)
        raise UnsupportedError(lb.loc, "switch label that is not an action")

    def function_fn(self, d: A.FunctionDecl) -> str:
        name = self.ctx.function_fns.get(id(d))
        if name is not None:
            return name
        name = self.ctx.ident("F_" + d.name)
        self.ctx.function_fns[id(d)] = name
        fn = Fn(name)
        rt = base_type(d.ret.resolved) if d.ret is not None else None
        fn.returns_value = rt is not None and not isinstance(rt, A.VoidT)
        fn.ret_type = rt if fn.returns_value else None
        pnames = []
        for p in d.params:
            pn = f"p_{p.name}"
            fn.locals[id(p)] = pn
            pnames.append(pn)
            if p.direction in ("out", "inout") and not is_aggregate(base_type(p.resolved)):
                fn.outs.append(pn)
        saved = self.ctx.frame_names
        self.ctx.frame_names = {}
        if d.body is not None:
            self.exprs.block(d.body.stmts, fn)
        self.ctx.frame_names = saved
        self.ctx.out.extend(fn.source(f"def {name}({', '.join(pnames)}):"))
        return name

    # ------------------------------------------------------------ tables

    def table_fn(self, ti: A.TableInstance) -> str:
        name = self.ctx.table_fns.get(ti.qualname)
        if name is not None:
            return name
        td = ti.decl
        table = self.ctx.state.tables.get(ti.qualname)
        if table is None:
            raise UnsupportedError(td.loc, f"table {ti.qualname} (not in P4Info)")
        if ti.implementation is not None:
            raise UnsupportedError(td.loc, "action profiles and selectors")
        for k in td.keys:
            if k.match_kind not in ("exact", "ternary", "lpm", "range", "optional"):
                raise UnsupportedError(k.loc, f"match kind {k.match_kind}")
        name = self.ctx.ident("T_" + ti.qualname)
        self.ctx.table_fns[ti.qualname] = name
        tv = self.ctx.bind(table, "tbl")
        # dispatch: P4Info action id -> function taking the control-plane args
        dispatch: dict[int, str] = {}
        for ref, ai in zip(td.actions, ti.actions, strict=True):
            afn = self.action_fn(ai)
            aid = self.action_id(ai)
            dir_params = [p for p in ai.decl.params if p.direction != ""]
            if dir_params:
                afn = self.action_wrapper(ti, ref, ai, afn)
            dispatch[aid] = afn
        # actions P4Info lists for the table but its `actions` property does not (the
        # NoAction p4c adds as the implicit default): every id a control plane or the
        # default entry can select must dispatch
        for aid in [*getattr(table, "actions", {}), table.default_action.action_id]:
            if aid not in dispatch:
                extra = self._action_by_id(aid)
                if extra is not None:
                    dispatch[aid] = self.action_fn(extra)
        dv = self.ctx.ident(f"_D_{name}")
        self.ctx.post.append(f"{dv} = {{{', '.join(f'{k}: {v}' for k, v in dispatch.items())}}}")
        fn = Fn(name)
        fn.globals_assigned.add("_RUN")
        keys = []
        for k in td.keys:
            x = self.exprs.expr(k.expr, fn)
            if isinstance(base_type(k.expr.type), A.BoolT):
                x = f"int({x})"
            keys.append(x)
        has_meter = ti.direct_meter is not None
        has_counter = ti.direct_counter is not None
        if keys:
            fn.emit(f"_e = {tv}.lookup(({''.join(k + ', ' for k in keys)}))")
        else:
            fn.emit("_e = None")
        fn.mark(0, td.loc)
        if has_meter:
            fn.globals_assigned.update({"_MHIT", "_MCOLOR"})
        fn.emit("if _e is None:")
        fn.emit(f"    _a = {tv}.default_action")
        if has_meter:
            fn.emit("    _MHIT = False")
        fn.emit("    _RUN = _id = _a.action_id")
        fn.emit(f"    {dv}[_id](*_a.args)")
        fn.emit("    return False")
        fn.emit("_a = _e.action")
        if has_counter:
            fn.emit("_e.direct_packets += 1; _e.direct_bytes += _ILEN")
        if has_meter:
            fn.emit("_MHIT = True; _MCOLOR = _e.execute_meter(_ILEN, _NOW)")
        fn.emit("_RUN = _id = _a.action_id")
        fn.emit(f"{dv}[_id](*_a.args)")
        fn.emit("return True")
        self.ctx.out.extend(fn.source(f"def {name}():"))
        self.install_table_program_state(ti, table)
        return name

    def _action_by_id(self, aid: int) -> A.ActionInstance | None:
        for ai in list(self.ctx.cur_block.actions.values()) + self.ctx.e.actions:
            if self.ctx.state.action_ids.get(ai.qualname) == aid and (
                ai.owner is None or ai.owner is self.ctx.cur_block
            ):
                return ai
        # a top-level action only P4Info names (NoAction as the implicit default)
        for qualname, i in self.ctx.state.action_ids.items():
            if i != aid:
                continue
            for d in self.ctx.e.program.declarations:
                if isinstance(d, A.ActionDecl) and d.name == qualname:
                    return A.ActionInstance(qualname, d, None)
        return None

    def action_wrapper(
        self, ti: A.TableInstance, ref: A.ActionRef, ai: A.ActionInstance, afn: str
    ) -> str:
        """A function binding the table's directional arguments to an action."""
        name = self.ctx.ident(f"W_{ti.qualname}_{ai.decl.name}")
        fn = Fn(name)
        n_dir = sum(1 for p in ai.decl.params if p.direction != "")
        args = [A.Arg(a.loc, a.expr, a.name) for a in ref.args[:n_dir]]
        cp_names: list[str] = []
        for p in ai.decl.params:
            if p.direction == "":
                pn = f"a{len(cp_names)}"
                cp_names.append(pn)
                fn.locals[id(p)] = pn
                args.append(
                    A.Arg(ref.loc, A.PathExpr(ref.loc, name=p.name, decl=p, type=p.resolved))
                )
        c = A.Call(ref.loc, func=None, args=args)
        self.calls.user_call(afn, ai.decl.params, c, fn, returns_value=False, is_action=True)
        self.ctx.out.extend(fn.source(f"def {name}({', '.join(cp_names)}):"))
        return name

    # ------------------------------------------------------------ program-given state

    def _action_call_of(self, ti: A.TableInstance, ref: A.ActionRef) -> ActionCall:
        ai = None
        for r, inst in zip(ti.decl.actions, ti.actions, strict=True):
            if r.decl is ref.decl or r.name.name == ref.name.name:
                ai = inst
                break
        if ai is None:
            for inst in self.ctx.e.actions:
                if inst.decl is ref.decl:
                    ai = inst
        if ai is None:
            raise UnsupportedError(ref.loc, f"action {ref.name.name}")
        cp = [p for p in ai.decl.params if p.direction == ""]
        vals = []
        args = ref.args[len(ref.args) - len(cp) :] if cp else []
        for p, a in zip(cp, args, strict=True):
            v = a.expr.const if a.expr is not None else None
            if isinstance(v, bool):
                v = int(v)
            if not isinstance(v, int):
                raise UnsupportedError(ref.loc, "a non-constant action argument in the program")
            vals.append(v & ((1 << width_of(p.resolved)) - 1))
        return ActionCall(self.action_id(ai), tuple(vals))

    def install_table_program_state(self, ti: A.TableInstance, table: Table) -> None:
        td = ti.decl
        if td.default_action is not None:
            table.set_initial_default_action(self._action_call_of(ti, td.default_action))
        if not td.entries:
            return
        entries = []
        # BMv2 ranks const entries by the priority p4c writes in its JSON: the
        # entry's @priority(n) annotation, else its 1-based position; the
        # smallest number wins. The runtime table lets the largest win
        # (P4Runtime), so the order is reversed here.
        bmv2_prio = [_priority_annotation(ent) or i + 1 for i, ent in enumerate(td.entries)]
        top = max(bmv2_prio, default=0) + 1
        for ent, bp in zip(td.entries, bmv2_prio, strict=True):
            matches = []
            for k, ks in zip(td.keys, ent.keys, strict=True):
                matches.append(self._const_match(k, ks))
            if ent.priority is not None and isinstance(ent.priority.const, int):
                prio = ent.priority.const
            else:
                prio = top - bp
            entries.append((tuple(matches), prio, self._action_call_of(ti, ent.action)))
        table.add_const_entries(entries)

    def _const_match(self, k: A.KeyElement, ks: A.Expr) -> Match:
        w = width_of(k.expr.type)
        full = (1 << w) - 1
        kind = k.match_kind

        def cv(x: A.Expr | None) -> int:
            v = x.const if x is not None else None
            if isinstance(v, bool):
                return int(v)
            if not isinstance(v, int):
                raise UnsupportedError(ks.loc, "a non-constant key in a const entry")
            return v & full

        if isinstance(ks, A.Default):
            if kind == "ternary":
                return TernaryMatch(0, 0)
            if kind == "lpm":
                return LpmMatch(0, 0)
            if kind == "range":
                return RangeMatch(0, full)
            if kind == "optional":
                return OptionalMatch(None)
            raise UnsupportedError(ks.loc, "default in an exact key")
        if isinstance(ks, A.Mask):
            v, m = cv(ks.value), cv(ks.mask)
            if kind == "ternary":
                return TernaryMatch(v & m, m)
            if kind == "lpm":
                plen = bin(m).count("1")
                return LpmMatch(v & m, plen)
            raise UnsupportedError(ks.loc, f"a mask in a {kind} key")
        if isinstance(ks, A.Range):
            if kind != "range":
                raise UnsupportedError(ks.loc, f"a range in a {kind} key")
            return RangeMatch(cv(ks.lo), cv(ks.hi))
        v = cv(ks)
        if kind == "exact":
            return ExactMatch(v)
        if kind == "ternary":
            return TernaryMatch(v, full)
        if kind == "lpm":
            return LpmMatch(v, w)
        if kind == "range":
            return RangeMatch(v, v)
        return OptionalMatch(v)

    # ------------------------------------------------------------ apply

    def table_apply_expr(self, c: A.Call, fn: Fn, as_stmt: bool = False) -> str | None:
        f = c.func
        if not (isinstance(f, A.Member) and f.name == "apply" and isinstance(f.expr, A.PathExpr)):
            raise UnsupportedError(c.loc, "apply of something other than a table")
        d = f.expr.decl
        for ti in self.ctx.cur_block.tables.values():
            if ti.decl is d:
                name = self.table_fn(ti)
                if as_stmt:
                    fn.emit(f"{name}()")
                    return None
                return f"{name}()"
        raise UnsupportedError(c.loc, f"table {f.expr.name}")


def _priority_annotation(ent: A.TableEntry) -> int | None:
    """n of an entry's `@priority(n)` annotation."""
    for an in ent.annotations:
        if an.name == "priority" and an.args:
            a = an.args[0]
            v = a.const if a.const is not None else getattr(a, "value", None)
            if isinstance(v, int) and not isinstance(v, bool):
                return v
    return None
