"""Software fallback counting: groups, intervals, thresholds once per crossing, history."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from controlplane.rules import read_rules
from controlplane.software_stats import SoftwareStats


def stats(text: str) -> SoftwareStats:
    rs, probs = read_rules(text, "t.yaml")
    assert probs == []
    return SoftwareStats(list(rs.stats))


def tcp(src: str, dst: str, sport: int, dport: int, flags: str, data: bytes = b"") -> bytes:
    return bytes(Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags) / data)


def test_groups_thresholds_and_intervals() -> None:
    sw = stats(
        "stats:\n  - name: udp\n    match: {protocol: udp}\n    group_by: {dst_addr: /24}\n"
        "    interval: 1s\n    thresholds: {packets: 2, bytes: 250}\n"
    )
    a = bytes(Ether() / IP(dst="10.0.0.1") / UDP() / (b"x" * 58))  # 100 bytes
    b = bytes(Ether() / IP(dst="10.0.0.2") / UDP() / (b"x" * 58))  # same /24
    c = bytes(Ether() / IP(dst="10.0.1.1") / UDP() / (b"x" * 58))  # another group
    assert len(a) == 100
    assert sw.process(a, 0) == []
    ev = sw.process(b, 10)
    assert [(e["type"], e.get("threshold_kind"), e.get("value")) for e in ev] == [
        ("threshold_alert", "PACKETS", 2)
    ]
    assert ev[0]["key"]["ipv4_dst"] == "10.0.0.0"
    assert [e.get("threshold_kind") for e in sw.process(a, 20)] == ["BYTES"]  # 300 >= 250
    assert sw.process(a, 30) == []  # no second alert in the interval
    assert sw.process(c, 40) == []
    ev = sw.process(a, 1_000_000)  # interval passed: report, restart, count
    assert [
        (
            e["type"],
            e.get("packets"),
            e.get("bytes"),
            e.get("interval_start"),
            e.get("interval_end"),
        )
        for e in ev
    ] == [("counter_report", 4, 400, 0, 30)]
    assert [e["threshold_kind"] for e in sw.process(a, 1_000_001)] == [
        "PACKETS"
    ]  # again, new interval


def test_bidirectional_history() -> None:
    sw = stats(
        "stats:\n  - name: conn\n    match: {protocol: tcp}\n"
        "    group_by: [src_addr, dst_addr, src_port, dst_port]\n    bidirectional: true\n"
        "    interval: 10s\n"
    )
    c, s = "10.0.0.9", "10.0.0.1"  # client has the higher address: key is swapped
    for i, pkt in enumerate(
        [
            tcp(c, s, 40000, 80, "S"),
            tcp(s, c, 80, 40000, "SA"),
            tcp(c, s, 40000, 80, "A"),
            tcp(c, s, 40000, 80, "PA", b"GET /"),
            tcp(s, c, 80, 40000, "PA", b"200 OK"),
            tcp(c, s, 40000, 80, "FA"),
            tcp(s, c, 80, 40000, "FA"),
        ]
    ):
        assert sw.process(pkt, i) == []
    [ev] = sw.process(tcp(c, s, 40000, 80, "A"), 10_000_000)
    assert ev["history"] == "ShADdFf"
    assert ev["packets"] == 7
    assert (ev["key"]["ipv4_src"], ev["key"]["l4_src_port"]) == ("10.0.0.1", 80)
    assert len(sw.groups) == 1


def test_every_rule_counts_independently() -> None:
    sw = stats(
        "stats:\n  - {name: udp, match: {protocol: udp}, thresholds: {packets: 1}}\n"
        "  - {name: dns, match: {protocol: udp, src_port: 53}, thresholds: {packets: 1}}\n"
    )
    ev = sw.process(bytes(Ether() / IP() / UDP(sport=53)), 0)
    assert [e["rule"] for e in ev] == ["udp", "dns"]
