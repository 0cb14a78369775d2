"""Code p4c removes before it writes P4Info is removed from the elaborated program too,
so the engine never meets tables the P4Info leaves out."""

from __future__ import annotations

from pathlib import Path

from frontend_helpers import load

from softswitch.frontend import ast, load_program

TABLES = (
    "action a() { meta.x = 1; } "
    "table t1 { key = { meta.x : exact; } actions = { a; } } "
    "table t2 { key = { meta.x : exact; } actions = { a; } } "
    "table t3 { key = { meta.x : exact; } actions = { a; } } "
    "table never { key = { meta.x : exact; } actions = { a; } }"
)


def test_constant_branches_and_unapplied_tables_removed() -> None:
    e = load(
        "if (false) { t1.apply(); } else { meta.y = 2; } "
        "meta.x = true ? 8w1 : (t2.apply().hit ? 8w2 : 8w3); "
        "if (meta.flag) { t3.apply(); }",
        TABLES,
    )
    assert [t.qualname for t in e.tables] == ["I.t3"]
    assert list(e.blocks["ingress"].tables) == ["t3"]
    body = e.blocks["ingress"].decl.body
    assert body is not None
    first, second, third = body.stmts
    assert isinstance(first, ast.Block)  # the else branch, in place of the if
    assert isinstance(second, ast.Assign) and isinstance(second.rhs, ast.IntLit)
    assert isinstance(third, ast.If)  # not constant: kept


def test_engine_builds_program_with_dead_and_unused_tables() -> None:
    from softswitch.device import _build_runtime
    from softswitch.p4info import build_p4info

    e = load("if (false) { t1.apply(); } t3.apply();", TABLES)
    info = build_p4info(e)
    assert [t.preamble.name for t in info.tables] == ["I.t3"]
    _build_runtime(e, info, None)


def test_unapplied_control_instance_removed() -> None:
    from softswitch.device import _build_runtime
    from softswitch.p4info import build_p4info

    top = (
        "control Sub(inout meta_t m) { register<bit<8>>(4) r; "
        "table st { key = { m.x : exact; } actions = { NoAction; } } "
        "apply { r.write(0, 1); st.apply(); } }\n"
    )
    e = load("used.apply(meta);", "Sub() used; Sub() unused;", top)
    assert sorted(e.blocks["ingress"].children) == ["used"]
    assert [x.qualname for x in e.externs] == ["I.used.r"]
    assert [t.qualname for t in e.tables] == ["I.used.st"]
    info = build_p4info(e)
    assert [r.preamble.name for r in info.registers] == ["I.used.r"]
    _build_runtime(e, info, None)


CONFORMANCE = Path(__file__).resolve().parents[2] / "conformance" / "programs"


def test_instances_used_through_a_constructor_argument_or_a_sub_parser_are_kept() -> None:
    """`Twice(inc) twice;` applies `inc` through its parameter, and a parser state's
    `tags.apply(...)` applies a sub-parser: neither may be removed as unapplied."""
    e = load_program(str(CONFORMANCE / "block_arguments.p4"))
    ingress = e.blocks["ingress"]
    assert {"inc", "twice", "add_then"} <= set(ingress.children)
    assert ingress.children["twice"].ctor_args["s"] is ingress.children["inc"]
    e = load_program(str(CONFORMANCE / "subparser_stack.p4"))
    assert "tags" in e.blocks["parser"].children
