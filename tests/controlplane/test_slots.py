"""Slot placement: overlapping rules never share a slot; pins, priorities, capacity."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from controlplane.model import StatsRule
from controlplane.rules import read_rules
from controlplane.slots import assign, can_overlap

ROOT = Path(__file__).resolve().parents[2]


def rules(text: str) -> list[StatsRule]:
    rs, probs = read_rules(textwrap.dedent(text), "t.yaml")
    assert probs == []
    return list(rs.stats)


def rule(match: str) -> StatsRule:
    return rules(f"stats:\n  - name: x\n    match: {match}\n")[0]


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("{protocol: udp}", "{protocol: udp, src_port: 53}", True),
        ("{protocol: udp, src_port: 53}", "{protocol: udp, src_port: 123}", False),
        ("{protocol: tcp, tcp_flags: SYN}", "{protocol: udp}", False),
        ("{protocol: icmp}", "{dst_port: 22}", False),  # ICMP has no ports: they read 0
        ("{protocol: icmp}", "{dst_port: 0}", True),
        ("{tcp_flags: SYN}", "{protocol: udp}", False),  # UDP packets have flags 0
        ("{tcp_flags: SYN}", "{protocol: 0x10&&&0xf0}", False),  # 16..31: no TCP there
        ("{tcp_flags: SYN}", "{protocol: 0x00&&&0xf0}", True),  # 0..15 includes TCP (6)
        ("{is_fragment: 1}", "{protocol: udp, src_port: 53}", True),
        ("{is_ipv4: 0}", "{src_addr: 10.0.0.0/8}", False),  # non-IPv4 reads 0.0.0.0
        ("{is_ipv4: 0}", "{dst_port: 0..10}", True),
        ("{src_addr: 10.0.0.0/8}", "{src_addr: 10.1.0.0/16}", True),
        ("{src_addr: 10.0.0.0/8}", "{src_addr: 11.0.0.0/8}", False),
        ("{protocol: 0x06&&&0xfe}", "{protocol: udp}", False),  # 6 or 7, neither is 17
        ("{protocol: 0x06&&&0xfe, src_port: 1}", "{protocol: 7}", False),  # 7 has no ports
    ],
)
def test_can_overlap(a: str, b: str, overlap: bool) -> None:
    ra, rb = rule(a), rule(b)
    assert can_overlap(ra, rb) is overlap
    assert can_overlap(rb, ra) is overlap


def test_example_file_fits_four_slots() -> None:
    rs, _ = read_rules((ROOT / "rules.yaml").read_text(), "rules.yaml")
    plan = assign(rs.stats)
    assert plan.unplaced == () and plan.warnings == ()
    by_slot = {s: [r.name for r in plan.slot_rules(rs.stats, s)] for s in range(4)}
    assert by_slot == {
        0: ["ipv4-fragments"],
        1: ["ssh-by-source", "ddos-udp", "ddos-icmp"],
        2: ["syn-from-10-by-source-port", "ddos-dns-response", "ddos-ntp", "ddos-ssdp"],
        3: ["ddos-syn"],
    }
    for s in range(4):
        same = plan.slot_rules(rs.stats, s)
        assert not any(can_overlap(x, y) for x in same for y in same if x is not y)
    assert {p for _, p in plan.placed.values()} == {1}  # disjoint rules: one priority


def test_pinned_overlaps_warn_and_get_file_order_priorities() -> None:
    rs = rules(
        """\
        stats:
          - {name: dns, slot: 0, match: {protocol: udp, src_port: 53}}
          - {name: udp, slot: 0, match: {protocol: udp}}
          - {name: icmp, slot: 0, match: {protocol: icmp}}
          - {name: all-udp-elsewhere, match: {protocol: udp}}
        """
    )
    plan = assign(rs)
    assert plan.placed == {
        "dns": (0, 2),
        "udp": (0, 1),
        "icmp": (0, 1),
        "all-udp-elsewhere": (1, 1),
    }
    assert plan.warnings == (
        "stats[0] 'dns' and stats[1] 'udp' can match the same packets and are both pinned to "
        "slot 0: such packets count only for stats[0] 'dns' (higher priority)",
    )


def test_priority_chain_is_longest_path() -> None:
    # a overlaps b only, b overlaps c: a > b > c although a has one later neighbour
    rs = rules(
        """\
        stats:
          - {name: a, slot: 0, match: {dst_port: 1..10}}
          - {name: b, slot: 0, match: {dst_port: 5..20}}
          - {name: c, slot: 0, match: {dst_port: 15..30}}
          - {name: d, slot: 0, match: {dst_port: 18..19}}
        """
    )
    plan = assign(rs)
    prio = {n: p for n, (_, p) in plan.placed.items()}
    assert prio == {"a": 4, "b": 3, "c": 2, "d": 1}


def test_preference_keeps_previous_slots() -> None:
    rs = rules(
        """\
        stats:
          - {name: a, match: {protocol: udp}}
          - {name: b, match: {protocol: tcp}}
        """
    )
    assert assign(rs).placed == {"a": (0, 1), "b": (0, 1)}
    assert assign(rs, prefer={"a": 3, "b": 2}).placed == {"a": (3, 1), "b": (2, 1)}


def test_capacity_and_unplaced_reasons() -> None:
    rs = rules(
        "stats:\n" + "".join(f"  - {{name: r{i}, match: {{dst_port: {i}}}}}\n" for i in range(5))
    )
    plan = assign(rs, n_slots=2, capacity=2)
    assert sorted(plan.placed) == ["r0", "r1", "r2", "r3"]
    assert [r.name for r in plan.unplaced] == ["r4"]
    assert (
        plan.reasons["r4"]
        == "it overlaps a rule in every slot (slot 0: full (2 rules); slot 1: full (2 rules))"
    )


def test_two_families_of_disjoint_rules_need_two_slots() -> None:
    # every a_i overlaps every b_j; a's are pairwise disjoint, and so are b's
    text = "stats:\n"
    for i in range(3):
        text += f"  - {{name: a{i}, match: {{src_port: {i}, dst_port: 0..200}}}}\n"
        text += f"  - {{name: b{i}, match: {{src_port: 0..2, dst_port: {100 + i}}}}}\n"
    rs = rules(text)
    plan = assign(rs, n_slots=2)
    assert plan.unplaced == ()
    slots = {n: s for n, (s, _) in plan.placed.items()}
    assert len({slots[f"a{i}"] for i in range(3)}) == 1
    assert len({slots[f"b{i}"] for i in range(3)}) == 1
    assert slots["a0"] != slots["b0"]
    assert [r.name for r in assign(rs, n_slots=1).unplaced] == ["b0", "b1", "b2"]
