"""IPv6 in the controller: rules.yaml addresses and masks, errors with positions, the
family an address implies, overlap between families, the software model's IPv6 parser,
and conn.log entries with IPv6 endpoints."""

from __future__ import annotations

import textwrap

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import Dot1Q, Ether

from controlplane.fields import IPV4_HIGH, Ternary
from controlplane.rules import read_rules
from controlplane.slots import can_overlap
from controlplane.software_stats import SoftwareStats, parse_fields
from controlplane.syn_offload import conn_log_entry
from feedback_header.records import SynSummary6, SynSummaryReason

PREFIX = (0xFFFFFFFF << 96, 0x20010DB8 << 96)  # 2001:db8::/32: (mask, value)


def read(text: str) -> tuple[list[object], list[str]]:
    rules, probs = read_rules(textwrap.dedent(text), "rules.yaml")
    return list(rules.stats), [str(p) for p in probs]


def test_ipv6_rule_matches_its_family_and_groups_by_prefix() -> None:
    (rule,), probs = read(
        """\
        stats:
          - name: v6
            match: {src_addr: 2001:db8::/32, protocol: tcp}
            group_by: {src_addr: /64, dst_addr: "ffff:ffff:ffff:ffff::"}  # quote a trailing ::
        """
    )
    assert probs == []
    assert rule.match == (  # type: ignore[attr-defined]
        ("src_addr", Ternary(PREFIX[1], PREFIX[0])),
        ("protocol", Ternary(6, 0xFF)),
        ("is_ipv6", Ternary(1, 1)),
    )
    top64 = ((1 << 64) - 1) << 64
    assert rule.group_by == (("src_addr", top64), ("dst_addr", top64))  # type: ignore[attr-defined]


def test_ipv6_errors_have_positions() -> None:
    _, probs = read(
        """\
        stats:
          - name: a
            match: {src_addr: 2001:db8::/129}
          - name: b
            match: {dst_addr: "2001:db8::1/32"}
          - name: c
            match: {src_addr: 10.0.0.0/8, dst_addr: 2001:db8::/32}
          - name: d
            match: {src_addr: 2001:db8::/32, is_ipv6: false}
          - name: e
            group_by: {src_addr: /129}
        """
    )
    assert probs == [
        "rules.yaml:3:23: stats[0].match.src_addr: '2001:db8::/129' is not an IPv6 prefix "
        "(/129 > /128)",
        "rules.yaml:5:23: stats[1].match.dst_addr: '2001:db8::1/32' has bits set outside the "
        "/32 prefix (did you mean 2001:db8::/32?)",
        "rules.yaml:7:12: stats[2].match: src_addr and dst_addr are of different address families",
        "rules.yaml:9:12: stats[3].match: src_addr is IPv6 but the rule matches is_ipv6 0",
        "rules.yaml:11:26: stats[4].group_by.src_addr: '/129' is not a prefix length for "
        "src_addr (/0../128)",
    ]


def test_families_never_overlap() -> None:
    rules, probs = read(
        """\
        stats:
          - {name: v4, match: {src_addr: 0.0.0.0/0}}
          - {name: v6, match: {src_addr: 2001:db8::/32}}
          - {name: any, match: {protocol: tcp}}
          - {name: not-ip, match: {is_ipv4: false, is_ipv6: false}}
        """
    )
    assert probs == []
    v4, v6, anyr, not_ip = rules
    assert v4.match == (("src_addr", Ternary(0, IPV4_HIGH)), ("is_ipv4", Ternary(1, 1)))  # type: ignore[attr-defined]
    assert not can_overlap(v4, v6)  # type: ignore[arg-type]
    assert can_overlap(v4, anyr) and can_overlap(v6, anyr)  # type: ignore[arg-type]
    assert not can_overlap(not_ip, v4) and not can_overlap(not_ip, v6)  # type: ignore[arg-type]


def test_software_model_walks_extension_headers() -> None:
    chain = IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment(m=1)
    frame = bytes(
        Ether() / Dot1Q(vlan=5) / IPv6(src="2001:db8::1", dst="2001:db8::2") / chain
        / TCP(sport=1, dport=2, flags="S") / b"abc"
    )  # fmt: skip
    p = parse_fields(frame)
    assert (p.is_ipv6, p.protocol, p.src_port, p.dst_port, p.is_fragment) == (1, 6, 1, 2, 1)
    assert p.payload_len == 3 and p.src_addr == (0x20010DB8 << 96) | 1
    later = bytes(Ether() / IPv6() / IPv6ExtHdrFragment(offset=2) / UDP(sport=5, dport=6))
    assert (parse_fields(later).protocol, parse_fields(later).src_port) == (17, 0)
    five = IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
    five = five / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
    cut = parse_fields(bytes(Ether() / IPv6() / five / TCP(dport=2)))
    assert (cut.protocol, cut.dst_port) == (60, 0)  # the parser stops at the fifth


def test_software_model_keys_ipv6_groups_by_prefix() -> None:
    (rule,), probs = read(
        """\
        stats:
          - {name: v6, match: {protocol: udp}, group_by: {src_addr: /64}, thresholds: {packets: 2}}
        """
    )
    assert probs == []
    sw = SoftwareStats([rule])  # type: ignore[list-item]
    a = bytes(Ether() / IPv6(src="2001:db8:0:1::a") / UDP())
    b = bytes(Ether() / IPv6(src="2001:db8:0:1::b") / UDP())
    assert sw.process(a, 0) == []
    (ev,) = sw.process(b, 1)
    assert ev["key"]["ipv6_src"] == "2001:db8:0:1::"


def test_conn_log_entry_with_ipv6_endpoints() -> None:
    rec = SynSummary6(
        reason=SynSummaryReason.EXPIRED_BY_SWEEP,
        syn_count=3,
        ipv6_src=(0x20010DB8 << 96) | 1,
        ipv6_dst=(0x20010DB8 << 96) | 0x50,
        src_port=40000,
        dst_port=443,
        isn=1,
        first_seen=1_000_000,
        last_seen=3_000_000,
    )
    entry = conn_log_entry(rec, 1)
    assert entry is not None
    assert (entry["id.orig_h"], entry["id.resp_h"]) == ("2001:db8::1", "2001:db8::50")
    assert (entry["conn_state"], entry["history"], entry["orig_pkts"]) == ("S0", "S", 3)


def test_group_index_of_an_ipv6_key() -> None:
    """As stats.p4 hashes it: rule_id ++ 1w1 ++ 6w0 ++ port ++ proto ++ flags ++
    128-bit addresses ++ ports."""
    import zlib

    from controlplane.groups import group_index

    key = {
        "ingress_port": 3,
        "ip_proto": 6,
        "tcp_flags": 0,
        "ipv6_src": "2001:db8::1",
        "ipv6_dst": "::",
        "l4_src_port": 0,
        "l4_dst_port": 443,
    }
    packed = (7 << 320) | (1 << 319) | (3 << 304) | (6 << 296)
    packed |= (((0x20010DB8 << 96) | 1) << 160) | 443
    assert group_index(7, key) == zlib.crc32(packed.to_bytes(42, "big")) % 4096
