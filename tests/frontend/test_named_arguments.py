"""Named arguments (P4_16 8.21): matched to parameters by name, in any order."""

from __future__ import annotations

import pytest
from frontend_helpers import PRELUDE

from softswitch.frontend import load_source
from softswitch.frontend.ast import ActionDecl, BitT, CallStmt, Elaborated, Instantiation
from softswitch.frontend.errors import P4Error

FILE = "named.p4"

BLOCKS = """
extern Pair {
    Pair(bit<8> lo, bit<16> hi);
    void put(in bit<8> x, in bit<16> y);
}
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Sub(inout meta_t m)(bit<32> n, bit<8> k) {
    counter(type = CounterType.bytes, size = n) c;
    apply { c.count(index = (bit<32>)k); }
}
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
%(locals)s
    action set(bit<8> a, bit<32> b) { meta.x = a; meta.y = b; }
    apply {
%(body)s
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
"""

MAIN_NAMED = "V1Switch(dep = D(), ck = CC(), eg = E(), ig = I(), vr = VC(), p = P()) main;\n"

GOOD_LOCALS = """
    Pair(hi = 16w300, lo = 8w7) pair;
    Sub(k = 8w3, n = 32w16) sub;
"""
GOOD_BODY = """
        pair.put(y = 16w2, x = meta.x);
        set(b = 32w9, a = 8w1);
        sub.apply(meta);
"""


def source(body: str = "", locals_: str = "", main: str = MAIN_NAMED) -> str:
    return PRELUDE + BLOCKS % {"locals": locals_, "body": body} + main


def load(body: str = "", locals_: str = "", main: str = MAIN_NAMED) -> Elaborated:
    return load_source(source(body, locals_, main), FILE, target_checks=False)


def line_of(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of needle in text."""
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def test_reordered_named_package_arguments_bind_by_name() -> None:
    e = load(GOOD_BODY, GOOD_LOCALS)
    assert list(e.blocks) == ["parser", "verify_checksum", "ingress", "egress",
                              "compute_checksum", "deparser"]  # fmt: skip
    assert [b.decl.name for b in e.blocks.values()] == ["P", "VC", "I", "E", "CC", "D"]
    assert e.headers_type.name == "headers_t" and e.metadata_type.name == "meta_t"


def test_named_constructor_arguments_fold_in_parameter_order() -> None:
    e = load(GOOD_BODY, GOOD_LOCALS)
    assert [(x.qualname, x.ctor_args) for x in e.externs] == [
        ("I.pair", [7, 300]),
        ("I.sub.c", [16, "bytes"]),
    ]
    assert e.blocks["ingress"].children["sub"].ctor_args == {"n": 16, "k": 3}


def test_named_method_and_action_call_arguments_typecheck() -> None:
    e = load(GOOD_BODY, GOOD_LOCALS)
    body = e.blocks["ingress"].decl.body
    assert body is not None
    put, act, _ = [s.call for s in body.stmts if isinstance(s, CallStmt)]
    # each argument got its own parameter's type (by name, not by position)
    assert [(a.name, a.expr.type if a.expr else None) for a in put.args] == [
        ("y", BitT(16)),
        ("x", BitT(8)),
    ]
    assert [(a.name, a.expr.type if a.expr else None) for a in act.args] == [
        ("b", BitT(32)),
        ("a", BitT(8)),
    ]
    assert isinstance(act.callee, ActionDecl) and act.callee.name == "set"


def test_named_instance_as_package_argument() -> None:
    main = (
        "VC() vc; I() ing;\n"
        "V1Switch(vr = vc, p = P(), ig = ing, eg = E(), ck = CC(), dep = D()) main;\n"
    )
    e = load(main=main)
    assert e.blocks["verify_checksum"].decl.name == "VC"
    assert e.blocks["ingress"].decl.name == "I"
    assert isinstance(e.main, Instantiation)


@pytest.mark.parametrize(
    ("body", "locals_", "main", "needle", "msg"),
    [
        # unknown name
        (
            "",
            "",
            MAIN_NAMED.replace("vr = VC()", "vx = VC()"),
            "vx = VC()",
            "package V1Switch has no parameter named 'vx'",
        ),
        (
            "",
            "Pair(lo = 8w1, high = 16w2) pair;",
            MAIN_NAMED,
            "high = 16w2",
            "Pair has no parameter named 'high'",
        ),
        (
            "set(a = 8w1, c = 32w2);",
            "",
            MAIN_NAMED,
            "c = 32w2",
            "action 'set' has no parameter named 'c'",
        ),
        # duplicate
        (
            "",
            "",
            MAIN_NAMED.replace("p = P()", "vr = P()"),
            "vr = P()",
            "package V1Switch: argument 'vr' is given twice",
        ),
        (
            "",
            "Sub(n = 32w1, n = 32w2) s;",
            MAIN_NAMED,
            "n = 32w2",
            "constructor of Sub: argument 'n' is given twice",
        ),
        (
            "set(a = 8w1, a = 8w2);",
            "",
            MAIN_NAMED,
            "a = 8w2",
            "action 'set': argument 'a' is given twice",
        ),
        # mixing named and positional
        (
            "",
            "",
            MAIN_NAMED.replace("p = P()", "P()"),
            "P()) main",
            "package V1Switch: cannot mix named and positional arguments",
        ),
        (
            "",
            "Pair(lo = 8w1, 16w2) pair;",
            MAIN_NAMED,
            "16w2",
            "cannot mix named and positional arguments",
        ),
        (
            "set(8w1, b = 32w2);",
            "",
            MAIN_NAMED,
            "8w1",
            "action 'set': cannot mix named and positional arguments",
        ),
    ],
)
def test_named_argument_errors(body: str, locals_: str, main: str, needle: str, msg: str) -> None:
    text = source(body, locals_, main)
    line, col = line_of(text, needle)
    with pytest.raises(P4Error) as exc:
        load_source(text, FILE, target_checks=False)
    assert str(exc.value).startswith(f"{FILE}:{line}:{col}: ")
    assert msg in str(exc.value)


def test_missing_named_argument() -> None:
    text = source("", "", MAIN_NAMED.replace("ck = CC(), ", ""))
    line, col = line_of(text, "main;")
    with pytest.raises(P4Error) as exc:
        load_source(text, FILE, target_checks=False)
    assert str(exc.value) == (
        f"{FILE}:{line}:{col}: package V1Switch: missing argument for parameter 'ck'"
    )
