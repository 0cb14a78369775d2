"""Type checker: one accepted and one refused program per rule, with exact messages."""

from __future__ import annotations

import pytest
from frontend_helpers import body_line, load, locals_line, top_line

from softswitch.frontend import ast
from softswitch.frontend.errors import P4Error

# (body, locals, top, expected error with {B} = body line, {L} = locals line, {T} = top line)
REFUSED = [
    # no implicit casts between widths, bool and bit
    (
        "meta.x = hdr.h.b;",
        "",
        "",
        "t.p4:{B}:10: assignment: cannot use a value of type bit<16> where bit<8> is expected",
    ),
    (
        "meta.x = meta.flag;",
        "",
        "",
        "t.p4:{B}:10: assignment: cannot use a value of type bool where bit<8> is expected",
    ),
    (
        "meta.flag = 1;",
        "",
        "",
        "t.p4:{B}:13: assignment: cannot use a value of type int where bool is expected",
    ),
    (
        "meta.x = hdr.h.a + hdr.h.b;",
        "",
        "",
        "t.p4:{B}:10: operands of + must have the same type: bit<8> and bit<16> (use a cast)",
    ),
    # casts
    ("meta.y = (bit<32>)hdr.h.s;", "", "", "t.p4:{B}:10: cannot cast int<8> to bit<32>"),
    ("meta.x = (bit<8>)meta.flag;", "", "", "t.p4:{B}:10: cannot cast bool to bit<8>"),
    # concatenation widths and slices
    (
        "meta.x = hdr.h.a ++ hdr.h.a;",
        "",
        "",
        "t.p4:{B}:10: assignment: cannot use a value of type bit<16> where bit<8> is expected",
    ),
    (
        "meta.x = 1 ++ meta.x;",
        "",
        "",
        "t.p4:{B}:10: ++ needs operands with known widths; use a width literal (e.g. 8w5) "
        "or a cast",
    ),
    (
        "meta.x = hdr.h.a[8:1];",
        "",
        "",
        "t.p4:{B}:10: slice [8:1] is out of range for bit<8> (need 7 >= hi >= lo >= 0)",
    ),
    (
        "meta.x = hdr.h.a[meta.x:0];",
        "",
        "",
        "t.p4:{B}:10: slice bounds must be compile-time constants",
    ),
    # shifts and signedness
    (
        "meta.x = hdr.h.a << hdr.h.s;",
        "",
        "",
        "t.p4:{B}:21: a shift amount must be unsigned (bit<W>), not int<W>",
    ),
    (
        "meta.x = 1 << meta.x;",
        "",
        "",
        "t.p4:{B}:10: shifting an unsized constant needs a constant shift amount (or a width)",
    ),
    ("hdr.h.s = hdr.h.s / 2;", "", "", "t.p4:{B}:11: / is not defined on signed int<W>"),
    ("meta.x = 2 |+| 3;", "", "", "t.p4:{B}:10: saturating |+| needs a width (bit<W> or int<W>)"),
    # conditions
    ("if (meta.x) { }", "", "", "t.p4:{B}:5: if condition must have type bool, not bit<8>"),
    # l-values and directions
    ("hdr.h.a + 1 = 2;", "", "", "t.p4:{B}:1: assignment: expression is not an l-value"),
    (
        "K = 1;",
        "",
        "const bit<8> K = 1;\n",
        "t.p4:{B}:1: assignment: cannot assign to constant 'K'",
    ),
    (
        "a(meta.x);",
        "action a(in bit<8> v) { v = 1; }",
        "",
        "t.p4:{L}:25: assignment: cannot assign to 'in' parameter 'v'",
    ),
    (
        "",
        "action a(bit<8> v) { v = 1; }",
        "",
        "t.p4:{L}:22: assignment: cannot assign to directionless parameter 'v'",
    ),
    (
        "a(1);",
        "action a(inout bit<8> v) { }",
        "",
        "t.p4:{B}:3: action 'a': argument 'v' must have type bit<8>, not int",
    ),
    (
        "a(meta.x + 1);",
        "action a(inout bit<8> v) { }",
        "",
        "t.p4:{B}:3: action 'a': argument for inout parameter 'v' must be an l-value "
        "(expression is not an l-value)",
    ),
    (
        "",
        "action a(bit<8> d, inout bit<8> v) { }",
        "",
        "t.p4:{L}:20: action 'a': directional parameter 'v' must come before the directionless "
        "(action data) parameters",
    ),
    # tables
    (
        "a();",
        "table t { key = { meta.x : exact; } actions = { NoAction; } } action a() { t.apply(); }",
        "",
        "t.p4:{L}:76: table 't' cannot be applied inside an action",
    ),
    (
        "",
        "table t { key = { meta.x : lpm; meta.y : lpm; } actions = { NoAction; } }",
        "",
        "t.p4:{L}:33: table 't' has more than one lpm key",
    ),
    (
        "",
        "table t { key = { hdr.h : exact; } actions = { NoAction; } }",
        "",
        "t.p4:{L}:19: table key must have type bit<W>, int<W>, bool, an enum or error, "
        "not header h_t",
    ),
    (
        "",
        "table t { key = { meta.x : fuzzy; } actions = { NoAction; } }",
        "",
        "t.p4:{L}:19: unknown match kind 'fuzzy'",
    ),
    (
        "",
        "action b() {} table t { key = { meta.x : exact; } actions = { NoAction; } "
        "default_action = b(); }",
        "",
        "t.p4:{L}:92: default_action action 'b' is not in the actions of table 't'",
    ),
    (
        "",
        "action b(bit<8> v) {} table t { key = { meta.x : exact; } actions = { b; } "
        "default_action = b(); }",
        "",
        "t.p4:{L}:93: action 'b' takes 1 argument(s), 0 given",
    ),
    (
        "",
        "table t { key = { meta.x : exact; } actions = { NoAction; } "
        "const entries = { 1 .. 2 : NoAction(); } }",
        "",
        "t.p4:{L}:79: a range (..) needs a range key, not exact",
    ),
    (
        "",
        "table t { key = { meta.x : exact; meta.y : exact; } actions = { NoAction; } "
        "const entries = { 1 : NoAction(); } }",
        "",
        "t.p4:{L}:95: entry has 1 key values, table 't' has 2 keys",
    ),
    # names, fields, stacks
    ("meta.x = nothing;", "", "", "t.p4:{B}:10: unknown name 'nothing'"),
    ("hdr.h.nofield = 1;", "", "", "t.p4:{B}:1: header h_t has no field 'nofield'"),
    ("hdr.st[2].a = 1;", "", "", "t.p4:{B}:8: index 2 is out of range for a stack of size 2"),
    (
        "meta.x = hdr.st.size;",
        "",
        "",
        "t.p4:{B}:10: assignment: cannot use a value of type bit<32> where bit<8> is expected",
    ),
    # generics and externs
    (
        "r.read(meta.x, 0);",
        "register<bit<32>>(4) r;",
        "",
        "t.p4:{B}:8: read: argument 'result' must have type bit<32>, not bit<8>",
    ),
    (
        "hash(meta.x, HashAlgorithm.crc16, 0, {hdr.h.a}, 16);",
        "",
        "",
        "t.p4:{B}:35: hash: the width of argument 'base' is unknown; "
        "use a width literal (e.g. 8w5) "
        "or a cast",
    ),
    ("", "register(4) r;", "", "t.p4:{L}:1: missing type arguments for register"),
    (
        "c.count(1, 2);",
        "counter(4, CounterType.packets) c;",
        "",
        "t.p4:{B}:1: count takes 1 argument(s), 2 given",
    ),
    (
        "meta.x = hdr.h.isValid();",
        "",
        "",
        "t.p4:{B}:10: assignment: cannot use a value of type bool where bit<8> is expected",
    ),
    # declarations
    (
        "",
        "",
        "const bit<8> K = 1; const bit<8> K = 2;\n",
        "t.p4:{T}:34: 'K' is already declared (previous declaration at t.p4:{T}:14)",
    ),
    (
        "",
        "",
        "header bad_t { h_t inner; }\n",
        "t.p4:{T}:16: header field 'inner' must have type bit<W>, int<W>, bool or a serializable "
        "enum, not header h_t",
    ),
    ("", "", "const bit<8> K = meta;\n", "t.p4:{T}:18: unknown name 'meta'"),
    ("return 1;", "", "", "t.p4:{B}:1: return with a value in a void context"),
]


@pytest.mark.parametrize(("body", "locals_", "top", "msg"), REFUSED)
def test_refused(body: str, locals_: str, top: str, msg: str) -> None:
    with pytest.raises(P4Error) as ei:
        load(body, locals_, top)
    want = msg.format(B=body_line(body, locals_, top), L=locals_line(locals_, top), T=top_line(top))
    assert str(ei.value) == want


ACCEPTED = [
    ("meta.x = 300;", "", ""),  # unsized constants convert (and wrap)
    ("meta.x = hdr.h.a + 1; meta.y = (bit<32>)hdr.h.a;", "", ""),
    ("meta.y = (bit<32>)(bit<8>)hdr.h.s;", "", ""),
    ("meta.flag = (bool)1; meta.x = (bit<8>)(bit<1>)meta.flag;", "", ""),
    ("hdr.h.b = hdr.h.a ++ hdr.h.a; meta.x = hdr.h.b[11:4];", "", ""),
    ("hdr.h.f = hdr.h.isValid() && hdr.st[1].isValid(); hdr.h.setInvalid();", "", ""),
    ("hdr.st.push_front(1); hdr.st.pop_front(1); meta.y = hdr.st.lastIndex;", "", ""),
    ("r.read(meta.y, 0); r.write(1, meta.y + 5);", "register<bit<32>>(4) r;", ""),
    ("hash(meta.x, HashAlgorithm.crc16, 8w0, {hdr.h.a, hdr.h.b}, 16w16);", "", ""),
    ("random(meta.x, 0, 7); mark_to_drop(sm);", "", ""),
    ("clone(CloneType.I2E, 5); clone_preserving_field_list(CloneType.E2E, 1, 0);", "", ""),
    ("resubmit_preserving_field_list(1);", "", ""),
    ("truncate(64); assert(true); assume(true);", "", ""),
    ('log_msg("x"); log_msg("x={}", {meta.x});', "", ""),
    ("digest(1, meta); digest<meta_t>(2, {1, 2, true});", "", ""),
    (
        "m.execute_meter(0, meta.x); dm.read(meta.x);",
        "meter(8, MeterType.bytes) m; direct_meter<bit<8>>(MeterType.packets) dm;",
        "",
    ),
    ("exit;", "", ""),
    ("return;", "", ""),
    (
        "if (t.apply().hit) { meta.x = 1; } else { meta.x = 2; }",
        "table t { key = { meta.x : exact; } actions = { NoAction; } }",
        "",
    ),
    (
        "switch (t.apply().action_run) { a: { } default: { } }",
        "action a() {} table t { key = { meta.x : ternary; } actions = { a; NoAction; } }",
        "",
    ),
    ("switch (meta.x) { 1: 2: { meta.y = 1; } default: { } }", "", ""),
    ("meta.x = inc(meta.x);", "", "bit<8> inc(in bit<8> v) { return v + 1; }\n"),
    (
        "meta.x = (bit<8>)En.B; meta.flag = c == Color.R;",
        "Color c = Color.R;",
        "enum bit<8> En { A = 1, B = 2 } enum Color { R, G }\n",
    ),
    ("meta.y = p;", "", "type bit<32> pid_t; const bit<32> p = (bit<32>)(pid_t)5;\n"),
    ("meta.x = h_t.minSizeInBytes() + hdr.h.minSizeInBits();", "", ""),
    ("meta.x = meta.flag ? 8w1 : 8w2; meta.x = 8s5 == 8s5 ? 1 : 2;", "", ""),
]


@pytest.mark.parametrize(("body", "locals_", "top"), ACCEPTED)
def test_accepted(body: str, locals_: str, top: str) -> None:
    load(body, locals_, top)


def stmt_expr(e: ast.Elaborated, i: int) -> ast.Expr:
    body = e.blocks["ingress"].decl.body
    assert isinstance(body, ast.Block)
    s = body.stmts[i]
    assert isinstance(s, ast.Assign)
    return s.rhs


def test_constants_fold_with_wrap_around() -> None:
    e = load(
        "meta.x = 8w255 + 1; meta.x = 8w0 - 1; meta.x = 8w250 |+| 8w10; meta.x = 8w5 |-| 8w10;"
        "meta.x = (bit<8>)(8s0 |-| 8s127 |-| 8s10); meta.x = 300; meta.x = ~8w0x0F;"
        "meta.x = (bit<8>)(16w0x1234 >> 4); meta.x = (4w0xA ++ 4w0x5); meta.x = 16w0xABCD[15:8];"
    )
    values = [stmt_expr(e, i).const for i in range(10)]
    assert values == [0, 255, 255, 0, 128, 44, 0xF0, 0x23, 0xA5, 0xAB]
    assert stmt_expr(e, 5).type == ast.BitT(8)  # the unsized constant took the target type


def test_types_and_members_are_filled() -> None:
    e = load("meta.x = hdr.h.a; hdr.h.f = hdr.h.isValid(); meta.y = hdr.st.size;")
    rhs = stmt_expr(e, 0)
    assert isinstance(rhs, ast.Member) and rhs.kind == "field" and rhs.type == ast.BitT(8)
    call = stmt_expr(e, 1)
    assert isinstance(call, ast.Call) and isinstance(call.callee, ast.BuiltinMethod)
    assert call.callee.name == "isValid" and call.type == ast.BoolT()
    size = stmt_expr(e, 2)
    assert isinstance(size, ast.Member) and size.kind == "stack_size" and size.const == 2


def test_generic_inference_fills_type_args() -> None:
    e = load("hash(meta.x, HashAlgorithm.crc16, 8w0, {hdr.h.a, hdr.h.b}, 16w16);")
    body = e.blocks["ingress"].decl.body
    assert isinstance(body, ast.Block)
    s = body.stmts[0]
    assert isinstance(s, ast.CallStmt)
    ta = s.call.inferred_type_args
    assert ta["O"] == ast.BitT(8) and ta["T"] == ast.BitT(8) and ta["M"] == ast.BitT(16)
    assert ta["D"] == ast.TupleT((ast.BitT(8), ast.BitT(16)))
    assert isinstance(s.call.callee, ast.ExternFunctionDecl) and s.call.callee.name == "hash"
