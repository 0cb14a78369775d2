"""build_p4info on a hand-built elaborated program (no frontend needed)."""

from __future__ import annotations

from p4.config.v1 import p4info_pb2

from softswitch.frontend import ast as A
from softswitch.p4info import build_p4info, ids

L = A.NOLOC


def anno(name: str, body: str | None = None, *args: A.Expr) -> A.Annotation:
    return A.Annotation(L, name, body, list(args))


def s(v: str) -> A.StringLit:
    return A.StringLit(L, value=v)


def i(v: int) -> A.IntLit:
    return A.IntLit(L, value=v, const=v)


def tref(t: A.Type) -> A.TypeRef:
    return A.TypeRef(L, "bit", resolved=t)


def path(name: str, decl: object) -> A.PathExpr:
    return A.PathExpr(L, name=name, decl=decl)


def param(name: str, t: A.Type, direction: str = "") -> A.Param:
    return A.Param(L, direction, tref(t), name, resolved=t)


def call_stmt(func: A.Expr, *args: A.Expr, callee: object = None, targs=()) -> A.CallStmt:  # type: ignore[no-untyped-def]
    call = A.Call(L, func=func, args=[A.Arg(L, a) for a in args], callee=callee)
    call.type_args = [tref(t) for t in targs]
    return A.CallStmt(L, call)


def apply_stmt(table: A.TableDecl) -> A.CallStmt:
    return call_stmt(A.Member(L, expr=path(table.name, table), name="apply", kind="method"))


def key(expr_type: A.Type, kind: str, *annos: A.Annotation) -> A.KeyElement:
    return A.KeyElement(L, A.PathExpr(L, name="k", type=expr_type), kind, list(annos))


def ref(action: A.ActionDecl, *annos: A.Annotation) -> A.ActionRef:
    return A.ActionRef(L, path(action.name, action), annotations=list(annos), decl=action)


B8, B9, B16, B32, B48 = (A.BitT(w) for w in (8, 9, 16, 32, 48))

# ---- declarations (what core.p4 / v1model.p4 / the program declare)
NOACTION = A.ActionDecl(
    L, "NoAction", body=A.Block(L), annotations=[anno("noWarn", '"unused"', s("unused"))]
)
COUNTER = A.ExternDecl(
    L,
    "counter",
    methods=[A.MethodDecl(L, "counter", params=[param("size", B32), param("type", A.BitT(2))])],
)
DIRECT_COUNTER = A.ExternDecl(
    L,
    "direct_counter",
    methods=[A.MethodDecl(L, "direct_counter", params=[param("type", A.BitT(2))])],
)
REGISTER = A.ExternDecl(
    L,
    "register",
    type_params=["T"],
    methods=[A.MethodDecl(L, "register", params=[param("size", B32)])],
)
DIGEST_FN = A.ExternFunctionDecl(L, "digest", type_params=["T"])

COLOR = A.EnumT("Color", ["RED", "GREEN"], underlying=B8, values={"RED": 1, "GREEN": 2})
COLOR.decl = A.EnumDecl(L, "Color", members=["RED", "GREEN"])
PORT_T = A.NewTypeT("PortId_t", B9)
PORT_T.decl = A.TypedefDecl(L, "PortId_t", tref(B9), is_newtype=True)
LEARN = A.StructT("learn_t", [("src", B48), ("color", COLOR)])
LEARN.decl = A.StructDecl(L, "learn_t")

PKT_IN_T = A.HeaderT("packet_in_t", [("ingress_port", PORT_T), ("_pad", A.BitT(7))])
PKT_IN = A.HeaderDecl(
    L,
    "packet_in_t",
    fields=[A.FieldDecl(L, "ingress_port", tref(PORT_T)), A.FieldDecl(L, "_pad", tref(A.BitT(7)))],
    resolved=PKT_IN_T,
    annotations=[anno("controller_header", '"packet_in"', s("packet_in"))],
)
PKT_IN_T.decl = PKT_IN

# ---- control MyIngress
drop = A.ActionDecl(L, "drop", body=A.Block(L))
fwd = A.ActionDecl(
    L,
    "ipv4_forward",
    params=[param("dstAddr", B48), param("port", PORT_T)],
    body=A.Block(L),
    annotations=[anno("brief", '"Forward"', s("Forward")), anno("my_anno", '1, "x"')],
)
learn = A.ActionDecl(
    L,
    "learn",
    body=A.Block(
        L,
        [
            call_stmt(
                path("digest", DIGEST_FN),
                i(1),
                A.PathExpr(L, name="m", type=LEARN),
                callee=DIGEST_FN,
                targs=[LEARN],
            )
        ],
    ),
)
unused = A.ActionDecl(L, "never_used", body=A.Block(L))
inner = A.ActionDecl(L, "helper", body=A.Block(L))
caller = A.ActionDecl(
    L, "set_color", params=[param("c", COLOR)], body=A.Block(L, [call_stmt(path("helper", inner))])
)

lpm = A.TableDecl(
    L,
    "ipv4_lpm",
    keys=[key(B32, "lpm")],
    actions=[ref(fwd), ref(drop), ref(NOACTION)],
    default_action=ref(drop),
    size=i(1024),
    properties=[A.TableProperty(L, "counters", path("lpm_hits", None))],
)
acl = A.TableDecl(
    L,
    "acl",
    keys=[
        key(B16, "ternary", anno("name", '"dst_port"', s("dst_port"))),
        key(PORT_T, "exact", anno("id", "5", i(5))),
    ],
    actions=[ref(drop, anno("tableonly")), ref(learn), ref(caller, anno("defaultonly"))],
    default_action=ref(learn),
    default_action_const=True,
    annotations=[anno("noWarn", '"x"', s("x"))],
    properties=[A.TableProperty(L, "support_timeout", A.BoolLit(L, value=True, const=True))],
)
colors = A.TableDecl(L, "colors", keys=[key(COLOR, "exact")], actions=[ref(caller)])
dead = A.TableDecl(L, "dead", keys=[key(B8, "exact")], actions=[ref(unused)])

pkts = A.Instantiation(
    L,
    "port_pkts",
    A.TypeRef(L, "counter"),
    annotations=[anno("brief", '"per port"', s("per port"))],
)
hits = A.Instantiation(L, "lpm_hits", A.TypeRef(L, "direct_counter"))
state = A.Instantiation(L, "flow_state", A.TypeRef(L, "register"))

ingress_decl = A.ControlDecl(
    L,
    "MyIngress",
    locals=[pkts, hits, state, drop, fwd, learn, unused, inner, caller, lpm, acl, colors, dead],
    body=A.Block(L, [apply_stmt(lpm), apply_stmt(acl), apply_stmt(colors)]),
)
ingress = A.BlockInstance("MyIngress", ingress_decl)


def _ai(d: A.ActionDecl) -> A.ActionInstance:
    inst = A.ActionInstance(f"MyIngress.{d.name}", d, ingress)
    ingress.actions[d.name] = inst
    return inst


for _d in (drop, fwd, learn, unused, inner, caller):
    _ai(_d)
ingress.externs["port_pkts"] = A.ExternInstance(
    "MyIngress.port_pkts", pkts, COUNTER, (), [64, "CounterType.packets_and_bytes"]
)
ingress.externs["lpm_hits"] = HITS = A.ExternInstance(
    "MyIngress.lpm_hits", hits, DIRECT_COUNTER, (), ["packets"]
)
ingress.externs["flow_state"] = A.ExternInstance(
    "MyIngress.flow_state", state, REGISTER, (B32,), [4096]
)
for _t, _keys in (
    (lpm, ["hdr.ipv4.dstAddr"]),
    (acl, ["ignored", "meta.port"]),
    (colors, ["meta.color"]),
    (dead, ["meta.x"]),
):
    ingress.tables[_t.name] = A.TableInstance(f"MyIngress.{_t.name}", _t, ingress, [], _keys)
ingress.tables["ipv4_lpm"].direct_counter = HITS

egress = A.BlockInstance("MyEgress", A.ControlDecl(L, "MyEgress", body=A.Block(L)))
parser = A.BlockInstance("MyParser", A.ParserDecl(L, "MyParser"))
program = A.Program(
    [NOACTION, COUNTER, DIRECT_COUNTER, REGISTER, DIGEST_FN, PKT_IN], errors=["NoError"]
)
main = A.Instantiation(
    L,
    "main",
    A.TypeRef(L, "V1Switch"),
    annotations=[anno("pkginfo"), anno("brief", '"demo"', s("demo"))],
)
main.annotations[0].kv = {"version": s("1.2")}
ELAB = A.Elaborated(
    program,
    "v1model",
    main,
    {"parser": parser, "ingress": ingress, "egress": egress},
    actions=[A.ActionInstance("NoAction", NOACTION, None)],
)

INFO = build_p4info(ELAB)


def _by_name(msgs, name):  # type: ignore[no-untyped-def]
    return next(m for m in msgs if m.preamble.name == name)


def test_tables_in_declaration_order_and_unused_table_dropped() -> None:
    assert [t.preamble.name for t in INFO.tables] == [
        "MyIngress.ipv4_lpm",
        "MyIngress.acl",
        "MyIngress.colors",
    ]
    assert INFO.tables[0].preamble.id == 37375156
    assert INFO.tables[0].preamble.alias == "ipv4_lpm"


def test_actions_noaction_first_then_used_locals() -> None:
    """`helper` is only called from another action: p4c inlines it and lists it nowhere."""
    names = [a.preamble.name for a in INFO.actions]
    assert names == [
        "NoAction",
        "MyIngress.drop",
        "MyIngress.ipv4_forward",
        "MyIngress.learn",
        "MyIngress.set_color",
    ]
    assert INFO.actions[0].preamble.id == 21257015
    assert list(INFO.actions[0].preamble.annotations) == ['@noWarn("unused")']
    assert _by_name(INFO.actions, "MyIngress.drop").preamble.id == 25652968


def test_action_params_annotations_and_doc() -> None:
    a = _by_name(INFO.actions, "MyIngress.ipv4_forward")
    assert a.preamble.id == 28792405
    assert a.preamble.doc.brief == "Forward"
    assert list(a.preamble.annotations) == ['@my_anno(1 , "x")']
    assert [(p.id, p.name, p.bitwidth, p.type_name.name) for p in a.params] == [
        (1, "dstAddr", 48, ""),
        (2, "port", 9, "PortId_t"),
    ]
    c = _by_name(INFO.actions, "MyIngress.set_color")
    assert (c.params[0].bitwidth, c.params[0].type_name.name) == (8, "")


def test_lpm_table_fields() -> None:
    t = INFO.tables[0]
    assert [(m.id, m.name, m.bitwidth, m.match_type) for m in t.match_fields] == [
        (1, "hdr.ipv4.dstAddr", 32, p4info_pb2.MatchField.LPM)
    ]
    assert [r.id for r in t.action_refs] == [28792405, 25652968, 21257015]
    assert all(r.scope == p4info_pb2.ActionRef.TABLE_AND_DEFAULT for r in t.action_refs)
    assert t.size == 1024 and t.const_default_action_id == 0
    hits_id = ids.hashed_id(ids.DIRECT_COUNTER, "MyIngress.lpm_hits")
    assert list(t.direct_resource_ids) == [hits_id]
    dc = INFO.direct_counters[0]
    assert (dc.preamble.id, dc.direct_table_id, dc.spec.unit) == (
        hits_id,
        37375156,
        p4info_pb2.CounterSpec.PACKETS,
    )


def test_acl_scopes_names_ids_const_default_timeout() -> None:
    t = INFO.tables[1]
    assert [(m.id, m.name, m.match_type, m.type_name.name) for m in t.match_fields] == [
        (1, "dst_port", p4info_pb2.MatchField.TERNARY, ""),
        (5, "meta.port", p4info_pb2.MatchField.EXACT, "PortId_t"),
    ]
    assert [(r.scope, list(r.annotations)) for r in t.action_refs] == [
        (p4info_pb2.ActionRef.TABLE_ONLY, ["@tableonly"]),
        (p4info_pb2.ActionRef.TABLE_AND_DEFAULT, []),
        (p4info_pb2.ActionRef.DEFAULT_ONLY, ["@defaultonly"]),
    ]
    assert t.const_default_action_id == ids.hashed_id(ids.ACTION, "MyIngress.learn")
    assert t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL
    assert list(t.preamble.annotations) == ['@noWarn("x")']


def test_table_without_default_gets_defaultonly_noaction() -> None:
    t = INFO.tables[2]
    assert [(r.id, list(r.annotations), r.scope) for r in t.action_refs][-1] == (
        21257015,
        ["@defaultonly"],
        p4info_pb2.ActionRef.DEFAULT_ONLY,
    )
    assert t.match_fields[0].bitwidth == 8
    assert "Color" in INFO.type_info.serializable_enums


def test_counter_register_digest() -> None:
    c = INFO.counters[0]
    assert (c.preamble.name, c.preamble.doc.brief, c.spec.unit, c.size) == (
        "MyIngress.port_pkts",
        "per port",
        p4info_pb2.CounterSpec.BOTH,
        64,
    )
    r = INFO.registers[0]
    assert (r.preamble.id, r.size, r.type_spec.bitstring.bit.bitwidth) == (
        ids.hashed_id(ids.REGISTER, "MyIngress.flow_state"),
        4096,
        32,
    )
    d = INFO.digests[0]
    assert (d.preamble.name, d.preamble.id, d.type_spec.struct.name) == (
        "learn_t",
        ids.hashed_id(ids.DIGEST, "learn_t"),
        "learn_t",
    )
    members = INFO.type_info.structs["learn_t"].members
    assert [(m.name, m.type_spec.WhichOneof("type_spec")) for m in members] == [
        ("src", "bitstring"),
        ("color", "serializable_enum"),
    ]
    assert [(m.name, m.value) for m in INFO.type_info.serializable_enums["Color"].members] == [
        ("RED", b"\x01"),
        ("GREEN", b"\x02"),
    ]


def test_controller_header_and_new_type() -> None:
    h = INFO.controller_packet_metadata[0]
    assert (h.preamble.id, h.preamble.name, h.preamble.alias) == (
        ids.hashed_id(ids.CONTROLLER_HEADER, "packet_in_t"),
        "packet_in",
        "packet_in",
    )
    assert list(h.preamble.annotations) == ['@controller_header("packet_in")']
    assert [(m.id, m.name, m.bitwidth, m.type_name.name) for m in h.metadata] == [
        (1, "ingress_port", 9, "PortId_t"),
        (2, "_pad", 7, ""),
    ]
    nt = INFO.type_info.new_types["PortId_t"]
    assert nt.original_type.bitstring.bit.bitwidth == 9


def test_pkg_info() -> None:
    assert INFO.pkg_info.arch == "v1model"
    assert INFO.pkg_info.version == "1.2"
    assert INFO.pkg_info.doc.brief == "demo"
    assert list(INFO.pkg_info.annotations) == []
