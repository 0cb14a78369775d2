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
        "",
        "action_profile(4) ap; table t { key = { meta.x : exact; } actions = { NoAction; } "
        "implementation = ap; }",
        "",
        "t.p4:{L}:83: table implementation (action profiles and selectors) is not supported",
    ),
    (
        "",
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
