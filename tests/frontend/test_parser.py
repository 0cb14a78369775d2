"""Parser: declarations, statements, tables, keysets, operator precedence, annotations."""

from __future__ import annotations

import pytest

from softswitch.frontend import ast, parse_program
from softswitch.frontend.elaborate import expr_text
from softswitch.frontend.errors import P4Error


def decls(src: str) -> list[ast.Declaration]:
    return parse_program(src, "p.p4").declarations


def expr(src: str, prelude: str = "") -> ast.Expr:
    d = decls(prelude + f"const bit<8> X = {src};")[-1]
    assert isinstance(d, ast.ConstDecl)
    return d.value


def sexpr(e: ast.Expr | None) -> str:
    """Fully parenthesized form, to check precedence."""
    if isinstance(e, ast.Binary):
        return f"({sexpr(e.left)} {e.op} {sexpr(e.right)})"
    if isinstance(e, ast.Unary):
        return f"({e.op}{sexpr(e.expr)})"
    if isinstance(e, ast.Ternary):
        return f"({sexpr(e.cond)} ? {sexpr(e.then)} : {sexpr(e.other)})"
    if isinstance(e, ast.Cast):
        return (
            f"(cast {expr_text(e.expr) if not isinstance(e.expr, ast.Binary) else sexpr(e.expr)})"
        )
    return expr_text(e)


@pytest.mark.parametrize(
    ("src", "tree"),
    [
        ("a + b * c", "(a + (b * c))"),
        ("a - b - c", "((a - b) - c)"),
        ("a & b == c", "((a & b) == c)"),  # P4: bitwise binds tighter than ==
        ("a | b ^ c & d", "(a | (b ^ (c & d)))"),
        ("a << 2 + 1", "(a << (2 + 1))"),
        ("a >> 1 < b", "((a >> 1) < b)"),
        ("a ++ b + c", "((a ++ b) + c)"),
        ("a |+| b * c", "(a |+| (b * c))"),
        ("a |-| b", "(a |-| b)"),
        ("!a && b || c", "(((!a) && b) || c)"),
        ("a == b && c != d", "((a == b) && (c != d))"),
        ("a < b == c > d", "((a < b) == (c > d))"),
        ("-a * ~b", "((-a) * (~b))"),
        ("c ? a : b ? d : e", "(c ? a : (c2 ? d : e))".replace("c2", "b")),
        ("a % b / c", "((a % b) / c)"),
    ],
)
def test_precedence(src: str, tree: str) -> None:
    assert sexpr(expr(src)) == tree


def test_shift_right_is_two_adjacent_gt() -> None:
    e = expr("a >> 2")
    assert isinstance(e, ast.Binary) and e.op == ">>"
    with pytest.raises(P4Error):
        expr("a > > 2")


def test_literals() -> None:
    cases = {
        "8w5": (5, 8, False),
        "8s127": (127, 8, True),
        "0x1_F": (31, None, False),
        "16w0xFFFF": (65535, 16, False),
        "0b1010": (10, None, False),
        "0o17": (15, None, False),
        "0d99": (99, None, False),
        "1_000": (1000, None, False),
    }
    for src, (v, w, s) in cases.items():
        e = expr(src)
        assert isinstance(e, ast.IntLit)
        assert (e.value, e.width, e.signed) == (v, w, s), src


def test_postfix_forms() -> None:
    e = expr("hdr.x[7:0]")
    assert isinstance(e, ast.Slice) and expr_text(e) == "hdr.x[7:0]"
    e = expr("hdr.stack[1].f")
    assert isinstance(e, ast.Member) and isinstance(e.expr, ast.Index)
    e = expr("t.apply().action_run")
    assert isinstance(e, ast.Member) and isinstance(e.expr, ast.Call)


def test_cast_vs_parenthesized() -> None:
    e = expr("(bit<16>)x + 1")
    assert isinstance(e, ast.Binary) and isinstance(e.left, ast.Cast)
    e = expr("(x) + 1")
    assert isinstance(e, ast.Binary) and isinstance(e.left, ast.PathExpr)
    e = expr("(T)x", prelude="typedef bit<8> T;\n")
    assert isinstance(e, ast.Cast) and e.to is not None and e.to.name == "T"


def test_generic_call_vs_comparison() -> None:
    e = expr("p.lookahead<bit<8>>()")
    assert isinstance(e, ast.Call) and e.type_args[0].name == "bit"
    e = expr("a < b")
    assert isinstance(e, ast.Binary) and e.op == "<"
    e = expr("f<T>(1)", prelude="typedef bit<8> T;\n")
    assert isinstance(e, ast.Call) and e.type_args[0].name == "T"


def test_list_and_struct_initializers() -> None:
    e = expr("{a, b, 1}")
    assert isinstance(e, ast.ListExpr) and len(e.items) == 3
    e = expr("{f = 1, g = a}")
    assert isinstance(e, ast.StructInit) and [n for n, _ in e.fields] == ["f", "g"]


def test_type_declarations() -> None:
    ds = decls(
        """
        typedef bit<48> mac_t;
        type bit<9> port_t;
        header h { mac_t a; bit<4> b; }
        header_union u { h x; }
        struct s { h[4] hs; bool f; }
        enum E { A, B, }
        enum bit<8> F { X = 1, Y = 2 }
        error { Oops }
        match_kind { fancy }
        const bit<8> K = 3;
        """
    )
    kinds = [type(d).__name__ for d in ds]
    assert kinds == ["TypedefDecl", "TypedefDecl", "HeaderDecl", "HeaderUnionDecl", "StructDecl",
                     "EnumDecl", "EnumDecl", "ErrorDecl", "MatchKindDecl", "ConstDecl"]  # fmt: skip
    assert isinstance(ds[1], ast.TypedefDecl) and ds[1].is_newtype
    st = ds[4]
    assert isinstance(st, ast.StructDecl)
    assert st.fields[0].type.name == "__stack__" and expr_text(st.fields[0].type.stack_size) == "4"
    f = ds[6]
    assert isinstance(f, ast.EnumDecl) and f.members == ["X", "Y"] and f.underlying is not None


def test_extern_declarations() -> None:
    ds = decls(
        """
        extern thing<T> {
            thing(bit<32> size);
            @noSideEffects T get<I>(in I index);
            void put(in T v);
        }
        extern void f<D>(in D data, bit<8> k);
        extern bit<16> g();
        """
    )
    ext = ds[0]
    assert isinstance(ext, ast.ExternDecl) and ext.type_params == ["T"]
    assert [m.name for m in ext.methods] == ["thing", "get", "put"]
    assert ext.methods[0].ret is None and ext.methods[1].type_params == ["I"]
    assert ext.methods[1].annotations[0].name == "noSideEffects"
    fn = ds[1]
    assert isinstance(fn, ast.ExternFunctionDecl) and fn.params[1].direction == ""
    assert isinstance(ds[2], ast.ExternFunctionDecl) and ds[2].ret is not None


TABLE_SRC = """
action a(bit<8> x) {}
control C(inout bit<8> v) {
    @name("tbl") table t {
        key = { v : exact @name("vv"); v[3:0] : ternary; v : range; v : lpm; v : optional; }
        actions = { a; @defaultonly NoAction; }
        const default_action = NoAction();
        size = 64;
        counters = c;
        const entries = {
            (1, 2 &&& 3, 1 .. 5, _, default) : a(1);
            priority = 7 : (1, _, _, _, _) : a(2);
        }
        my_prop = true;
    }
    apply {
        switch (t.apply().action_run) {
            a: { }
            NoAction:
            default: { exit; }
        }
        if (t.apply().hit) { return; } else if (!t.apply().miss) { v = 1; }
    }
}
"""


def test_table_and_switch() -> None:
    ctrl = decls(TABLE_SRC)[1]
    assert isinstance(ctrl, ast.ControlDecl)
    t = ctrl.locals[0]
    assert isinstance(t, ast.TableDecl) and t.annotations[0].body == '"tbl"'
    assert [k.match_kind for k in t.keys] == ["exact", "ternary", "range", "lpm", "optional"]
    assert t.keys[0].annotations[0].args[0].value == "vv"  # type: ignore[attr-defined]
    assert [r.name.name for r in t.actions] == ["a", "NoAction"]
    assert t.actions[1].annotations[0].name == "defaultonly"
    assert t.default_action is not None and t.default_action_const
    assert t.entries_const and len(t.entries) == 2
    e0 = t.entries[0]
    assert [type(k).__name__ for k in e0.keys] == ["IntLit", "Mask", "Range", "Default", "Default"]
    assert t.entries[1].priority is not None and expr_text(t.entries[1].priority) == "7"
    assert [p.name for p in t.properties] == ["counters", "my_prop"]
    assert ctrl.body is not None
    sw = ctrl.body.stmts[0]
    assert isinstance(sw, ast.Switch) and [c.body is None for c in sw.cases] == [False, True, False]


def test_parser_states_and_select() -> None:
    src = """
    parser P(packet_in p, out bit<8> o) {
        value_set<bit<8>>(4) vs;
        bit<8> tmp = 1;
        state start {
            p.extract(o);
            transition select(o, tmp) {
                (1, 2): next;
                (0x10 &&& 0xF0, _): accept;
                (vs, 1 .. 3): reject;
                default: accept;
            }
        }
        state next { verify(true, error.NoMatch); transition accept; }
        state noexit { }
    }
    """
    p = decls(src)[0]
    assert isinstance(p, ast.ParserDecl)
    assert [type(x).__name__ for x in p.locals] == ["ValueSetDecl", "VarDecl"]
    tr = p.states[0].transition
    assert tr is not None and tr.select is not None and len(tr.cases) == 4
    assert [c.state for c in tr.cases] == ["next", "accept", "reject", "accept"]
    k1 = tr.cases[1].keyset
    assert isinstance(k1, ast.ListExpr) and isinstance(k1.items[0], ast.Mask)
    assert isinstance(tr.cases[3].keyset, ast.Default)
    # a state without transition goes to reject
    last = p.states[2].transition
    assert last is not None and last.state == "reject"


def test_annotations_keep_raw_body() -> None:
    d = decls('@my_anno(foo  bar, "x y") @id(5) @kv[a=1, b="s"] header h { bit<8> f; }')[0]
    a, i, kv = d.annotations
    assert (a.name, a.body, a.args) == ("my_anno", 'foo  bar, "x y"', [])
    assert i.body == "5" and isinstance(i.args[0], ast.IntLit) and i.args[0].value == 5
    assert set(kv.kv) == {"a", "b"}


def test_function_and_instantiation() -> None:
    ds = decls("bit<8> inc(in bit<8> x) { return x + 1; }\nextern E { E(bit<8> n); }\nE(3) e;\n")
    assert isinstance(ds[0], ast.FunctionDecl) and ds[0].ret is not None
    inst = ds[2]
    assert isinstance(inst, ast.Instantiation) and inst.type.name == "E" and len(inst.args) == 1


@pytest.mark.parametrize(
    ("src", "msg"),
    [
        ("const bit<8> X = ;", "p.p4:1:18: expected an expression, found ';'"),
        ("header h { bit<8> f }", "p.p4:1:21: expected ';', found '}'"),
        ("control C() { apply { x = 1 } }", "p.p4:1:29: expected ';', found '}'"),
        ("control C() { apply { for (;;) {} } }", "p.p4:1:23: for loop is not supported"),
        ("control C() { apply { } ", "p.p4:1:24: expected '}', found end of input"),
        ("bit<8> x;", "p.p4:1:8: top-level variables must be declared 'const'"),
        ("extern E { abstract void f(); }", "p.p4:1:12: abstract method is not supported"),
        ("control C() { apply { this.x = 1; } }", "p.p4:1:23: 'this' is not supported"),
        ("struct s<T> { T f; }", "p.p4:1:9: generic struct is not supported"),
    ],
)
def test_syntax_errors(src: str, msg: str) -> None:
    with pytest.raises(P4Error) as ei:
        parse_program(src, "p.p4")
    assert str(ei.value) == msg
