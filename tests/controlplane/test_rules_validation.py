"""rules.yaml validation: every mistake reported, each with file:line:col and the setting."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from controlplane.deploy import validate
from controlplane.errors import RulesError
from controlplane.fields import IPV4_HIGH, Range, Ternary
from controlplane.rules import read_rules

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    _, probs = read_rules(textwrap.dedent(text), "rules.yaml")
    return [str(p) for p in sorted(probs, key=lambda p: (p.where.line, p.where.col))]


def test_example_rules_file_is_valid() -> None:
    rules, plan = validate(str(ROOT / "rules.yaml"), allow_fallback=False)
    assert [r.name for r in rules.stats] == [
        "ssh-by-source",
        "syn-from-10-by-source-port",
        "ddos-syn",
        "ddos-udp",
        "ddos-dns-response",
        "ddos-ntp",
        "ddos-ssdp",
        "ddos-icmp",
        "ipv4-fragments",
    ]
    assert [r.rule_id for r in rules.stats] == list(range(1, 10))
    assert not plan.unplaced
    assert [(m.ingress_port, m.monitor_port) for m in rules.monitor] == [(0, 1)]


def test_every_error_kind_with_position() -> None:
    text = """\
    monitor:
      port: 1
      ingress_ports: [0, 0]
    stats:
      - name: a
        match:
          src_addr: 10.0.0.0/33
          dst_adr: 10.0.0.1
          tcp_flags: 0x12&&&0x02
          dst_port: 1024..80
        group_by: {src_addr: 24}
        interval: 60
        thresholds: {packets: 10, bytes: 10Mb}
        table: NidsIngress.stats.slot7.rules
      - name: b
        gruop_by: [src_addr]
        slot: 4
      - name: a
      - match: {protocol: tcp}
    """
    assert problems(text) == [
        "rules.yaml:3:22: monitor.ingress_ports[1]: port 0 already goes to the monitor on port 1",
        "rules.yaml:7:17: stats[0].match.src_addr: '10.0.0.0/33' is not an IPv4 prefix (/33 > /32)",
        "rules.yaml:8:7: stats[0].match.dst_adr: unknown field 'dst_adr' (did you mean 'dst_addr'?)",  # noqa: E501
        "rules.yaml:9:18: stats[0].match.tcp_flags: '0x12&&&0x02': value 0x12 has bits outside "
        "its mask 0x2 (did you mean 0x2?)",
        "rules.yaml:10:17: stats[0].match.dst_port: range '1024..80' is empty: 1024 > 80",
        "rules.yaml:11:26: stats[0].group_by.src_addr: '24' is not a group-by mask: write /N for "
        "the top N bits, 0x... for a mask, a dotted mask such as 255.255.255.0, an IPv6 mask such as ffff:ffff:: or true for every bit",  # noqa: E501
        "rules.yaml:12:15: stats[0].interval: '60' needs a unit (e.g. 60s or 60ms)",
        "rules.yaml:13:38: stats[0].thresholds.bytes: '10Mb': thresholds count bytes; write MB",
        "rules.yaml:14:12: stats[0].table: unknown table 'NidsIngress.stats.slot7.rules' "
        "(did you mean 'NidsIngress.stats.slot3.rules'?)",
        "rules.yaml:16:5: stats[1].gruop_by: unknown field 'gruop_by' (did you mean 'group_by'?)",
        "rules.yaml:17:11: stats[1].slot: 4 is out of range for a slot (0..3)",
        "rules.yaml:18:11: stats[2].name: 'a' is already the name of stats[0]",
        "rules.yaml:19:5: stats[3]: missing 'name' (every rule needs a unique name)",
    ]


def test_yaml_syntax_error_position() -> None:
    # reported where the unclosed '{' opens, naming where the parser gave up
    (p,) = problems("stats:\n  - name: a\n    match: {protocol: tcp\n")
    assert p.startswith("rules.yaml:3:12: YAML syntax: while parsing a flow mapping ")
    assert p.endswith("(opened here; the parser stopped at 4:1)")


def test_duplicate_key_and_non_mapping() -> None:
    text = """\
    stats:
      - name: a
        match: {protocol: tcp}
        match: {protocol: udp}
      - just a string
    """
    assert problems(text) == [
        "rules.yaml:4:5: stats[0].match: duplicate field 'match' (first given on line 3)",
        "rules.yaml:5:5: stats[1]: expected a rule (a mapping of name, description, match, "
        "group_by, interval, thresholds, bidirectional, id, slot, table, priority)",
    ]


def test_group_by_errors_and_forms() -> None:
    text = """\
    stats:
      - name: a
        group_by: [src_addr, is_fragment, colour]
      - name: b
        group_by: src_addr
      - name: c
        group_by: {dst_addr: 255.255.255.0, dst_port: 0xff00}
    """
    rules, probs = read_rules(textwrap.dedent(text), "rules.yaml")
    assert [str(p) for p in probs] == [
        "rules.yaml:3:26: stats[0].group_by.is_fragment: cannot group by 'is_fragment' (the switch "
        "can group by ingress_port, src_addr, dst_addr, protocol, src_port, dst_port, tcp_flags)",
        "rules.yaml:3:39: stats[0].group_by.colour: unknown field 'colour' (the switch can group "
        "by ingress_port, src_addr, dst_addr, protocol, src_port, dst_port, tcp_flags)",
    ]
    # address masks count from the first bit of the address (IPv4 or IPv6)
    assert [r.group_by for r in rules.stats] == [
        (("src_addr", (1 << 128) - 1),),
        (("dst_addr", 0xFFFFFF << 104), ("dst_port", 0xFF00)),
    ]


def test_rule_contents_and_ids() -> None:
    text = """\
    stats:
      - name: a
        match: {src_addr: 10.0.0.0/8, src_port: 53, dst_addr: 0.0.0.0/0}
        thresholds: {packets: 5k, bytes: 1MB}
        interval: 500ms
        bidirectional: yes
      - name: b
        id: 1
      - name: c
        table: slot2.rules
        priority: 7
    """
    rules, probs = read_rules(textwrap.dedent(text), "rules.yaml")
    assert probs == []
    a, b, c = rules.stats
    # dst_addr 0.0.0.0/0 is any IPv4 address; IPv4 addresses imply is_ipv4; b asked for
    # id 1 so a gets the next free one
    assert a.match == (
        ("src_addr", Ternary(0x0A000000, IPV4_HIGH | 0xFF000000)),
        ("dst_addr", Ternary(0, IPV4_HIGH)),
        ("src_port", Range(53, 53)),
        ("is_ipv4", Ternary(1, 1)),
    )
    assert (a.rule_id, b.rule_id, c.rule_id) == (2, 1, 3)
    assert (a.packet_threshold, a.byte_threshold, a.interval_us, a.bidirectional) == (
        5000,
        1_000_000,
        500_000,
        True,
    )
    assert (c.slot, c.priority) == (2, 7)


def test_duplicate_ids_and_table_slot_conflict() -> None:
    text = """\
    stats:
      - {name: a, id: 5}
      - {name: b, id: 5}
      - {name: c, slot: 1, table: NidsIngress.stats.slot2.rules}
    """
    assert problems(text) == [
        "rules.yaml:3:19: stats[1].id: rule id 5 is already used by 'a'",
        "rules.yaml:4:31: stats[2].table: 'NidsIngress.stats.slot2.rules' is slot 2 but slot: 1 "
        "is given",
    ]


def test_too_many_overlapping_rules(tmp_path: Path) -> None:
    # five rules that all match TCP to port 80: no two can share a slot, 4 slots
    rule = "  - name: r{}\n    match: {{protocol: tcp, dst_port: 80}}\n    group_by: [src_addr]\n"
    body = "stats:\n" + "".join(rule.format(i) for i in range(5)) + "monitor: []\n"
    path = tmp_path / "rules.yaml"
    path.write_text(body)
    with pytest.raises(RulesError) as e:
        validate(str(path), allow_fallback=False)
    err = e.value
    assert err.exit_status == 2
    assert [str(p) for p in err.problems] == [
        f"{path}:14:5: stats[4]: more overlapping rules than the switch's 4 slots: 'r4' does not "
        "fit because it overlaps a rule in every slot (slot 0: stats[0] 'r0'; slot 1: stats[1] "
        "'r1'; slot 2: stats[2] 'r2'; slot 3: stats[3] 'r3')"
    ]
    assert "--software-fallback FILE" in err.hint
    assert "watch --software-rules FILE" in err.hint
    # with the fallback allowed, the file is valid and r4 is left for software
    _, plan = validate(str(path), allow_fallback=True)
    assert [r.name for r in plan.unplaced] == ["r4"]


def test_unreadable_file(tmp_path: Path) -> None:
    from controlplane.rules import load_rules

    with pytest.raises(RulesError) as e:
        load_rules(tmp_path / "missing.yaml")
    assert str(e.value).startswith(
        f"{tmp_path}/missing.yaml:1:1: cannot read the rules file: No such file"
    )


def test_empty_file_is_no_rules() -> None:
    rules, probs = read_rules("# nothing yet\n", "rules.yaml")
    assert probs == [] and rules.stats == () and rules.monitor == ()
