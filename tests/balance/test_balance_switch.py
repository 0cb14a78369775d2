"""p4src/main.p4's Balance control on the in-process softswitch, entries written by
controlplane.balance.entries: symmetric hash, cluster override, stickiness while clusters
move, duplication through a multicast group, records following their packets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from p4.v1 import p4runtime_pb2
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from controlplane.balance.entries import (
    ClusterRule,
    cluster_update,
    group_update,
    multicast_update,
    worker_port_updates,
)
from controlplane.balance.flow import Flow
from feedback_header.codec import decode
from testbed.nids_switch import NidsSwitch

WORKERS = (1, 2, 3, 4)
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
MONITOR = "monitor:\n  port: 1\n  ingress_ports: [0]\n"
RULES = MONITOR + "stats: []\n"  # no stats rules (a file without the section is refused)
STATS = """\
stats:
  - name: every-udp-packet
    match: {protocol: udp}
    group_by: [dst_addr]
    thresholds: {packets: 1}
"""


def _switch(two_tuple: bool, rules: str = RULES) -> NidsSwitch:
    sw = NidsSwitch()
    sw.install_text(rules)
    sw.p4rt.write(
        [
            group_update(sw.schema, 1, len(WORKERS), two_tuple, 60_000_000),
            *worker_port_updates(sw.schema, 1, WORKERS),
        ]
    )
    return sw


@pytest.fixture
def sw() -> Iterator[NidsSwitch]:
    s = _switch(False)
    yield s
    s.close()


def tcp(src: str, dst: str, sport: int, dport: int) -> bytes:
    return bytes(ETH / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="S"))


def out_ports(sw: NidsSwitch, frame: bytes, now: int = 1_000) -> list[int]:
    return sorted(p for p, _ in sw.run(0, frame, now))


def test_without_a_group_traffic_goes_to_the_monitor_port() -> None:
    s = NidsSwitch()
    try:
        s.install_text(RULES)
        assert out_ports(s, tcp("10.0.0.1", "10.0.0.2", 1000, 80)) == [1]
    finally:
        s.close()


def test_both_directions_of_a_connection_reach_one_worker_and_flows_spread(
    sw: NidsSwitch,
) -> None:
    seen = set()
    for i in range(40):
        a, b = f"10.0.{i}.1", f"192.0.2.{i + 1}"
        fwd = out_ports(sw, tcp(a, b, 40000 + i, 80))
        rev = out_ports(sw, tcp(b, a, 80, 40000 + i))
        assert fwd == rev and len(fwd) == 1 and fwd[0] in WORKERS
        seen.add(fwd[0])
    assert seen == set(WORKERS)


def test_two_tuple_hash_ignores_ports() -> None:
    s = _switch(True)
    try:
        for i in range(10):
            ports = {
                out_ports(s, tcp(f"10.0.{i}.1", "192.0.2.9", 1000 + j, 80 + j))[0] for j in range(8)
            }
            assert len(ports) == 1
    finally:
        s.close()


def _victim_rule(worker: int, mcast: int = 0) -> ClusterRule:
    dst = Flow.of("10.0.0.0", "198.51.100.7", 0, 0, 17).dst
    return ClusterRule(worker=worker, priority=10, dst=(dst, 32), mcast_group=mcast)


def test_a_cluster_entry_overrides_the_hash(sw: NidsSwitch) -> None:
    sw.p4rt.write([cluster_update(sw.schema, 1, _victim_rule(2))])
    for i in range(30):
        frame = bytes(ETH / IP(src=f"100.64.{i}.9", dst="198.51.100.7") / UDP(dport=i + 1))
        assert out_ports(sw, frame) == [WORKERS[2]]


def test_a_started_connection_stays_when_its_cluster_moves(sw: NidsSwitch) -> None:
    sw.p4rt.write([cluster_update(sw.schema, 1, _victim_rule(0))])
    old = bytes(ETH / IP(src="100.64.0.1", dst="198.51.100.7") / UDP(sport=5, dport=6))
    assert out_ports(sw, old) == [WORKERS[0]]
    sw.p4rt.write([cluster_update(sw.schema, 1, _victim_rule(3), p4runtime_pb2.Update.MODIFY)])
    new = bytes(ETH / IP(src="100.64.0.2", dst="198.51.100.7") / UDP(sport=5, dport=6))
    assert out_ports(sw, new, 2_000) == [WORKERS[3]]
    assert out_ports(sw, old, 3_000) == [WORKERS[0]]  # sticky


def test_duplication_to_several_workers(sw: NidsSwitch) -> None:
    sw.p4rt.write(
        [
            multicast_update(7, [WORKERS[1], WORKERS[3]]),
            cluster_update(sw.schema, 1, _victim_rule(1, 7)),
        ]
    )
    frame = bytes(ETH / IP(src="100.64.3.3", dst="198.51.100.7") / UDP(dport=9))
    assert out_ports(sw, frame) == [WORKERS[1], WORKERS[3]]


def test_records_follow_their_packets_to_the_worker() -> None:
    s = _switch(False, MONITOR + STATS)
    try:
        s.p4rt.write([cluster_update(s.schema, 1, _victim_rule(2))])
        frame = bytes(ETH / IP(src="100.64.1.1", dst="198.51.100.7") / UDP(dport=53))
        out = s.run(0, frame, 1_000)
        assert [p for p, _ in out] == [WORKERS[2]]
        records = decode(out[0][1]).records
        assert records, "the threshold alert travels with the packet"
    finally:
        s.close()
