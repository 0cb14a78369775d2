"""Build the P4Info of an elaborated v1model program, equal to p4c's.

p4c computes P4Info on the program its frontend leaves behind, and that
shapes what appears and in which order:

* nested controls are inlined, so their tables and actions belong to the
  top-level control (with hierarchical names, given here by ``Elaborated``);
* a table without ``default_action`` gets ``@defaultonly NoAction`` appended
  to its action list (CreateBuiltins);
* tables and actions nobody uses are removed; extern instances are kept;
* top-level actions a control uses are copied into it, ahead of its own
  actions, in order of first use;
* blocks are visited breadth first from ``main`` (parser, verify_checksum,
  ingress, egress, compute_checksum, deparser), each block's locals in order.

Ids come from :mod:`softswitch.p4info.ids`, annotation text from
:mod:`softswitch.p4info.annotations`, type specs from
:mod:`softswitch.p4info.typeinfo`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from p4.config.v1 import p4info_pb2

from softswitch.frontend import ast
from softswitch.frontend.errors import P4Error
from softswitch.p4info import ids
from softswitch.p4info.annotations import (
    add_annotations,
    add_documentation,
    has_annotation,
    int_annotation,
    string_annotation,
)
from softswitch.p4info.typeinfo import (
    TypeInfoError,
    TypeSpecConverter,
    control_plane_name,
    flatten_fields,
    new_type_name,
    p4runtime_width,
)

DEFAULT_TABLE_SIZE = 1024  # P4V1::V1Model tableAttributes.defaultTableSize

# v1model package parameter order: the order p4c's evaluator visits blocks.
BLOCK_ORDER = ("parser", "verify_checksum", "ingress", "egress", "compute_checksum", "deparser")

_MATCH_TYPES = {
    "exact": p4info_pb2.MatchField.EXACT,
    "lpm": p4info_pb2.MatchField.LPM,
    "ternary": p4info_pb2.MatchField.TERNARY,
    "range": p4info_pb2.MatchField.RANGE,
    "optional": p4info_pb2.MatchField.OPTIONAL,
}

_COUNTER_UNITS = {
    "packets": p4info_pb2.CounterSpec.PACKETS,
    "bytes": p4info_pb2.CounterSpec.BYTES,
    "packets_and_bytes": p4info_pb2.CounterSpec.BOTH,
}
_METER_UNITS = {
    "packets": p4info_pb2.MeterSpec.PACKETS,
    "bytes": p4info_pb2.MeterSpec.BYTES,
}

_EXTERN_KIND = {
    "counter": ids.COUNTER,
    "direct_counter": ids.DIRECT_COUNTER,
    "meter": ids.METER,
    "direct_meter": ids.DIRECT_METER,
    "register": ids.REGISTER,
    "action_profile": ids.ACTION_PROFILE,
    "action_selector": ids.ACTION_PROFILE,
}

# AST fields that point back up or sideways (types, resolved declarations):
# following them while walking a subtree would leave the subtree.
_NOT_CHILDREN = frozenset(
    {"decl", "type", "resolved", "callee", "inferred_type_args", "const", "loc", "owner"}
)


class P4InfoError(P4Error):
    """The program uses something this P4Info builder does not support
    (``str()`` is ``file:line:col: message`` like every frontend error)."""


# --------------------------------------------------------------------------- model


@dataclass
class _TableUse:
    block: ast.BlockInstance
    decl: ast.TableDecl
    inst: ast.TableInstance
    # (action instance, annotations on the reference) in action-list order,
    # including the NoAction p4c adds when there is no default_action.
    action_refs: list[tuple[ast.ActionInstance, list[ast.Annotation]]] = field(default_factory=list)
    default_action: ast.ActionInstance | None = None


@dataclass
class _Control:
    block: ast.BlockInstance
    tables: list[_TableUse] = field(default_factory=list)
    actions: list[ast.ActionInstance] = field(default_factory=list)  # controlLocals order
    externs: list[ast.ExternInstance] = field(default_factory=list)
    digest_calls: list[ast.Call] = field(default_factory=list)
    calls_extern_function: bool = False  # mark_to_drop, hash, clone, ... (not methods)


@dataclass
class _Digest:
    name: str
    type: ast.Type


def _children(node: object) -> Iterator[object]:
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return
    for f in dataclasses.fields(node):
        if f.name in _NOT_CHILDREN:
            continue
        value = getattr(node, f.name)
        if isinstance(value, list | tuple):
            yield from value
        elif isinstance(value, dict):
            yield from value.values()
        elif value is not None:
            yield value


def _live_children(node: object) -> list[object]:
    """The children of `node` that p4c's dead-code elimination keeps: only the taken
    branch of an `if` or `?:` on a constant (statements after `exit` are kept)."""
    if isinstance(node, ast.If) and isinstance(node.cond.const, bool):
        taken = node.then if node.cond.const else node.other
        return [taken] if taken is not None else []
    if (
        isinstance(node, ast.Ternary)
        and node.cond is not None
        and isinstance(node.cond.const, bool)
    ):
        return [node.then if node.cond.const else node.other]
    return list(_children(node))


def _walk(node: object) -> Iterator[object]:
    """Pre-order walk of the live part of an AST subtree (declarations, statements,
    expressions)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, ast.TypeRef):
            continue
        yield cur
        kids = [k for k in _live_children(cur) if dataclasses.is_dataclass(k)]
        stack.extend(reversed(kids))


# --------------------------------------------------------------------------- analysis


class _Analyzer:
    def __init__(self, e: ast.Elaborated) -> None:
        self.e = e
        self.globals: dict[str, ast.Declaration] = {}
        for d in e.program.declarations:
            self.globals.setdefault(d.name, d)
        self.top_level_ids = {id(d) for d in e.program.declarations}
        self.global_actions: dict[int, ast.ActionInstance] = {}
        for a in e.actions:
            if a.owner is None or id(a.decl) in self.top_level_ids:
                self.global_actions.setdefault(id(a.decl), a)
        self.digest_names: dict[int, str] = {}
        self.auto_digest = 0
        # Actions a table refers to (actions list, default action, entries); the
        # others are only called directly, and p4c binds all their parameters.
        self.table_actions: set[int] = set()

    # ---- name resolution

    def _resolve(self, path: ast.PathExpr, block: ast.BlockInstance) -> object | None:
        if path.decl is not None and not path.absolute:
            return path.decl
        if not path.absolute:
            for d in _block_locals(block.decl):
                if d.name == path.name:
                    return d
        return self.globals.get(path.name)

    def _action_instance(
        self, decl: ast.ActionDecl, block: ast.BlockInstance
    ) -> ast.ActionInstance:
        glob = self.global_actions.get(id(decl))
        if glob is not None:
            return glob
        local = block.actions.get(decl.name)
        if local is not None and local.decl is decl:
            return local
        for inst in block.actions.values():
            if inst.decl is decl:
                return inst
        if id(decl) not in self.top_level_ids:
            raise P4InfoError(decl.loc, f"action {decl.name} was not elaborated")
        inst = ast.ActionInstance(control_plane_name(decl, decl.name), decl, None)
        self.global_actions[id(decl)] = inst
        return inst

    def _action_of_ref(self, ref: ast.ActionRef, block: ast.BlockInstance) -> ast.ActionInstance:
        decl: object | None = ref.decl
        if decl is None:
            decl = self._resolve(ref.name, block)
        if not isinstance(decl, ast.ActionDecl):
            raise P4InfoError(ref.loc, f"'{ref.name.name}' is not an action")
        return self._action_instance(decl, block)

    def is_global(self, inst: ast.ActionInstance) -> bool:
        """A top-level action (p4c copies it into each control that uses it)."""
        return inst.owner is None or id(inst.decl) in self.top_level_ids

    def no_action(self) -> ast.ActionInstance:
        decl = self.globals.get("NoAction")
        if not isinstance(decl, ast.ActionDecl):
            raise P4InfoError(None, "NoAction is not declared (core.p4 missing?)")
        return self._action_instance(decl, self._any_block())

    def _any_block(self) -> ast.BlockInstance:
        return next(iter(self.e.blocks.values()))

    # ---- controls

    def control(self, block: ast.BlockInstance) -> _Control:
        ctl = _Control(block)
        flat = list(_flatten(block))
        bodies = [
            (b, b.decl.body) for b in _block_tree(block) if isinstance(b.decl, ast.ControlDecl)
        ]

        used_tables: set[tuple[str, str]] = set()
        for b, body in bodies:
            for node in _walk(body):
                if isinstance(node, ast.PathExpr):
                    target = self._resolve(node, b)
                    if isinstance(target, ast.TableDecl):
                        used_tables.add((b.qualname, target.name))

        globals_used: list[ast.ActionInstance] = []
        local_used: set[int] = set()

        def note(inst: ast.ActionInstance, by_table: bool = True) -> None:
            if by_table:
                self.table_actions.add(id(inst))
            if self.is_global(inst):
                if all(g is not inst for g in globals_used):
                    globals_used.append(inst)
            else:
                local_used.add(id(inst))

        for b, d in flat:
            if isinstance(d, ast.TableDecl) and (b.qualname, d.name) in used_tables:
                use = self._table(b, d)
                ctl.tables.append(use)
                for inst, _annos in use.action_refs:
                    note(inst)
                if use.default_action is not None:
                    note(use.default_action)
                for entry in d.entries:
                    note(self._action_of_ref(entry.action, b))
            elif isinstance(d, ast.Instantiation):
                ext = b.externs.get(d.name)
                if ext is not None:
                    ctl.externs.append(ext)
        for b, body in bodies:
            for node in _walk(body):
                if isinstance(node, ast.PathExpr):
                    target = self._resolve(node, b)
                    if isinstance(target, ast.ActionDecl):
                        note(self._action_instance(target, b), by_table=False)

        # Actions called only from other actions are inlined away by p4c.
        ctl.actions = list(globals_used)
        for b, d in flat:
            if isinstance(d, ast.ActionDecl):
                inst = self._action_instance(d, b)
                if id(inst) in local_used:
                    ctl.actions.append(inst)

        for inst in ctl.actions:
            if inst.decl.body is not None:
                ctl.digest_calls.extend(_digest_calls(inst.decl.body))
        for _b, body in bodies:
            ctl.digest_calls.extend(_digest_calls(body))
        live = [inst.decl.body for inst in ctl.actions] + [body for _b, body in bodies]
        ctl.calls_extern_function = any(_calls_extern_function(body) for body in live)
        return ctl

    def _table(self, block: ast.BlockInstance, decl: ast.TableDecl) -> _TableUse:
        inst = block.tables.get(decl.name)
        if inst is None:
            raise P4InfoError(decl.loc, f"table {decl.name} was not elaborated")
        use = _TableUse(block, decl, inst)
        for ref in decl.actions:
            use.action_refs.append((self._action_of_ref(ref, block), list(ref.annotations)))
        if decl.default_action is not None:
            use.default_action = self._action_of_ref(decl.default_action, block)
        else:
            noaction = self.no_action()
            use.default_action = noaction
            if all(a.decl is not noaction.decl for a, _ in use.action_refs):
                use.action_refs.append((noaction, [_DEFAULT_ONLY]))
        return use

    # ---- digests

    def digest(self, call: ast.Call) -> _Digest:
        t = _digest_type(call)
        key = id(call)
        if isinstance(t, ast.StructT | ast.HeaderT | ast.HeaderUnionT | ast.EnumT | ast.NewTypeT):
            name = control_plane_name(t.decl, t.name)
        else:
            if key not in self.digest_names:
                self.digest_names[key] = f"digest_{self.auto_digest}"
                self.auto_digest += 1
            name = self.digest_names[key]
        return _Digest(name, t)


_DEFAULT_ONLY = ast.Annotation(ast.NOLOC, "defaultonly")


def _block_locals(decl: ast.ParserDecl | ast.ControlDecl) -> list[ast.Declaration]:
    return list(decl.locals)


def _flatten(block: ast.BlockInstance) -> Iterator[tuple[ast.BlockInstance, ast.Declaration]]:
    """A block's locals with nested parser/control instances replaced by
    their own locals, as p4c's inliner leaves them."""
    for d in block.decl.locals:
        child = block.children.get(d.name) if isinstance(d, ast.Instantiation) else None
        if child is not None and type(child.decl) is type(block.decl):
            yield from _flatten(child)
        else:
            yield block, d


def _block_tree(block: ast.BlockInstance) -> Iterator[ast.BlockInstance]:
    yield block
    for d in block.decl.locals:
        child = block.children.get(d.name) if isinstance(d, ast.Instantiation) else None
        if child is not None:
            yield from _block_tree(child)


def _is_digest_call(node: object) -> bool:
    if not isinstance(node, ast.Call):
        return False
    callee = node.callee
    if isinstance(callee, ast.ExternFunctionDecl):
        return callee.name == "digest"
    return isinstance(node.func, ast.PathExpr) and node.func.name == "digest" and callee is None


def _calls_extern_function(body: object) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.callee, ast.ExternFunctionDecl)
        for n in _walk(body)
    )


def _digest_calls(body: object) -> list[ast.Call]:
    return [n for n in _walk(body) if _is_digest_call(n)]  # type: ignore[misc]


def _digest_type(call: ast.Call) -> ast.Type:
    if call.type_args and call.type_args[0].resolved is not None:
        return call.type_args[0].resolved
    for t in call.inferred_type_args.values():
        return t
    if len(call.args) >= 2 and call.args[1].expr is not None and call.args[1].expr.type is not None:
        return call.args[1].expr.type
    raise P4InfoError(call.loc, "cannot tell the type of this digest")


# --------------------------------------------------------------------------- builder


def _set_preamble(
    pre: p4info_pb2.Preamble,
    symbols: ids.SymbolTable,
    prefix: int,
    name: str,
    annotations: list[ast.Annotation],
) -> None:
    pre.id = symbols.get_id(prefix, name)
    pre.name = name
    pre.alias = symbols.get_alias(name)
    add_annotations(pre, annotations)
    add_documentation(pre, annotations)


def _const_int(expr: ast.Expr | None) -> int | None:
    if expr is None:
        return None
    if isinstance(expr.const, int) and not isinstance(expr.const, bool):
        return expr.const
    if isinstance(expr, ast.IntLit):
        return expr.value
    return None


def _ctor_args(ext: ast.ExternInstance) -> dict[str, object]:
    """Constructor arguments by parameter name."""
    ctors = [m for m in ext.extern.methods if m.ret is None and m.name == ext.extern.name]
    for ctor in ctors:
        if len(ctor.params) == len(ext.ctor_args):
            return {p.name: v for p, v in zip(ctor.params, ext.ctor_args, strict=True)}
    # Named arguments in the instantiation tell us the mapping otherwise.
    named = {a.name: i for i, a in enumerate(ext.decl.args) if a.name is not None}
    if named and len(named) == len(ext.ctor_args):
        return {n: ext.ctor_args[i] for n, i in named.items()}
    raise P4InfoError(ext.decl.loc, f"cannot match constructor arguments of {ext.qualname}")


def _enum_member(value: object) -> str:
    text = str(value)
    return text.rsplit(".", 1)[-1]


def _id_of(decl: ast.Declaration | ast.Instantiation) -> int | None:
    return int_annotation(decl.annotations, "id")


def _is_hidden(annotations: list[ast.Annotation]) -> bool:
    return has_annotation(annotations, "hidden")


def build_p4info(e: ast.Elaborated) -> p4info_pb2.P4Info:
    """P4Info for ``e`` as ``p4c --p4runtime-files`` writes it (v1model).

    Raises P4InfoError (a P4Error) for anything it cannot describe, never another exception.
    """
    try:
        return _build(e)
    except P4Error:
        raise
    except TypeInfoError as err:
        raise P4InfoError(e.main.loc, str(err)) from None
    except Exception as err:  # a builder bug: a located error, not a traceback
        raise P4InfoError(
            e.main.loc, f"internal error in the P4Info builder: {type(err).__name__}: {err}"
        ) from err


def _build(e: ast.Elaborated) -> p4info_pb2.P4Info:
    if e.arch != "v1model":
        raise P4InfoError(e.main.loc, f"architecture {e.arch} is not supported")
    an = _Analyzer(e)
    info = p4info_pb2.P4Info()
    info.type_info.SetInParent()
    types = TypeSpecConverter(info.type_info, e.program)

    blocks = [e.blocks[r] for r in BLOCK_ORDER if r in e.blocks]
    controls = [an.control(b) for b in blocks if isinstance(b.decl, ast.ControlDecl)]
    parsers = [b for b in blocks if isinstance(b.decl, ast.ParserDecl)]
    parser_externs: list[ast.ExternInstance] = []
    value_sets: list[ast.ValueSetInstance] = []
    for p in parsers:
        for b, d in _flatten(p):
            if isinstance(d, ast.ValueSetDecl) and d.name in b.value_sets:
                value_sets.append(b.value_sets[d.name])
            elif isinstance(d, ast.Instantiation) and d.name in b.externs:
                parser_externs.append(b.externs[d.name])
    top_level = {id(d) for d in e.program.declarations if isinstance(d, ast.Instantiation)}
    global_externs = [x for x in e.externs if id(x.decl) in top_level]
    externs = global_externs + parser_externs + [x for c in controls for x in c.externs]
    controller_headers = [
        d
        for d in e.program.declarations
        if isinstance(d, ast.HeaderDecl) and has_annotation(d.annotations, "controller_header")
    ]

    # ---- pass 1: every control-plane symbol, for ids and aliases
    symbols = ids.SymbolTable()
    digests: list[tuple[_Control, ast.Call, _Digest]] = []
    for c in controls:
        for a in c.actions:
            symbols.add(ids.ACTION, a.qualname, _id_of(a.decl))
        for call in c.digest_calls:
            dg = an.digest(call)
            symbols.add(ids.DIGEST, dg.name)
            digests.append((c, call, dg))
    for ext in externs:
        kind = _EXTERN_KIND.get(ext.extern.name)
        if kind is not None:
            symbols.add(kind, ext.qualname, _id_of(ext.decl))
    direct_users: dict[int, str] = {}
    for c in controls:
        for t in c.tables:
            symbols.add(ids.TABLE, t.inst.qualname, _id_of(t.decl))
            for direct, kind, what in (
                (t.inst.direct_counter, ids.DIRECT_COUNTER, "direct counter"),
                (t.inst.direct_meter, ids.DIRECT_METER, "direct meter"),
            ):
                if direct is not None:
                    if id(direct) in direct_users:
                        raise P4InfoError(
                            direct.decl.loc,
                            f"Name '{direct.qualname}' is used for multiple {what} objects "
                            "in the P4Info message",
                        )
                    direct_users[id(direct)] = t.inst.qualname
                    symbols.add(kind, direct.qualname, _id_of(direct.decl))
    for vs in value_sets:
        symbols.add(ids.VALUE_SET, vs.qualname, _id_of(vs.decl))
    for h in controller_headers:
        symbols.add(ids.CONTROLLER_HEADER, control_plane_name(h, h.name), _id_of(h))
    symbols.compute_ids()

    # ---- pass 2: the messages, in p4c's order
    done_actions: set[int] = set()
    for c in controls:
        for a in c.actions:
            action_id = symbols.get_id(ids.ACTION, a.qualname)
            if action_id in done_actions or _is_hidden(a.decl.annotations):
                continue
            done_actions.add(action_id)
            _add_action(info, symbols, types, a, id(a) in an.table_actions)
    # Tables of each action profile, in table name order (as p4c lists them).
    profile_tables: dict[int, list[tuple[str, int]]] = {}
    for c in controls:
        for t in c.tables:
            _add_table(info, symbols, types, t)
            impl = t.inst.implementation
            if impl is not None and not _is_hidden(t.decl.annotations):
                table = info.tables[-1].preamble
                profile_tables.setdefault(id(impl), []).append((table.name, table.id))
    for ext in externs:
        users = sorted(profile_tables.get(id(ext), []), key=lambda nt: nt[0].encode())
        _add_extern(info, symbols, types, ext, [table_id for _, table_id in users])
    for vs in value_sets:
        _add_value_set(info, symbols, vs)
    done_digests: set[int] = set()
    for _c, _call, dg in digests:
        digest_id = symbols.get_id(ids.DIGEST, dg.name)
        if digest_id in done_digests:
            continue
        done_digests.add(digest_id)
        msg = info.digests.add()
        _set_preamble(msg.preamble, symbols, ids.DIGEST, dg.name, [])
        msg.type_spec.CopyFrom(types.convert(dg.type))
    for h in controller_headers:
        if not _is_hidden(h.annotations):
            _add_controller_header(info, symbols, types, h)
    _add_pkg_info(info, e)
    extern_calls = any(c.calls_extern_function for c in controls)  # `verify` in parsers: no
    if not extern_calls and not _has_type_info(info):
        info.ClearField("type_info")
    return info


def _has_type_info(info: p4info_pb2.P4Info) -> bool:
    """p4c writes ``type_info`` (even empty) once it has converted a table, an extern
    instance, a digest or packet-IO metadata, or seen an extern function call in a control;
    actions and value sets alone leave it unset."""
    if info.type_info.ByteSize():
        return True
    return bool(
        len(info.tables)
        or len(info.counters)
        or len(info.direct_counters)
        or len(info.meters)
        or len(info.direct_meters)
        or len(info.registers)
        or len(info.action_profiles)
        or len(info.digests)
        or len(info.controller_packet_metadata)
    )


def _add_action(
    info: p4info_pb2.P4Info,
    symbols: ids.SymbolTable,
    types: TypeSpecConverter,
    a: ast.ActionInstance,
    in_table: bool,
) -> None:
    """An action; one that no table refers to has no control-plane parameters
    (p4c's RemoveActionParameters binds them at the direct calls)."""
    msg = info.actions.add()
    _set_preamble(msg.preamble, symbols, ids.ACTION, a.qualname, a.decl.annotations)
    params = [p for p in a.decl.params if p.direction == ""] if in_table else []
    param_ids = ids.allocate_field_ids([int_annotation(p.annotations, "id") for p in params])
    for p, pid in zip(params, param_ids, strict=True):
        out = msg.params.add()
        out.id = pid
        out.name = string_annotation(p.annotations, "name") or p.name
        add_annotations(out, p.annotations)
        add_documentation(out, p.annotations)
        t = p.resolved if p.resolved is not None else p.type.resolved
        if t is None:
            raise P4InfoError(p.loc, f"parameter {p.name} has no type")
        if isinstance(t, ast.EnumT) and t.underlying is None:
            types.record(t)
            out.type_name.name = control_plane_name(t.decl, t.name)
            continue
        out.bitwidth = p4runtime_width(t)
        types.record(t)
        type_name = new_type_name(t)
        if type_name is not None:
            out.type_name.name = type_name


def _add_table(
    info: p4info_pb2.P4Info,
    symbols: ids.SymbolTable,
    types: TypeSpecConverter,
    t: _TableUse,
) -> None:
    if _is_hidden(t.decl.annotations):
        return
    decl = t.decl
    msg = info.tables.add()
    name = t.inst.qualname
    _set_preamble(msg.preamble, symbols, ids.TABLE, name, decl.annotations)

    key_ids = ids.allocate_field_ids([int_annotation(k.annotations, "id") for k in decl.keys])
    for i, (key, key_id) in enumerate(zip(decl.keys, key_ids, strict=True)):
        if key.match_kind == "selector":
            continue
        mf = msg.match_fields.add()
        mf.id = key_id
        mf.name = _key_name(t, i)
        add_annotations(mf, key.annotations)
        add_documentation(mf, key.annotations)
        kt = key.expr.type
        if kt is None:
            raise P4InfoError(key.loc, "key has no type")
        types.record(kt)
        mf.bitwidth = p4runtime_width(kt)
        if key.match_kind in _MATCH_TYPES:
            mf.match_type = _MATCH_TYPES[key.match_kind]
        else:
            mf.other_match_type = key.match_kind
        type_name = new_type_name(kt)
        if type_name is not None:
            mf.type_name.name = type_name

    for inst, annos in t.action_refs:
        ref = msg.action_refs.add()
        ref.id = symbols.get_id(ids.ACTION, inst.qualname)
        add_annotations(ref, annos)
        if has_annotation(annos, "tableonly"):
            ref.scope = p4info_pb2.ActionRef.TABLE_ONLY
        elif has_annotation(annos, "defaultonly"):
            ref.scope = p4info_pb2.ActionRef.DEFAULT_ONLY
        else:
            ref.scope = p4info_pb2.ActionRef.TABLE_AND_DEFAULT

    if decl.default_action is not None and decl.default_action_const and t.default_action:
        msg.const_default_action_id = symbols.get_id(ids.ACTION, t.default_action.qualname)

    if t.inst.implementation is not None:
        msg.implementation_id = symbols.get_id(ids.ACTION_PROFILE, t.inst.implementation.qualname)

    direct_counter = t.inst.direct_counter
    direct_meter = t.inst.direct_meter
    if direct_counter is not None:
        msg.direct_resource_ids.append(symbols.get_id(ids.DIRECT_COUNTER, direct_counter.qualname))
    if direct_meter is not None:
        msg.direct_resource_ids.append(symbols.get_id(ids.DIRECT_METER, direct_meter.qualname))

    size = _const_int(decl.size)
    msg.size = size if size else DEFAULT_TABLE_SIZE

    has_entries_property = bool(decl.entries) or any(p.name == "entries" for p in decl.properties)
    if has_entries_property and decl.entries_const:
        msg.is_const_table = True
    if decl.entries:
        msg.has_initial_entries = True

    for prop in decl.properties:
        if prop.name == "support_timeout" and prop.value is not None:
            value = prop.value.const
            if value is None and isinstance(prop.value, ast.BoolLit):
                value = prop.value.value
            if value is True:
                msg.idle_timeout_behavior = p4info_pb2.Table.NOTIFY_CONTROL

    table_id = msg.preamble.id
    if direct_counter is not None:
        dc = info.direct_counters.add()
        _set_preamble(
            dc.preamble,
            symbols,
            ids.DIRECT_COUNTER,
            direct_counter.qualname,
            direct_counter.decl.annotations,
        )
        dc.spec.unit = _COUNTER_UNITS.get(_unit(direct_counter), p4info_pb2.CounterSpec.UNSPECIFIED)
        dc.direct_table_id = table_id
    if direct_meter is not None:
        dm = info.direct_meters.add()
        _set_preamble(
            dm.preamble,
            symbols,
            ids.DIRECT_METER,
            direct_meter.qualname,
            direct_meter.decl.annotations,
        )
        dm.spec.unit = _METER_UNITS.get(_unit(direct_meter), p4info_pb2.MeterSpec.UNSPECIFIED)
        dm.direct_table_id = table_id


def _key_name(t: _TableUse, i: int) -> str:
    name = string_annotation(t.decl.keys[i].annotations, "name")
    if name is not None:
        return name
    if i < len(t.inst.key_names):
        return t.inst.key_names[i]
    raise P4InfoError(t.decl.keys[i].loc, "key has no name")


def _unit(ext: ast.ExternInstance) -> str:
    args = _ctor_args(ext)
    return _enum_member(args.get("type", ""))


def _add_extern(
    info: p4info_pb2.P4Info,
    symbols: ids.SymbolTable,
    types: TypeSpecConverter,
    ext: ast.ExternInstance,
    table_ids: list[int],
) -> None:
    """A counter, meter, register or action profile/selector instance; `table_ids`
    are the tables whose implementation it is."""
    kind = ext.extern.name
    annotations = ext.decl.annotations
    if kind == "counter":
        args = _ctor_args(ext)
        msg = info.counters.add()
        _set_preamble(msg.preamble, symbols, ids.COUNTER, ext.qualname, annotations)
        msg.spec.unit = _COUNTER_UNITS.get(_enum_member(args.get("type", "")), 0)
        msg.size = int(args["size"])  # type: ignore[call-overload]
    elif kind == "meter":
        args = _ctor_args(ext)
        mmsg = info.meters.add()
        _set_preamble(mmsg.preamble, symbols, ids.METER, ext.qualname, annotations)
        mmsg.spec.unit = _METER_UNITS.get(_enum_member(args.get("type", "")), 0)
        mmsg.size = int(args["size"])  # type: ignore[call-overload]
    elif kind == "register":
        args = _ctor_args(ext)
        rmsg = info.registers.add()
        _set_preamble(rmsg.preamble, symbols, ids.REGISTER, ext.qualname, annotations)
        if not ext.type_args:
            raise P4InfoError(ext.decl.loc, "register without a type argument")
        rmsg.type_spec.CopyFrom(types.convert(ext.type_args[0]))
        rmsg.size = int(args["size"])  # type: ignore[call-overload]
    elif kind in ("action_profile", "action_selector"):
        args = _ctor_args(ext)
        pmsg = info.action_profiles.add()
        # @max_group_size becomes a field, not an annotation string.
        kept = [a for a in annotations if a.name != "max_group_size"]
        _set_preamble(pmsg.preamble, symbols, ids.ACTION_PROFILE, ext.qualname, kept)
        pmsg.table_ids.extend(table_ids)
        pmsg.with_selector = kind == "action_selector"
        pmsg.size = int(args["size"])  # type: ignore[call-overload]
        max_group_size = int_annotation(annotations, "max_group_size")
        if max_group_size is not None:
            pmsg.max_group_size = max_group_size


def _add_value_set(
    info: p4info_pb2.P4Info, symbols: ids.SymbolTable, vs: ast.ValueSetInstance
) -> None:
    msg = info.value_sets.add()
    _set_preamble(msg.preamble, symbols, ids.VALUE_SET, vs.qualname, vs.decl.annotations)
    size = _const_int(vs.decl.size)
    msg.size = size or 0
    et = vs.decl.elem_type.resolved
    if isinstance(et, ast.NewTypeT):
        et = et.base
    if isinstance(et, ast.BitT):
        m = msg.match.add()
        m.id = 1
        m.bitwidth = et.width
        m.match_type = p4info_pb2.MatchField.EXACT
    elif isinstance(et, ast.StructT):
        field_decls = et.decl.fields if et.decl is not None else []
        annos = [fd.annotations for fd in field_decls] or [[] for _ in et.fields]
        fids = ids.allocate_field_ids([int_annotation(a, "id") for a in annos])
        for (fname, ftype), fannos, fid in zip(et.fields, annos, fids, strict=True):
            if not isinstance(ftype, ast.BitT):
                raise P4InfoError(vs.decl.loc, f"value set field {fname} is not bit<W>")
            m = msg.match.add()
            m.id = fid
            m.name = string_annotation(fannos, "name") or fname
            m.bitwidth = ftype.width
            match_kind = string_annotation(fannos, "match")
            kind_anno = ast.find_annotation(fannos, "match")
            if kind_anno is not None:
                match_kind = (kind_anno.body or "").strip()
            if match_kind and match_kind not in _MATCH_TYPES:
                m.other_match_type = match_kind
            else:
                m.match_type = _MATCH_TYPES.get(match_kind or "exact", p4info_pb2.MatchField.EXACT)
            add_annotations(m, fannos, lambda n: n == "match")
            add_documentation(m, fannos)
    elif isinstance(et, ast.EnumT) and et.underlying is not None:
        for i, member in enumerate(et.members, start=1):
            m = msg.match.add()
            m.id = i
            m.name = member
            m.bitwidth = et.underlying.width
            m.match_type = p4info_pb2.MatchField.EXACT
    else:
        raise P4InfoError(vs.decl.loc, "unsupported value set element type")


def _add_controller_header(
    info: p4info_pb2.P4Info,
    symbols: ids.SymbolTable,
    types: TypeSpecConverter,
    h: ast.HeaderDecl,
) -> None:
    ht = h.resolved
    if ht is None:
        raise P4InfoError(h.loc, f"header {h.name} has no resolved type")
    controller_name = string_annotation(h.annotations, "controller_header") or h.name
    msg = info.controller_packet_metadata.add()
    msg.preamble.id = symbols.get_id(ids.CONTROLLER_HEADER, control_plane_name(h, h.name))
    msg.preamble.name = controller_name
    msg.preamble.alias = controller_name
    add_annotations(msg.preamble, h.annotations)
    add_documentation(msg.preamble, h.annotations)
    field_annos = {fd.name: fd.annotations for fd in h.fields}
    flat = flatten_fields(ht.fields)
    annos = [field_annos.get(name, []) for name, _ in flat]
    fids = ids.allocate_field_ids([int_annotation(a, "id") for a in annos])
    for (fname, ftype), fannos, fid in zip(flat, annos, fids, strict=True):
        if _is_hidden(fannos):
            continue
        md = msg.metadata.add()
        md.id = fid
        md.name = string_annotation(fannos, "name") or fname
        add_annotations(md, fannos)
        md.bitwidth = p4runtime_width(ftype)
        types.record(ftype)
        type_name = new_type_name(ftype)
        if type_name is not None:
            md.type_name.name = type_name


def _add_pkg_info(info: p4info_pb2.P4Info, e: ast.Elaborated) -> None:
    pkg = info.pkg_info
    pkg.arch = e.arch
    for anno in e.main.annotations:
        if anno.name != "pkginfo":
            continue
        if not anno.kv and anno.body:
            for m in _PKGINFO_PAIR.finditer(anno.body):
                if m.group(1) in _PKGINFO_KEYS:
                    setattr(pkg, m.group(1), _unquote(m.group(2)))
        for key, value in anno.kv.items():
            if key in _PKGINFO_KEYS:
                if isinstance(value, ast.StringLit):
                    setattr(pkg, key, value.value)
                elif isinstance(value.const, str):
                    setattr(pkg, key, value.const)
    add_annotations(pkg, e.main.annotations, lambda n: n == "pkginfo")
    add_documentation(pkg, e.main.annotations)


_PKGINFO_KEYS = ("name", "version", "organization", "contact", "url", "arch")
# `@pkginfo(name = "x", version = "1")`: the parenthesised form p4c also reads.
_PKGINFO_PAIR = re.compile(r'(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)')


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text
