"""Compile rules to TableEntry messages against the stats-stage P4Info fixture."""

from __future__ import annotations

import contextlib
import io
import textwrap
from collections.abc import Iterator
from pathlib import Path

import p4runtime_sh.shell as sh
import pytest
from google.protobuf import text_format
from p4.v1 import p4runtime_pb2
from p4runtime_sh.context import Context
from p4runtime_sh.global_options import global_options

from controlplane.capabilities import discover, rule_gaps
from controlplane.compile import compile_rules, encode
from controlplane.errors import CapabilityError
from controlplane.p4info import P4Schema
from controlplane.rules import read_rules
from controlplane.slots import assign

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]
SLOT1_RULES = 37436881
SLOT1_COUNT = 21189054
MONITOR_TABLE = 34978786
SEND_TO_MONITOR = 26080886


@pytest.fixture(scope="module")
def schema() -> P4Schema:
    return P4Schema.from_file(DATA / "stats.p4info.txtpb")


def compile_text(text: str, schema: P4Schema) -> list[p4runtime_pb2.TableEntry]:
    rs, probs = read_rules(textwrap.dedent(text), "t.yaml")
    assert probs == []
    return [d.entry for d in compile_rules(rs, assign(rs.stats), schema)]


def test_fixture_ids(schema: P4Schema) -> None:
    assert schema.table("NidsIngress.stats.slot1.rules").id == SLOT1_RULES
    assert schema.table("slot1.rules").id == SLOT1_RULES  # alias
    assert schema.action("NidsIngress.stats.slot1.count_group").id == SLOT1_COUNT
    assert schema.table("NidsIngress.forward.monitor_ports").id == MONITOR_TABLE
    assert schema.action("NidsIngress.forward.send_to_monitor").id == SEND_TO_MONITOR
    assert schema.action("NoAction").id == 21257015  # p4c's well-known id
    with pytest.raises(
        LookupError,
        match=r"no table named 'slot1.rule' \(did you mean 'NidsIngress.stats.slot1.rules'\?\)",
    ):
        schema.table("slot1.rule")


def test_encode_is_canonical() -> None:
    assert encode(0, 9) == b"\x00"
    assert encode(22, 16) == b"\x16"
    assert encode(0x0A000000, 32) == b"\x0a\x00\x00\x00"
    assert encode(0x1FF, 9) == b"\x01\xff"
    with pytest.raises(ValueError):
        encode(512, 9)


# An IPv4 /8 match: the upper 96 bits of the 128-bit address must be 0 (IPv4 only).
IPV4_8 = "\\377" * 13 + "\\000" * 3
# Group by /24: the top 24 bits of the 128-bit mask (either family's first 24 bits).
PREFIX_24 = "\\377" * 3 + "\\000" * 13


def test_stats_rule_entry_exact(schema: P4Schema) -> None:
    [entry] = compile_text(
        """\
        stats:
          - name: syn-scan
            slot: 1
            match: {src_addr: 10.0.0.0/8, protocol: tcp, tcp_flags: SYN !ACK, dst_port: 1..1023}
            group_by: {src_addr: /24, dst_port: true}
            interval: 60s
            thresholds: {packets: 100, bytes: 1MB}
            bidirectional: true
        """,
        schema,
    )
    expected = text_format.Parse(
        f"""
        table_id: {SLOT1_RULES}
        match {{ field_id: 2 ternary {{
          value: "\\n\\000\\000\\000" mask: "{IPV4_8}" }} }}
        match {{ field_id: 4 ternary {{ value: "\\006" mask: "\\377" }} }}
        match {{ field_id: 6 range {{ low: "\\001" high: "\\003\\377" }} }}
        match {{ field_id: 7 ternary {{ value: "\\002" mask: "\\022" }} }}
        match {{ field_id: 9 ternary {{ value: "\\001" mask: "\\001" }} }}
        action {{ action {{
          action_id: {SLOT1_COUNT}
          params {{ param_id: 1 value: "\\001" }}
          params {{ param_id: 2 value: "\\000" }}
          params {{ param_id: 3 value: "{PREFIX_24}" }}
          params {{ param_id: 4 value: "\\000" }}
          params {{ param_id: 5 value: "\\000" }}
          params {{ param_id: 6 value: "\\000" }}
          params {{ param_id: 7 value: "\\377\\377" }}
          params {{ param_id: 8 value: "\\000" }}
          params {{ param_id: 9 value: "\\001" }}
          params {{ param_id: 10 value: "\\003\\223\\207\\000" }}
          params {{ param_id: 11 value: "d" }}
          params {{ param_id: 12 value: "\\017B@" }}
        }} }}
        priority: 1
        """,
        p4runtime_pb2.TableEntry(),
    )
    assert entry == expected


def test_monitor_entry_exact(schema: P4Schema) -> None:
    [entry] = compile_text("monitor: {port: 1, ingress_ports: 0}\n", schema)
    expected = text_format.Parse(
        f"""
        table_id: {MONITOR_TABLE}
        match {{ field_id: 1 exact {{ value: "\\000" }} }}
        action {{ action {{
          action_id: {SEND_TO_MONITOR} params {{ param_id: 1 value: "\\001" }} }} }}
        """,
        p4runtime_pb2.TableEntry(),
    )
    assert entry == expected


@contextlib.contextmanager
def shell_context(schema: P4Schema) -> Iterator[None]:
    """p4runtime-shell's global context set to the fixture, with canonical bytestrings
    (its default, which an earlier shell session may have changed), both restored
    afterwards."""
    saved = sh.context
    saved_canonical = global_options["canonical_bytestrings"]
    sh.context = Context()
    sh.context.set_p4info(schema.p4info)
    global_options["canonical_bytestrings"] = True
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        sh.context = saved
        global_options["canonical_bytestrings"] = saved_canonical


def test_same_entries_as_p4runtime_shell(schema: P4Schema) -> None:
    """Every entry for the example rules.yaml equals what p4runtime-shell builds from the
    same rule written in its own syntax."""
    rs, _ = read_rules((ROOT / "rules.yaml").read_text(), "rules.yaml")
    plan = assign(rs.stats)
    ours = {d.origin: d.entry for d in compile_rules(rs, plan, schema)}
    params = ["port_mask", "src_mask", "dst_mask", "proto_mask", "sport_mask", "dport_mask"]
    masks = dict(
        zip(
            ["ingress_port", "src_addr", "dst_addr", "protocol", "src_port", "dst_port"],
            params,
            strict=True,
        )
    )
    masks["tcp_flags"] = "flags_mask"
    with shell_context(schema):
        for rule in rs.stats:
            slot, prio = plan.placed[rule.name]
            te = sh.TableEntry(f"NidsIngress.stats.slot{slot}.rules")(
                action=f"NidsIngress.stats.slot{slot}.count_group"
            )
            for name, m in rule.match:
                te.match[name] = (
                    f"{m.lo}..{m.hi}" if hasattr(m, "lo") else f"{m.value}&&&{m.mask}"  # type: ignore[union-attr]
                )
            te.priority = prio
            values = {p: 0 for p in [*params, "flags_mask", "bidirectional"]}
            values.update({masks[name]: mask for name, mask in rule.group_by})
            values["rule_id"] = rule.rule_id
            values["interval_us"] = rule.interval_us
            values["packet_threshold"] = rule.packet_threshold
            values["byte_threshold"] = rule.byte_threshold
            for p in schema.action(f"NidsIngress.stats.slot{slot}.count_group").params:
                te.action[p.name] = str(values[p.name])  # in P4Info order, as we send them
            assert ours[rule.label] == te.msg(), rule.name


def test_capabilities_of_fixture(schema: P4Schema) -> None:
    caps = discover(schema)
    assert (caps.n_slots, caps.capacity, caps.has_monitor, caps.problems) == (4, 64, True, ())
    assert caps.fields == {
        "ingress_port",
        "src_addr",
        "dst_addr",
        "protocol",
        "src_port",
        "dst_port",
        "tcp_flags",
        "is_fragment",
        "is_ipv4",
        "is_ipv6",
    }
    assert caps.params["byte_threshold"] == 48


def test_pipeline_without_a_field(schema: P4Schema) -> None:
    """A pipeline whose tables lack is_fragment refuses the fragment rule, by name."""
    p4info = type(schema.p4info)()
    p4info.CopyFrom(schema.p4info)
    for t in p4info.tables:
        keep = [f for f in t.match_fields if f.name != "is_fragment"]
        del t.match_fields[:]
        t.match_fields.extend(keep)
    small = P4Schema(p4info)
    rs, _ = read_rules("stats:\n  - {name: frags, match: {is_fragment: 1}}\n", "t.yaml")
    gaps = rule_gaps(rs.stats[0], discover(small))
    assert gaps == [
        "matches is_fragment, which the pipeline's stats tables lack (they match dst_addr, "
        "dst_port, ingress_port, is_ipv4, is_ipv6, protocol, src_addr, src_port, tcp_flags)"
    ]
    with pytest.raises(CapabilityError):
        compile_rules(rs, assign(rs.stats), small)


def test_range_field_compiled_as_ternary_when_pipeline_says_so(schema: P4Schema) -> None:
    p4info = type(schema.p4info)()
    p4info.CopyFrom(schema.p4info)
    for t in p4info.tables:
        for f in t.match_fields:
            if f.name == "dst_port":
                f.match_type = f.TERNARY
    tern = P4Schema(p4info)
    [entry] = compile_text("stats:\n  - {name: a, slot: 1, match: {dst_port: 1024..2047}}\n", tern)
    assert entry.match[0].ternary.value == b"\x04\x00"
    assert entry.match[0].ternary.mask == b"\xfc\x00"
    with pytest.raises(
        CapabilityError, match=r"dst_port 1\.\.2 cannot be written as a ternary match"
    ):
        compile_text("stats:\n  - {name: a, match: {dst_port: 1..2}}\n", tern)
