"""What p4c (the frontend and its BMv2 back end) refuses in a type-correct program.

`check_bmv2(e)` runs after elaboration and raises the first such error as a
P4Error at p4c's position, in p4c's words:

* table properties out of order: `entries` before `key`, `default_action` or
  `entries` before `actions`;
* table entries: explicit priorities in `const entries`; priorities on a table
  whose keys are all exact/lpm; a first entry without a priority when others
  have one; an entry using a `@defaultonly` action; a `@tableonly` default
  action; an lpm mask that is not a prefix; a range whose low end is above its high;
* registers of a type other than bit<W> or int<W>; control-plane parameters of
  table actions that are not bit<W> or int<W>; a bool value for a ternary key;
* `verify` outside parsers;
* `++` of a signed and an unsigned operand (p4c 1.2.4 cannot type it); `/` and
  `%` at run time unless the divisor is a constant power of two;
* a table applied twice on one path through a control (applies in disjoint
  branches of an `if` or `switch` are fine);
* headers (that the program uses) whose fields do not total a multiple of 8 bits;
* inside an action, a method call or `exit` under an `if` (BMv2 cannot
  execute conditionally inside an action; p4c only predicates assignments),
  and `switch` statements;
* extern functions and objects BMv2 does not implement (a program's own
  externs); extern functions other than verify/log_msg in parsers;
  `mark_to_drop()` without its standard_metadata argument; checksum functions
  outside the control where BMv2 computes them (verify_checksum* in the
  verify-checksum control, update_checksum* in the compute-checksum control);
  resubmit outside ingress, recirculate outside egress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from softswitch.frontend import ast
from softswitch.frontend.elaborate import expr_text
from softswitch.frontend.errors import P4Error

ACTION_PARAM_TYPE = "action parameters must be bit<> or int<> on this target"
VERIFY_IN_PARSERS = "verify: may only be invoked in parsers"
NOT_CONSTANT = "could not evaluate expression at compilation time"
ENTRIES_BEFORE_KEY = "Entries list must be after table key"
CONST_PRIORITY = "Table with 'const' entries cannot have priorities"
NO_PRIORITY_NEEDED = "key match type does not require priorities, but some are specified"
FIRST_PRIORITY = "entry must have a priority"
DEFAULTONLY_ENTRY = "Action marked with defaultonly used in table"
TABLEONLY_DEFAULT = "Action marked with tableonly used as default action"
LPM_MASK = "invalid mask for LPM key"
BAD_RANGE = "Invalid range for table entry"
REGISTER_TYPE = "Only registers with bit or int types are currently supported"
SWITCH_IN_ACTION = "switch statements not supported in actions on this target"
TABLE_CYCLE = (
    "Program can not be implemented on this target since it contains a path from table "
    "{} back to itself"
)
CONDITIONAL_IN_ACTION = "Conditional execution in actions unsupported on this target"
MARK_TO_DROP_ARGS = "Expected 1 argument for mark_to_drop. Are you using an up-to-date v1model.p4?"
UNKNOWN_EXTERN_FUNCTION = "unknown extern function"

# Extern functions and object types (core.p4 and v1model.p4) the BMv2 back end implements.
BMV2_EXTERN_FUNCTIONS = frozenset(
    {
        "verify", "static_assert", "random", "digest", "mark_to_drop", "hash",
        "verify_checksum", "update_checksum", "verify_checksum_with_payload",
        "update_checksum_with_payload", "resubmit_preserving_field_list",
        "recirculate_preserving_field_list", "clone", "clone_preserving_field_list",
        "truncate", "assert", "assume", "log_msg",
    }
)  # fmt: skip
# Declared by v1model.p4 but no longer implemented by p4c's BMv2 back end (their
# *_preserving_field_list forms are): refused at the call, not at v1model.p4.
_DEPRECATED_FUNCTIONS = frozenset({"resubmit", "recirculate", "clone3"})
BMV2_EXTERN_TYPES = frozenset(
    {
        "packet_in", "packet_out", "counter", "direct_counter", "meter", "direct_meter",
        "register", "action_profile", "action_selector", "Checksum16",
    }
)  # fmt: skip
_PARSER_EXTERN_FUNCTIONS = frozenset({"verify", "static_assert", "log_msg"})

# Checksum extern functions and the only v1model block role that may call each.
_CHECKSUM_ROLE = {
    "verify_checksum": "verify_checksum",
    "verify_checksum_with_payload": "verify_checksum",
    "update_checksum": "compute_checksum",
    "update_checksum_with_payload": "compute_checksum",
}

_NO_PRIORITY_KINDS = ("exact", "lpm")
_NOT_CHILDREN = frozenset(
    {"decl", "type", "resolved", "callee", "inferred_type_args", "const", "loc", "owner"}
)


def check_bmv2(e: ast.Elaborated) -> None:
    """Raise P4Error for the first thing in `e` that p4c-bm2-ss refuses."""
    for b in _blocks(e):
        for d in b.decl.locals:
            if isinstance(d, ast.TableDecl):
                _check_table(d)
        for ti in b.tables.values():
            for ref in ti.decl.actions:
                if ref.decl is not None:
                    _check_action_params(ref.decl)
    _check_header_widths(e)
    for x in e.externs:
        if x.extern.name == "register" and not isinstance(x.type_args[0], ast.BitT):
            raise P4Error(x.decl.loc, REGISTER_TYPE)
    for b in _blocks(e):
        if isinstance(b.decl, ast.ControlDecl) and b.decl.body is not None:
            _flow(b.decl.body, frozenset(), b)
    for role, block in e.blocks.items():
        for sub in _blocks_under(block):
            _check_extern_function_calls(sub.decl, role)
    for a in e.actions:
        if a.owner is None:
            _check_extern_function_calls(a.decl, None)
    _check_extern_instances(e)
    _check_concatenations(e.program)
    seen: set[int] = set()
    for a in e.actions:
        if id(a.decl) not in seen and a.decl.body is not None:
            seen.add(id(a.decl))
            _check_action_body(a.decl.body, False)


def _blocks(e: ast.Elaborated) -> Iterator[ast.BlockInstance]:
    stack = list(e.blocks.values())
    while stack:
        b = stack.pop()
        yield b
        stack.extend(b.children.values())


def _blocks_under(b: ast.BlockInstance) -> Iterator[ast.BlockInstance]:
    yield b
    for c in b.children.values():
        yield from _blocks_under(c)


def _check_extern_function_calls(decl: object, role: str | None) -> None:
    """`role` is the v1model block the code runs in (None: a top-level action, which
    may run in any control)."""
    for node in _nodes(decl):
        if not isinstance(node, ast.Call):
            continue
        callee = node.callee
        if isinstance(callee, ast.MethodDecl):
            _check_extern_method(node, callee)
            continue
        if not isinstance(callee, ast.ExternFunctionDecl):
            continue
        name = callee.name
        if name not in BMV2_EXTERN_FUNCTIONS:
            loc = node.loc if name in _DEPRECATED_FUNCTIONS else callee.loc
            raise P4Error(loc, f"{name}: {UNKNOWN_EXTERN_FUNCTION}")
        if role == "parser" and name not in _PARSER_EXTERN_FUNCTIONS:
            raise P4Error(node.loc, f"{name}: not supported in parser on this target")
        if name == "verify" and role != "parser":
            raise P4Error(node.loc, VERIFY_IN_PARSERS)
        if name == "mark_to_drop" and not node.args:
            raise P4Error(node.loc, MARK_TO_DROP_ARGS)
        want = _CHECKSUM_ROLE.get(name)
        if want is not None and role != want:
            raise P4Error(node.loc, f"{name}: {UNKNOWN_EXTERN_FUNCTION}")
        for prefix, where in (("resubmit", "ingress"), ("recirculate", "egress")):
            if name.startswith(prefix) and role is not None and role != where:
                raise P4Error(node.loc, f"'{prefix}' can only be invoked in {where}")


def _check_extern_method(call: ast.Call, method: ast.MethodDecl) -> None:
    target = call.func.expr if isinstance(call.func, ast.Member) else None
    t = target.type if isinstance(target, ast.Expr) else None
    if isinstance(t, ast.ExternT) and t.name not in BMV2_EXTERN_TYPES:
        raise P4Error(method.loc, f"Unknown extern method {method.name} from type {t.name}")


def _check_extern_instances(e: ast.Elaborated) -> None:
    for x in e.externs:
        if x.extern.name not in BMV2_EXTERN_TYPES:
            raise P4Error(x.extern.loc, f"{x.extern.name}: unknown extern instance")


def _nodes(node: object) -> Iterator[object]:
    """Every AST node under `node` (declarations, statements, expressions, type refs)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, ast.TypeRef) or not dataclasses.is_dataclass(cur):
            continue
        if isinstance(cur, type):
            continue
        for f in dataclasses.fields(cur):
            value = getattr(cur, f.name)
            if f.name in _NOT_CHILDREN and not isinstance(value, ast.TypeRef):
                continue
            if isinstance(value, list | tuple):
                stack.extend(value)
            elif isinstance(value, dict):
                stack.extend(value.values())
            elif value is not None:
                stack.append(value)


def _check_concatenations(program: ast.Program) -> None:
    """Refuse the first (in source order) `++` of a signed and an unsigned operand, or
    run-time `/` or `%` that p4c cannot turn into a shift or a mask."""
    bad: list[P4Error] = []
    for node in (n for d in program.declarations for n in _nodes(d)):
        if not isinstance(node, ast.Binary) or node.right is None:
            continue
        if node.op in ("/", "%") and node.const is None:
            divisor = node.right.const
            if not (isinstance(divisor, int) and divisor > 0 and divisor & (divisor - 1) == 0):
                bad.append(P4Error(node.loc, f"{expr_text(node)}: {NOT_CONSTANT}"))
            continue
        if node.op != "++":
            continue
        lt = node.left.type if node.left is not None else None
        rt = node.right.type
        if isinstance(lt, ast.BitT) and isinstance(rt, ast.BitT) and lt.signed != rt.signed:
            result = f"{'int' if lt.signed else 'bit'}<{lt.width + rt.width}>"
            rname = f"{'int' if rt.signed else 'bit'}<{rt.width}>"
            msg = f"Cannot unify type '{rname}' with type '{result}'"
            bad.append(P4Error(node.right.loc, msg))
    if bad:
        raise min(bad, key=lambda err: (err.loc.file, err.loc.line, err.loc.col))


# --------------------------------------------------------------------------- tables


def _entry_loc(entry: ast.TableEntry) -> ast.Loc:
    return entry.keyset_loc if entry.keyset_loc is not None else entry.loc


def _before(t: ast.TableDecl, first: str, then: str) -> bool:
    a, b = t.prop_locs.get(first), t.prop_locs.get(then)
    return a is not None and b is not None and (a.line, a.col) < (b.line, b.col)


def _check_property_order(t: ast.TableDecl) -> None:
    if _before(t, "entries", "key"):
        raise P4Error(t.prop_locs["entries"], ENTRIES_BEFORE_KEY)
    for prop, ref in (
        ("default_action", t.default_action),
        ("entries", t.entries[0].action if t.entries else None),
    ):
        if ref is not None and _before(t, prop, "actions"):
            raise P4Error(
                t.loc, f"{t.name} has no action list, so it cannot invoke '{ref.name.name}'"
            )


def _check_action_params(a: ast.ActionDecl) -> None:
    for p in a.params:
        t = p.resolved
        while isinstance(t, ast.NewTypeT):
            t = t.base
        if isinstance(t, ast.EnumT) and t.underlying is not None:
            t = t.underlying
        if p.direction == "" and not isinstance(t, ast.BitT):
            raise P4Error(p.loc, f"{p.name}: {ACTION_PARAM_TYPE}")


def _check_table(t: ast.TableDecl) -> None:
    _check_property_order(t)
    by_decl = {id(r.decl): r for r in t.actions}
    if t.default_action is not None:
        listed = by_decl.get(id(t.default_action.decl))
        if listed is not None and ast.find_annotation(listed.annotations, "tableonly"):
            raise P4Error(
                t.prop_locs.get("default_action", t.default_action.loc), TABLEONLY_DEFAULT
            )
    for entry in t.entries:
        listed = by_decl.get(id(entry.action.decl))
        if listed is not None and ast.find_annotation(listed.annotations, "defaultonly"):
            raise P4Error(_entry_loc(entry), DEFAULTONLY_ENTRY)
    with_priority = next((en for en in t.entries if en.priority is not None), None)
    if with_priority is not None:
        if t.entries_const:
            raise P4Error(_entry_loc(with_priority), CONST_PRIORITY)
        if all(k.match_kind in _NO_PRIORITY_KINDS for k in t.keys):
            raise P4Error(t.prop_locs.get("key", t.loc), NO_PRIORITY_NEEDED)
        if t.entries[0].priority is None:
            raise P4Error(_entry_loc(t.entries[0]), FIRST_PRIORITY)
        _check_priority_overflow(t)
    for entry in t.entries:
        for k, kv in zip(t.keys, entry.keys, strict=False):
            kt = kv.type
            if isinstance(kt, ast.ErrorT) or (isinstance(kt, ast.EnumT) and kt.underlying is None):
                text = expr_text(kv)
                raise P4Error(kv.loc, f"{text}: unsupported {k.match_kind} key expression")
            if k.match_kind == "ternary" and isinstance(kv, ast.BoolLit):
                text = "true" if kv.value else "false"
                raise P4Error(kv.loc, f"{text}: unsupported ternary key expression")
            if isinstance(kv, ast.Range) and kv.lo is not None and kv.hi is not None:
                lo, hi = kv.lo.const, kv.hi.const
                if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
                    raise P4Error(kv.loc, BAD_RANGE)
            if k.match_kind == "lpm" and isinstance(kv, ast.Mask) and kv.mask is not None:
                width = _width(k.expr.type)
                mask = kv.mask.const
                if width is not None and isinstance(mask, int) and not _is_prefix(mask, width):
                    raise P4Error(kv.loc, LPM_MASK)


def _table_const(t: ast.TableDecl, prop: str) -> object:
    for p in t.properties:
        if p.name == prop and p.value is not None:
            return p.value.const
    return None


def _check_priority_overflow(t: ast.TableDecl) -> None:
    """Entries without a priority get the previous one minus (largest_priority_wins,
    the default) or plus priority_delta; going below 0 is an error in p4c."""
    largest = _table_const(t, "largest_priority_wins")
    delta = _table_const(t, "priority_delta")
    step = delta if isinstance(delta, int) and not isinstance(delta, bool) else 1
    current = 0
    for entry in t.entries:
        if entry.priority is not None and isinstance(entry.priority.const, int):
            current = entry.priority.const
        if largest is not False:
            if current < step:
                raise P4Error(t.loc, f"{t.name} Overflow in priority computation")
            current -= step
        else:
            current += step


def _width(t: ast.Type | None) -> int | None:
    try:
        return ast.type_width(t) if t is not None else None
    except TypeError:
        return None


def _is_prefix(mask: int, width: int) -> bool:
    """`mask` is ones followed by zeros within `width` bits."""
    mask &= (1 << width) - 1
    inverted = ~mask & ((1 << width) - 1)
    return inverted & (inverted + 1) == 0


# --------------------------------------------------------------------------- table applies

Applied = frozenset[int] | None  # tables applied on the path so far; None: the path ended


def _flow(s: ast.Stmt | ast.Declaration | None, applied: Applied, b: ast.BlockInstance) -> Applied:
    """Follow one control's statements, refusing a table applied twice on one path."""
    if applied is None or s is None:
        return applied
    if isinstance(s, ast.Block):
        for st in s.stmts:
            applied = _flow(st, applied, b)
        return applied
    if isinstance(s, ast.If):
        after = _applies(s.cond, applied, b)
        return _join(_flow(s.then, after, b), _flow(s.other, after, b) if s.other else after)
    if isinstance(s, ast.Switch):
        after = _applies(s.expr, applied, b)
        out: Applied = None
        has_default = False
        for case in s.cases:
            has_default |= any(isinstance(lab, ast.Default) for lab in case.labels)
            if case.body is not None:
                out = _join(out, _flow(case.body, after, b))
        return out if has_default else _join(out, after)
    if isinstance(s, ast.Exit | ast.Return):
        _applies(s, applied, b)
        return None
    return _applies(s, applied, b)


def _join(a: Applied, b: Applied) -> Applied:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _applies(node: object, applied: frozenset[int], b: ast.BlockInstance) -> frozenset[int]:
    for n in _nodes(node):
        if isinstance(n, ast.Call) and isinstance(n.callee, ast.TableDecl):
            t = n.callee
            if id(t) in applied:
                inst = b.tables.get(t.name)
                name = inst.qualname if inst is not None else t.name
                raise P4Error(t.loc, TABLE_CYCLE.format(name))
            applied = applied | {id(t)}
    return applied


# --------------------------------------------------------------------------- headers


def _check_header_widths(e: ast.Elaborated) -> None:
    roots: list[ast.Type] = [t for t in (e.headers_type, e.metadata_type) if t is not None]
    for b in _blocks(e):
        roots.extend(_type_refs(b.decl))
    for a in e.actions:
        roots.extend(_type_refs(a.decl))
    for x in e.externs:
        roots.extend(x.type_args)
    for dg in e.digests:
        roots.append(dg.type)
    seen: set[int] = set()
    for t in roots:
        _check_type(t, seen)


def _type_refs(node: object) -> Iterator[ast.Type]:
    for n in _nodes(node):
        if isinstance(n, ast.TypeRef) and n.resolved is not None:
            yield n.resolved


def _check_type(t: ast.Type, seen: set[int]) -> None:
    if id(t) in seen:
        return
    seen.add(id(t))
    if isinstance(t, ast.StackT):
        _check_type(t.elem, seen)
    elif isinstance(t, ast.StructT | ast.HeaderUnionT):
        for _, ft in t.fields:
            _check_type(ft, seen)
    elif isinstance(t, ast.HeaderT):
        if any(isinstance(ft, ast.VarbitT) for _, ft in t.fields):
            return
        bits = _width(t)
        if bits is not None and bits % 8 != 0 and t.decl is not None:
            raise P4Error(
                t.decl.loc,
                f"header {t.name}: Found header with fields totaling {bits} bits.  "
                "BMv2 target only supports headers with fields totaling a multiple of 8 bits.",
            )


# --------------------------------------------------------------------------- actions


def _check_action_body(s: ast.Stmt | ast.Declaration | None, conditional: bool) -> None:
    if isinstance(s, ast.Block):
        for st in s.stmts:
            _check_action_body(st, conditional)
    elif isinstance(s, ast.If):
        if isinstance(s.cond.const, bool):
            _check_action_body(s.then if s.cond.const else s.other, conditional)
        else:
            _check_action_body(s.then, True)
            _check_action_body(s.other, True)
    elif isinstance(s, ast.Switch):
        raise P4Error(s.loc, SWITCH_IN_ACTION)
    elif isinstance(s, ast.Exit) and conditional:
        raise P4Error(s.loc, CONDITIONAL_IN_ACTION)
    elif isinstance(s, ast.CallStmt) and conditional:
        callee = s.call.callee
        if isinstance(callee, ast.ActionDecl):
            _check_action_body(callee.body, True)
        elif not isinstance(callee, ast.FunctionDecl):
            raise P4Error(s.call.loc, CONDITIONAL_IN_ACTION)
