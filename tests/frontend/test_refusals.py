"""Unsupported constructs are refused as `file:line:col: <construct> is not supported`,
and no input makes the frontend raise anything but P4Error."""

from __future__ import annotations

from pathlib import Path

import pytest
from frontend_helpers import body_line, load, locals_line, program, top_line

from softswitch.frontend import load_source
from softswitch.frontend.errors import P4Error, Unsupported
from softswitch.frontend.lexer import tokenize

UNSUPPORTED = [
    (
        "t.apply();",
        "action_profile(4) ap; table t { key = { meta.x : exact; } actions = { NoAction; } "
        "implementation = ap; }",
        "",
        "t.p4:{L}:83: table implementation (action profiles and selectors) is not supported",
    ),
    (
        "t.apply();",
        "table t { key = { meta.x : selector; } actions = { NoAction; } }",
        "",
        "t.p4:{L}:19: selector match kind (action selectors) is not supported",
    ),
    ("for (bit<8> i = 0; i < 4; i = i + 1) { }", "", "", "t.p4:{B}:1: for loop is not supported"),
    ("", "", "T id<T>(in T x) { return x; }\n", "t.p4:{T}:3: generic function is not supported"),
    ("", "", "extern X { abstract void f(); }\n", "t.p4:{T}:12: abstract method is not supported"),
    (
        "",
        "",
        "control G<T>(inout T x) { apply { } }\n",
        "t.p4:{T}:9: generic control is not supported",
    ),
]


@pytest.mark.parametrize(("body", "locals_", "top", "msg"), UNSUPPORTED)
def test_unsupported(body: str, locals_: str, top: str, msg: str) -> None:
    with pytest.raises(Unsupported) as ei:
        load(body, locals_, top)
    want = msg.format(B=body_line(body, locals_, top), L=locals_line(locals_, top), T=top_line(top))
    assert str(ei.value) == want


def test_other_architectures_refused() -> None:
    src = (
        "#include <core.p4>\ncontrol C(); package Pkg(C c);\n"
        "control M() { apply { } }\nPkg(M()) main;\n"
    )
    with pytest.raises(Unsupported) as ei:
        load_source(src, "a.p4")
    assert (
        str(ei.value)
        == "a.p4:4:10: architecture package Pkg (only v1model's V1Switch) is not supported"
    )


def test_no_main() -> None:
    with pytest.raises(P4Error, match="no 'main' package instance"):
        load_source("#include <v1model.p4>\n", "a.p4")


def test_truncated_programs_always_give_p4error() -> None:
    """Cut a valid program at every token boundary: always a P4Error, never another exception."""
    src = program(
        "if (hdr.h.isValid() && meta.x != 8w3) { t.apply(); } else { meta.y = (bit<32>)hdr.h.a; }",
        "action a(bit<8> v) { meta.x = v |+| 1; } "
        "table t { key = { meta.x : ternary; } actions = { a; NoAction; } "
        "const entries = { 1 &&& 3 : a(2); } default_action = NoAction(); }",
    )
    user_start = src.index("header h_t")
    toks = [t for t in tokenize(src, "t.p4")]
    offsets = []
    line_starts = [0]
    for i, ch in enumerate(src):
        if ch == "\n":
            line_starts.append(i + 1)
    for t in toks:
        offsets.append(line_starts[t.loc.line - 1] + t.loc.col - 1)
    cuts = [o for o in offsets if o > user_start]
    assert len(cuts) > 150
    for cut in cuts:
        with pytest.raises(P4Error):
            load_source(src[:cut], "t.p4")


@pytest.mark.parametrize(
    "junk",
    [
        "@",
        "'",
        "header",
        "control C(",
        "const bit<8> x = (",
        "#if",
        "#define F(",
        "F(",
        "V1Switch(",
        "struct s { bit<0> f; }",
        "const bit<4> x = 1 >> -1;",
        "}",
        "\\",
    ],
)
def test_garbage_gives_p4error(junk: str) -> None:
    with pytest.raises(P4Error):
        load_source("#include <v1model.p4>\n#define F(x) x\n" + junk, "g.p4")


def test_every_sample_program_loads() -> None:
    root = Path(__file__).resolve().parent.parent / "p4programs"
    samples = sorted(root.glob("frontend_*.p4"))
    assert samples
    for p in samples:
        load_source(p.read_text(), str(p))


# What p4c (frontend and BMv2 back end) refuses, in p4c's words at p4c's position.
# Each case: (locals of the ingress control, text the error points at, message).
P4C_REFUSALS = [
    (
        "action a() {} table t { key = { meta.x : exact; } actions = { a; } "
        "const entries = { priority = 3 : 1 : a(); } }",
        "1 : a()",
        "Table with 'const' entries cannot have priorities",
    ),
    (
        "action a() {} table t { key = { meta.x : ternary; } actions = { a; } "
        "const entries = { 1 : a(); priority = 3 : 2 : a(); } }",
        "2 : a()",
        "Table with 'const' entries cannot have priorities",
    ),
    (
        "action a() {} table t { key = { meta.x : exact; meta.y : lpm; } actions = { a; } "
        "entries = { priority = 3 : (1, 2) : a(); } }",
        "key",
        "key match type does not require priorities, but some are specified",
    ),
    (
        "action a() {} table t { key = { meta.x : ternary; } actions = { a; } "
        "entries = { 1 : a(); priority = 3 : 2 : a(); } }",
        "1 : a()",
        "entry must have a priority",
    ),
    (
        "action a() {} action b() {} table t { key = { meta.x : exact; } "
        "actions = { @defaultonly a; b; } const entries = { 1 : a(); } }",
        "1 : a()",
        "Action marked with defaultonly used in table",
    ),
    (
        "action a() {} table t { key = { meta.x : exact; } actions = { @tableonly a; NoAction; } "
        "default_action = a(); }",
        "default_action",
        "Action marked with tableonly used as default action",
    ),
    (
        "action a() {} table t { key = { meta.x : lpm; } actions = { a; } "
        "const entries = { 1 &&& 0x0f : a(); } }",
        "1 &&& 0x0f",
        "invalid mask for LPM key",
    ),
    (
        "action a() { if (meta.x == 1) { exit; } meta.y = 1; } "
        "table t { key = { meta.x : exact; } actions = { a; } }",
        "exit",
        "Conditional execution in actions unsupported on this target",
    ),
    (
        "action a() { if (meta.flag) { mark_to_drop(sm); } } apply_a_directly",
        "mark_to_drop",
        "Conditional execution in actions unsupported on this target",
    ),
    (
        "action a() { if (meta.flag) { hdr.h.setInvalid(); } } "
        "table t { key = { meta.x : exact; } actions = { a; } }",
        "hdr.h.setInvalid",
        "Conditional execution in actions unsupported on this target",
    ),
    (
        "action a() {} table t { key = { meta.x : range; } actions = { a; } "
        "const entries = { 5 .. 1 : a(); } }",
        "5 .. 1",
        "Invalid range for table entry",
    ),
    (
        "action a() { switch (meta.x) { 1: { meta.y = 1; } default: { meta.y = 2; } } } "
        "table t { key = { meta.x : exact; } actions = { a; } }",
        "switch",
        "switch statements not supported in actions on this target",
    ),
    (
        "action a() {} table t { actions = { a; } default_action = a; "
        "const entries = { _ : a(); } }",
        "t {",
        "Entries cannot be specified for a table with no key",
    ),
    (
        "register<bool>(4) r; table t { actions = { NoAction; } }",
        "r;",
        "Only registers with bit or int types are currently supported",
    ),
    (
        "action a() {} table t { const entries = { 1 : a(); } key = { meta.x : exact; } "
        "actions = { a; } }",
        "entries",
        "Entries list must be after table key",
    ),
    (
        "action a() {} table t { default_action = a(); key = { meta.x : exact; } "
        "actions = { a; } }",
        "t {",
        "t has no action list, so it cannot invoke 'a'",
    ),
    (
        "action a() {} table t { key = { meta.x : exact; } const entries = { 1 : a(); } "
        "actions = { a; } }",
        "t {",
        "t has no action list, so it cannot invoke 'a'",
    ),
    (
        "action a(bool f) { meta.flag = f; } table t { key = { meta.x : exact; } "
        "actions = { a; } }",
        "bool f",
        "f: action parameters must be bit<> or int<> on this target",
    ),
    (
        "action a() {} table t { key = { meta.flag : ternary; } actions = { a; } "
        "const entries = { true : a(); } }",
        "true",
        "true: unsupported ternary key expression",
    ),
    (
        "action a() {} table t { key = { meta.x : ternary; } actions = { a; } "
        "entries = { priority = 0 : 5 : a(); } }",
        "t {",
        "t Overflow in priority computation",
    ),
    (
        "action a() {} table t { key = { sm.parser_error : exact; } actions = { a; } "
        "const entries = { error.NoMatch : a(); } }",
        "error.NoMatch",
        "error.NoMatch: unsupported exact key expression",
    ),
    (
        "action a() {} table t { key = { meta.x + 1 : exact; } actions = { a; } }",
        "meta.x + 1",
        "Complex key expression requires a @name annotation",
    ),
    (
        "action a() {} table t { key = { (bit<16>)meta.x : exact; } actions = { a; } }",
        "(bit<16>)meta.x",
        "Complex key expression requires a @name annotation",
    ),
]


@pytest.mark.parametrize(("locals_", "at", "msg"), P4C_REFUSALS)
def test_refused_as_p4c_refuses(locals_: str, at: str, msg: str) -> None:
    body = "t.apply();"
    if locals_.endswith(" apply_a_directly"):
        locals_, body = locals_.removesuffix(" apply_a_directly"), "a();"
    with pytest.raises(P4Error) as ei:
        load(body, locals_)
    col = locals_.index(at) + 1
    assert str(ei.value) == f"t.p4:{locals_line(locals_)}:{col}: {msg}"


def test_header_not_multiple_of_8_bits_refused() -> None:
    top = "header odd_t { bit<4> a; bit<8> b; }\nstruct more_t { odd_t o; }\n"
    with pytest.raises(P4Error) as ei:
        load("more_t m; m.o.setInvalid();", "", top)
    assert str(ei.value) == (
        f"t.p4:{top_line(top)}:8: header odd_t: Found header with fields totaling 12 bits.  "
        "BMv2 target only supports headers with fields totaling a multiple of 8 bits."
    )


def test_unused_header_not_multiple_of_8_bits_accepted() -> None:
    """p4c removes unused types before the BMv2 check."""
    load("", "", "header odd_t { bit<4> a; bit<8> b; }\n")


def test_accepted_as_p4c_accepts() -> None:
    """Near misses of the refusals: prefix lpm masks, priorities on non-const entries in
    order, return under if in an action, named complex keys."""
    load(
        "t1.apply(); t2.apply(); t3.apply();",
        "action a() { if (meta.flag) { return; } meta.x = 1; } "
        "table t1 { key = { meta.x : lpm; } actions = { a; } "
        "const entries = { 1 &&& 0xf0 : a(); 2 &&& 0 : a(); } } "
        "table t2 { key = { meta.x : ternary; } actions = { a; } "
        "entries = { priority = 9 : 1 : a(); 2 : a(); priority = 1 : _ : a(); } } "
        'table t3 { key = { meta.x + 1 : exact @name("x1"); hdr.h.b & 0xff00 : ternary; '
        "hdr.h.isValid() : exact; } actions = { a; } }",
    )


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        (
            "mark_to_drop();",
            "Expected 1 argument for mark_to_drop. Are you using an up-to-date v1model.p4?",
        ),
        (
            "verify_checksum(true, {hdr.h.a}, hdr.h.b, HashAlgorithm.csum16);",
            "verify_checksum: unknown extern function",
        ),
        (
            "update_checksum(hdr.h.isValid(), {hdr.h.a}, hdr.h.b, HashAlgorithm.crc16);",
            "update_checksum: unknown extern function",
        ),
    ],
)
def test_extern_functions_bmv2_refuses_in_ingress(body: str, msg: str) -> None:
    with pytest.raises(P4Error) as ei:
        load(body)
    assert str(ei.value) == f"t.p4:{body_line(body)}:1: {msg}"


def test_checksum_functions_in_their_controls_accepted() -> None:
    src = program().replace(
        "control VC(inout headers_t hdr, inout meta_t meta) { apply { } }",
        "control VC(inout headers_t hdr, inout meta_t meta) { apply { "
        "verify_checksum(true, {hdr.h.a}, hdr.h.b, HashAlgorithm.csum16); } }",
    )
    src = src.replace(
        "control CC(inout headers_t hdr, inout meta_t meta) { apply { } }",
        "control CC(inout headers_t hdr, inout meta_t meta) { apply { "
        "update_checksum(hdr.h.isValid(), {hdr.h.a}, hdr.h.b, HashAlgorithm.crc16); } }",
    )
    assert "verify_checksum" in src and "update_checksum" in src
    load_source(src, "t.p4")


def test_table_applied_twice_on_one_path_refused() -> None:
    locals_ = "table t { key = { meta.x : exact; } actions = { NoAction; } }"
    with pytest.raises(P4Error) as ei:
        load("if (t.apply().hit) { meta.y = 1; } t.apply();", locals_)
    assert str(ei.value) == (
        f"t.p4:{locals_line(locals_)}:7: Program can not be implemented on this target since "
        "it contains a path from table I.t back to itself"
    )


def test_table_applied_on_disjoint_paths_accepted() -> None:
    load(
        "if (meta.x == 1) { t.apply(); } else { t.apply(); } "
        "switch (s.apply().action_run) { a: { u.apply(); } b: { u.apply(); } } "
        "if (meta.flag) { v.apply(); exit; } v.apply();",
        "action a() {} action b() {} "
        "table t { key = { meta.x : exact; } actions = { NoAction; } } "
        "table s { key = { meta.x : exact; } actions = { a; b; } } "
        "table u { key = { meta.x : exact; } actions = { NoAction; } } "
        "table v { key = { meta.x : exact; } actions = { NoAction; } }",
    )


def test_own_extern_function_refused_at_its_declaration() -> None:
    top = "extern void my_fn(in bit<8> x);\n"
    with pytest.raises(P4Error) as ei:
        load("my_fn(meta.x);", "", top)
    assert str(ei.value) == f"t.p4:{top_line(top)}:13: my_fn: unknown extern function"


def test_own_extern_object_refused() -> None:
    top = "extern Thing { Thing(); void go(in bit<8> x); }\n"
    with pytest.raises(P4Error) as ei:
        load("th.go(meta.x);", "Thing() th;", top)
    assert str(ei.value) == f"t.p4:{top_line(top)}:30: Unknown extern method go from type Thing"
    with pytest.raises(P4Error) as ei:
        load("", "Thing() th;", top)
    assert str(ei.value) == f"t.p4:{top_line(top)}:8: Thing: unknown extern instance"


def test_language_alone_without_target_checks() -> None:
    top = "extern void my_fn(in bit<8> x);\n"
    load_source(program("my_fn(meta.x);", "", top), "t.p4", target_checks=False)


@pytest.mark.parametrize(
    ("call", "msg"),
    [
        ("hash(meta.x, HashAlgorithm.crc16, 8w0, { hdr.h.a }, 8w4);", "hash: not supported"),
        ("mark_to_drop(sm);", "mark_to_drop: not supported"),
        ("random(meta.x, 0, 3);", "random: not supported"),
    ],
)
def test_extern_functions_in_parser_refused(call: str, msg: str) -> None:
    start = "state start { pkt.extract(hdr.h); transition accept; }"
    src = program().replace(
        start, "state start { pkt.extract(hdr.h); " + call + " transition accept; }"
    )
    line = next(i for i, text in enumerate(src.splitlines(), 1) if call in text)
    col = src.splitlines()[line - 1].index(call) + 1
    with pytest.raises(P4Error) as ei:
        load_source(src, "t.p4")
    assert str(ei.value) == f"t.p4:{line}:{col}: {msg} in parser on this target"


def test_verify_and_log_msg_in_parser_accepted() -> None:
    start = "state start { pkt.extract(hdr.h); transition accept; }"
    src = program().replace(
        start,
        'state start { pkt.extract(hdr.h); verify(hdr.h.a != 0, error.NoMatch); log_msg("p"); '
        "transition accept; }",
    )
    load_source(src, "t.p4")


@pytest.mark.parametrize("call", ["clone3(CloneType.I2E, 1, {meta.x});", "resubmit({});"])
def test_deprecated_v1model_functions_refused_at_the_call(call: str) -> None:
    with pytest.raises(P4Error) as ei:
        load(call)
    name = call.split("(")[0]
    assert str(ei.value) == f"t.p4:{body_line(call)}:1: {name}: unknown extern function"


def test_recirculate_in_ingress_refused() -> None:
    body = "recirculate_preserving_field_list(0);"
    with pytest.raises(P4Error) as ei:
        load(body)
    assert str(ei.value) == f"t.p4:{body_line(body)}:1: 'recirculate' can only be invoked in egress"


def test_mixed_sign_concatenation_refused() -> None:
    body = "bit<16> b = hdr.h.a ++ hdr.h.s; int<16> c = hdr.h.s ++ hdr.h.a;"
    with pytest.raises(P4Error) as ei:
        load(body)
    col = body.index("hdr.h.s") + 1
    assert str(ei.value) == (
        f"t.p4:{body_line(body)}:{col}: Cannot unify type 'int<8>' with type 'bit<16>'"
    )


def test_verify_in_control_refused() -> None:
    body = "verify(meta.x == 0, error.NoMatch);"
    with pytest.raises(P4Error) as ei:
        load(body)
    assert str(ei.value) == f"t.p4:{body_line(body)}:1: verify: may only be invoked in parsers"


@pytest.mark.parametrize(
    ("body", "expr"),
    [
        ("meta.y = meta.y / 3;", "meta.y / 3"),
        ("meta.y = meta.y % meta.y;", "meta.y % meta.y"),
    ],
)
def test_run_time_division_refused(body: str, expr: str) -> None:
    with pytest.raises(P4Error) as ei:
        load(body)
    col = body.index(expr) + 1
    assert str(ei.value) == (
        f"t.p4:{body_line(body)}:{col}: {expr}: could not evaluate expression at compilation time"
    )


def test_division_by_power_of_two_and_constant_division_accepted() -> None:
    load("meta.y = meta.y / 4; meta.y = meta.y % 8; meta.x = 7 % 3;")
