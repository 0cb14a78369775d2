"""Elaboration: p4c's fully-qualified names, key names, bindings, digests, controller headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from frontend_helpers import load

from softswitch.frontend import load_program, load_source, preprocessed_source
from softswitch.frontend.ast import BitT, StructT

PROGRAMS = Path(__file__).resolve().parent.parent / "p4programs"


def test_l2fwd_names() -> None:
    e = load_program(PROGRAMS / "l2fwd.p4")
    assert list(e.blocks) == ["parser", "verify_checksum", "ingress", "egress",
                              "compute_checksum", "deparser"]  # fmt: skip
    assert e.blocks["ingress"].qualname == "L2Ingress"
    (t,) = e.tables
    assert (t.qualname, t.key_names) == ("L2Ingress.dmac", ["dst_addr"])
    assert [a.qualname for a in t.actions] == [
        "L2Ingress.set_egress_port", "L2Ingress.send_to_peer", "L2Ingress.drop"]  # fmt: skip
    assert isinstance(e.headers_type, StructT) and e.headers_type.name == "headers_t"
    assert isinstance(e.metadata_type, StructT) and e.metadata_type.name == "metadata_t"
    assert e.arch == "v1model" and e.main.name == "main"


def test_p4rt_basic_bindings() -> None:
    e = load_program(PROGRAMS / "p4rt_basic.p4")
    tables = {t.qualname: t for t in e.tables}
    acl = tables["BasicIngress.acl"]
    assert (
        acl.direct_counter is not None and acl.direct_counter.qualname == "BasicIngress.acl_counter"
    )
    assert acl.direct_counter.ctor_args == ["packets_and_bytes"]
    assert [a.qualname for a in tables["BasicIngress.dmac"].actions][-1] == "NoAction"
    assert sorted(e.controller_headers) == ["packet_in", "packet_out"]
    assert e.controller_headers["packet_in"].fields[0] == ("ingress_port", BitT(9))


def test_full_program_names() -> None:
    e = load_program(PROGRAMS / "frontend_full.p4")
    t = {x.qualname: x for x in e.tables}
    assert sorted(t) == ["MyIngress.acl", "MyIngress.fwd_table", "MyIngress.smac"]
    assert t["MyIngress.fwd_table"].key_names == [
        "dst_mac", "hdr.ipv4.dst", "hdr.ipv4.src[31:16]", "hdr.ipv4.protocol",
        "hdr.ipv4.$valid$"]  # fmt: skip
    assert len(t["MyIngress.acl"].decl.entries) == 3
    assert [(x.qualname, x.ctor_args) for x in e.externs] == [
        ("MyIngress.seen", [1024]),
        ("MyIngress.fwd_hits", ["packets"]),
        ("MyIngress.rate", [64, "bytes"]),
        ("MyIngress.stats.per_port", [256, "packets_and_bytes"]),
    ]
    assert e.blocks["ingress"].children["stats"].qualname == "MyIngress.stats"
    assert e.blocks["ingress"].children["stats"].ctor_args == {"n": 256}
    assert [(d.name, len(d.calls)) for d in e.digests] == [("learn_t", 1)]
    assert [v.qualname for v in e.value_sets] == ["MyParser.extra_types"]
    assert sorted(a.qualname for a in e.actions) == [
        "MyIngress.drop", "MyIngress.forward", "MyIngress.learn", "MyIngress.to_cpu",
        "NoAction"]  # fmt: skip


def test_name_annotations() -> None:
    e = load(
        "t1.apply(); t2.apply();",
        '@name("renamed") action a() {} @name(".global_b") action b() {}'
        '@name("tbl1") table t1 { key = { meta.x : exact @name("xx"); } actions = { a; } }'
        '@name(".top_t2") table t2 { key = { hdr.h.b : exact; meta.y[3:0] : ternary; } '
        "actions = { b; NoAction; } }",
    )
    t = {x.qualname: x for x in e.tables}
    assert sorted(t) == ["I.tbl1", "top_t2"]
    assert [a.qualname for a in t["I.tbl1"].actions] == ["I.renamed"]
    assert [a.qualname for a in t["top_t2"].actions] == ["global_b", "NoAction"]
    assert t["I.tbl1"].key_names == ["xx"]
    assert t["top_t2"].key_names == ["hdr.h.b", "meta.y[3:0]"]


def test_nested_control_instances_get_instance_names() -> None:
    top = (
        "control Sub(inout meta_t m)(bit<32> n) { counter(n, CounterType.packets) c;"
        " table t { key = { m.x : exact; } actions = { NoAction; } }"
        " apply { c.count(0); t.apply(); } }\n"
    )
    e = load("s1.apply(meta); s2.apply(meta);", "Sub(4) s1; Sub(8) s2;", top)
    assert sorted(x.qualname for x in e.tables) == ["I.s1.t", "I.s2.t"]
    assert [(x.qualname, x.ctor_args) for x in e.externs] == [
        ("I.s1.c", [4, "packets"]),
        ("I.s2.c", [8, "packets"]),
    ]


def test_duplicate_qualified_names_refused() -> None:
    with pytest.raises(Exception, match=r"two objects are both named 'I\.x'"):
        load(
            "",
            '@name("x") action a() {} @name("x") action b() {}'
            "table t { key = { meta.x : exact; } actions = { a; b; } }",
        )


def test_device_source_round_trip() -> None:
    """The preprocessed text (device config `source`) loads to the same names and locations."""
    path = PROGRAMS / "frontend_full.p4"
    first = load_program(path)
    again = load_source(preprocessed_source(path), "config.p4")
    assert [t.qualname for t in again.tables] == [t.qualname for t in first.tables]
    assert [str(t.decl.loc) for t in again.tables] == [str(t.decl.loc) for t in first.tables]
