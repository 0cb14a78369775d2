"""Preprocessor: includes, macros, conditionals, #error, and locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from softswitch.frontend.errors import P4Error
from softswitch.frontend.preprocess import preprocess, preprocess_text, render


def texts(src: str, **kw: object) -> list[str]:
    return [t.text for t in preprocess_text(src, "m.p4", **kw).tokens]  # type: ignore[arg-type]


def test_object_and_function_macros() -> None:
    src = "#define N 4\n#define ADD(a, b) ((a) + (b))\nx = ADD(N, 2);\n"
    assert texts(src) == ["x", "=", "(", "(", "4", ")", "+", "(", "2", ")", ")", ";"]


def test_macro_args_with_nested_parens_and_commas() -> None:
    src = "#define F(a, b) a | b\nF(g(1, 2), (3, 4))\n"
    assert texts(src) == ["g", "(", "1", ",", "2", ")", "|", "(", "3", ",", "4", ")"]


def test_recursive_macro_does_not_loop() -> None:
    assert texts("#define X X + 1\nX\n") == ["X", "+", "1"]


def test_stringify_and_paste() -> None:
    src = "#define S(x) #x\n#define CAT(a, b) a##b\nS(hello world) CAT(foo, 9)\n"
    assert texts(src) == ['"hello world"', "foo9"]


def test_function_macro_name_without_parens_is_kept() -> None:
    assert texts("#define F(x) x\nF;\n") == ["F", ";"]


def test_undef_and_ifdef() -> None:
    src = "#define A\n#undef A\n#ifdef A\nyes\n#else\nno\n#endif\n"
    assert texts(src) == ["no"]


@pytest.mark.parametrize(
    ("cond", "taken"),
    [
        ("defined(A) && A * 2 == 6", True),
        ("defined B", False),
        ("!defined(B) && (A << 2) > 10", True),
        ("A - 4 ? 1 : 0", True),
        ("(A % 2) == 0 || UNDEFINED_NAME", False),
        ("A >= 3 && A <= 3 && A != 4", True),
    ],
)
def test_if_expressions(cond: str, taken: bool) -> None:
    src = f"#define A 3\n#if {cond}\nyes\n#else\nno\n#endif\n"
    assert texts(src) == (["yes"] if taken else ["no"])


def test_elif_chain_and_nesting() -> None:
    src = (
        "#define V 2\n#if V == 1\none\n#elif V == 2\n#if 0\nhidden\n#else\ntwo\n#endif\n"
        "#elif V == 2\nnever\n#else\nother\n#endif\n"
    )
    assert texts(src) == ["two"]


def test_skipped_block_may_hold_anything() -> None:
    assert texts("#if 0\nit's not P4 ` at all\n#error no\n#endif\nok\n") == ["ok"]


def test_error_directive_reports_location() -> None:
    with pytest.raises(P4Error) as ei:
        preprocess_text('\n  #error "bad config"\n', "m.p4")
    assert str(ei.value) == 'm.p4:2:3: #error "bad config"'


def test_missing_endif() -> None:
    with pytest.raises(P4Error, match="missing #endif"):
        preprocess_text("#ifdef X\nfoo\n", "m.p4")


def test_defines_argument() -> None:
    assert texts("#if MODE == 2\nyes\n#endif\n", defines={"MODE": "2"}) == ["yes"]


def test_predefined_target_macro() -> None:
    assert texts("#ifdef __TARGET_BMV2__\nbmv2\n#endif\n") == ["bmv2"]


def test_unknown_directive() -> None:
    with pytest.raises(P4Error) as ei:
        preprocess_text("#frobnicate\n", "m.p4")
    assert str(ei.value) == "m.p4:1:2: unknown preprocessor directive #frobnicate"


def test_pragma_is_noted() -> None:
    r = preprocess_text("#pragma foo bar\nx\n", "m.p4")
    assert [t.text for t in r.tokens] == ["x"]
    assert r.notes == ["m.p4:1:1: note: #pragma foo bar ignored"]


def test_includes_guards_and_locations(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "defs.p4").write_text(
        "#ifndef DEFS\n#define DEFS\nconst bit<8> K = 1;\n#endif\n"
    )
    (tmp_path / "local.p4").write_text("  local_tok\n")
    main = tmp_path / "main.p4"
    main.write_text('#include <defs.p4>\n#include "defs.p4"\n#include "local.p4"\nend\n')
    r = preprocess(main, include_dirs=[tmp_path / "inc"])
    assert [t.text for t in r.tokens] == ["const", "bit", "<", "8", ">", "K", "=", "1", ";",
                                         "local_tok", "end"]  # fmt: skip
    k = r.tokens[5]
    assert (Path(k.loc.file).name, k.loc.line, k.loc.col) == ("defs.p4", 3, 14)
    lt = r.tokens[9]
    assert (Path(lt.loc.file).name, lt.loc.line, lt.loc.col) == ("local.p4", 1, 3)
    assert (r.tokens[10].loc.line, r.tokens[10].loc.col) == (4, 1)
    assert [Path(f).name for f in r.files] == ["main.p4", "defs.p4", "local.p4"]


def test_include_not_found() -> None:
    with pytest.raises(P4Error) as ei:
        preprocess_text('#include "nope.p4"\n', "m.p4")
    assert str(ei.value) == "m.p4:1:2: cannot find include file 'nope.p4'"


def test_core_and_v1model_resolve() -> None:
    r = preprocess_text("#include <core.p4>\n#include <v1model.p4>\n", "m.p4")
    names = [Path(f).name for f in r.files]
    assert names == ["m.p4", "core.p4", "v1model.p4"]  # core.p4 read once (guard)


def test_macro_use_location_is_the_use_site() -> None:
    r = preprocess_text("#define ONE 1\n\n   x = ONE;\n", "m.p4")
    one = r.tokens[2]
    assert (one.text, one.loc.line, one.loc.col) == ("1", 3, 8)


def test_line_directive() -> None:
    r = preprocess_text('a\n#line 100 "orig.p4"\nb\nc\n', "m.p4")
    locs = [(t.text, t.loc.file, t.loc.line) for t in r.tokens]
    assert locs == [("a", "m.p4", 1), ("b", "orig.p4", 100), ("c", "orig.p4", 101)]


def test_line_continuation_in_define() -> None:
    assert texts("#define A 1 + \\\n 2\nA\n") == ["1", "+", "2"]


def test_render_round_trip_keeps_locations() -> None:
    src = "#define W 8\nconst bit<W> X =\n      5;\n"
    toks = preprocess_text(src, "/abs/m.p4").tokens
    again = preprocess_text(render(toks), "rendered.p4").tokens
    assert [(t.text, t.loc.file, t.loc.line) for t in again] == [
        (t.text, t.loc.file, t.loc.line) for t in toks
    ]
    assert [t.loc.col for t in again][-2:] == [7, 8]
