"""The `balance` loop (controlplane.balance.loop) against the in-process switch running
p4src/main.p4, the group installed from rules.yaml's `monitors:` section: new-flow digests
in, BLB's clusters out as cluster entries (diffs), expiry removing them, the per-port
counters as loads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from p4.v1 import p4runtime_pb2
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane import pipeline_spec as ps
from controlplane.balance.flow import Flow
from controlplane.balance.loop import MAX_MOVES, BalanceLoop, Members, cluster_rules
from controlplane.balance.setup import group_port
from controlplane.errors import CapabilityError
from controlplane.rules import read_rules
from testbed.nids_switch import NidsSwitch

WORKERS = (1, 2, 3, 4)
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
VICTIM = "198.51.100.7"


def rules_text(f_max: int = 1, syn: bool = False, v: float = 10000) -> str:
    text = (
        "monitor:\n  port: 1\n  ingress_ports: [0]\nstats: []\n"
        f"monitors:\n  ports: [1, 2, 3, 4]\n  F: {f_max}\n  V: {v:g}\n  capacity: 1000\n"
        "  lambda: 1.5\n  th_w: 0.05\n"
    )
    if syn:
        text += "syn_offload:\n  timeout: 1s\n"
    return text


@pytest.fixture
def sw() -> Iterator[NidsSwitch]:
    s = NidsSwitch()
    s.install_text(rules_text())
    yield s
    s.close()


def loop_of(
    sw: NidsSwitch, text: str | None = None, seed_flows: int = 0, max_moves: int = MAX_MOVES
) -> BalanceLoop:
    """The loop of the group; unseeded by default (the hand-worked cases start empty)."""
    rules, problems = read_rules(text or rules_text(), "rules.yaml")
    assert not problems and rules.monitors is not None
    port = group_port(rules)
    assert port == 1
    loop = BalanceLoop(
        sw.p4rt,
        sw.schema,
        rules.monitors,
        port,
        digest_timeout_ns=0,
        seed_flows=seed_flows,
        max_moves=max_moves,
    )
    loop.start()
    return loop


def udp(src: str, dst: str, sport: int, dport: int) -> bytes:
    return bytes(ETH / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport))


def ports_of(sw: NidsSwitch, frame: bytes, now: int) -> list[int]:
    return sorted(p for p, _ in sw.run(0, frame, now))


def cluster_entries(sw: NidsSwitch) -> list[p4runtime_pb2.TableEntry]:
    return sw.p4rt.read_table(sw.schema.table(ps.BALANCE_CLUSTERS_TABLE).id)


def test_install_writes_the_group_worker_ports_and_multicast_groups() -> None:
    with NidsSwitch() as s:
        s.install_text(rules_text(f_max=2))
        groups = s.p4rt.read_table(s.schema.table(ps.BALANCE_GROUPS_TABLE).id)
        workers = s.p4rt.read_table(s.schema.table(ps.BALANCE_WORKER_PORTS_TABLE).id)
        assert len(groups) == 1 and len(workers) == 4
        ent = p4runtime_pb2.Entity()
        ent.packet_replication_engine_entry.multicast_group_entry.SetInParent()
        mcast = [
            e.packet_replication_engine_entry.multicast_group_entry for e in s.p4rt.read([ent])
        ]
        assert len(mcast) == 6  # the pairs of 4 workers
        assert s.install_text(rules_text(f_max=2)) == 0  # nothing to do the second time
        s.install_text(rules_text(f_max=1))
        assert not s.p4rt.read([ent])  # F back to 1: the groups go
        s.install_text("monitor:\n  port: 1\n  ingress_ports: [0]\nstats: []\n")
        assert not s.p4rt.read_table(s.schema.table(ps.BALANCE_GROUPS_TABLE).id)


def test_install_makes_clone_sessions_for_the_worker_ports() -> None:
    with NidsSwitch() as s:
        s.install_text(rules_text(syn=True))
        ent = p4runtime_pb2.Entity()
        ent.packet_replication_engine_entry.clone_session_entry.SetInParent()
        ids = {
            e.packet_replication_engine_entry.clone_session_entry.session_id
            for e in s.p4rt.read([ent])
        }
        assert ids == {ps.SYN_CLONE_SESSION_BASE + p for p in WORKERS}


def test_a_section_the_pipeline_cannot_carry_is_refused() -> None:
    with NidsSwitch() as s:
        many = ", ".join(str(p) for p in range(1, 17))
        text = rules_text().replace("ports: [1, 2, 3, 4]", f"ports: [{many}]")
        text = text.replace("F: 1", "F: 16")  # 65,519 sets of 2..16 workers
        with pytest.raises(CapabilityError, match="multicast groups"):
            s.install_text(text)


def test_digest_reports_each_new_connection_once(sw: NidsSwitch) -> None:
    loop = loop_of(sw)
    first = ports_of(sw, udp("100.64.0.1", VICTIM, 1000, 53), 1_000)
    ports_of(sw, udp("100.64.0.1", VICTIM, 1000, 53), 2_000)  # the same connection
    ports_of(sw, udp(VICTIM, "100.64.0.1", 53, 1000), 3_000)  # its reply
    ports_of(sw, bytes(ETH / IP(src="100.64.0.1", dst=VICTIM) / TCP(sport=1000, dport=53)), 4_000)
    flows = loop.take_new_flows()
    assert [(n.flow.src_text(), n.flow.dst_text(), n.flow.proto) for n in flows] == [
        ("100.64.0.1", VICTIM, 17),
        ("100.64.0.1", VICTIM, 6),  # another protocol: another connection
    ]
    assert WORKERS[flows[0].worker] == first[0]
    assert flows[0].monitor_port == 1


def test_ipv6_connections_are_reported_whole(sw: NidsSwitch) -> None:
    loop = loop_of(sw)
    frame = bytes(ETH / IPv6(src="2001:db8::1", dst="2001:db8:1::7") / UDP(sport=9, dport=53))
    ports_of(sw, frame, 1_000)
    (n,) = loop.take_new_flows()
    assert n.flow == Flow.of("2001:db8::1", "2001:db8:1::7", 9, 53, 17)


def test_a_flood_on_one_victim_becomes_one_destination_entry(sw: NidsSwitch) -> None:
    loop = loop_of(sw)
    for i in range(3):
        ports_of(sw, udp(f"100.64.0.{i + 1}", VICTIM, 1000 + i, 53), 1_000 + i)
    loop.on_new_flows(loop.take_new_flows(), 1.0)
    rep = loop.tick(1.0)
    assert rep.added == 1 and rep.entries == 1
    assert len(cluster_entries(sw)) == 1
    worker = max(loop.balancer.clusters.values(), key=lambda c: c.size).worker
    # every later source of the flood goes to the cluster's worker
    later = {
        ports_of(sw, udp(f"100.65.{i}.9", VICTIM, 2000 + i, 53), 10_000 + i)[0] for i in range(40)
    }
    assert later == {WORKERS[worker]}
    # the same clusters again: nothing to write
    assert loop.tick(2.0).added == 0 and len(cluster_entries(sw)) == 1


def test_a_started_connection_stays_when_its_cluster_entry_appears(sw: NidsSwitch) -> None:
    loop = loop_of(sw)
    starts = {}
    for i in range(12):
        frame = udp(f"100.64.1.{i + 1}", VICTIM, 3000 + i, 53)
        starts[frame] = ports_of(sw, frame, 1_000 + i)
    assert len({tuple(p) for p in starts.values()}) > 1  # the hash spread them
    loop.on_new_flows(loop.take_new_flows(), 1.0)
    assert loop.tick(1.0).added == 1
    for frame, ports in starts.items():
        assert ports_of(sw, frame, 50_000) == ports  # sticky


def test_expired_clusters_lose_their_entries_and_stop_removes_the_rest(sw: NidsSwitch) -> None:
    loop = loop_of(sw)
    for i in range(3):
        ports_of(sw, udp(f"100.64.2.{i + 1}", VICTIM, 1000 + i, 53), 1_000 + i)
    loop.on_new_flows(loop.take_new_flows(), 1.0)
    loop.tick(1.0)
    assert len(cluster_entries(sw)) == 1
    # lambda 1.5: the weight falls below th_w = 0.05 within ten idle seconds
    rep = loop.tick(20.0)
    assert rep.expired >= 1 and rep.deleted == 1 and not cluster_entries(sw)
    for i in range(3):
        ports_of(sw, udp(f"100.64.3.{i + 1}", VICTIM, 1000 + i, 53), 30_000 + i)
    loop.on_new_flows(loop.take_new_flows(), 21.0)
    loop.tick(21.0)
    assert len(cluster_entries(sw)) == 1
    assert loop.stop(remove_entries=True) == 1 and not cluster_entries(sw)


def test_loads_come_from_the_per_port_counters(sw: NidsSwitch) -> None:
    loop = loop_of(sw)
    loop.tick(0.0)
    frame = udp("100.64.4.1", VICTIM, 7, 53)
    (port,) = ports_of(sw, frame, 1_000)
    for i in range(19):
        ports_of(sw, frame, 2_000 + i)
    rep = loop.tick(2.0)
    w = WORKERS.index(port)
    assert rep.pps[w] == 10.0  # 20 packets in 2 s
    assert rep.loads[w] == 1.0  # % of 1000 packets/s
    assert sum(rep.pps) == 10.0


def test_entries_follow_what_the_flows_share() -> None:
    m = Members()
    victim = Flow.of("10.0.0.1", "192.0.2.9", 1, 80, 6).dst
    for i in range(3):  # a flood on 192.0.2.9
        m.add(Flow.of(f"100.64.0.{i + 1}", "192.0.2.9", 1000 + i, 53, 17), 24, 64)
    for i in range(4):  # a scan from 203.0.113.66 in 198.51.100.0/24
        m.add(Flow.of("203.0.113.66", f"198.51.100.{i + 1}", 5, 22, 6), 24, 64)
    rules = {(r.priority, r.src, r.dst): n for n, r in cluster_rules(m, 1, 0, 24, 64, 2)}
    scanner = Flow.of("203.0.113.66", "10.0.0.1", 0, 0, 6).src
    subnet = Flow.of("10.0.0.1", "198.51.100.0", 0, 0, 6).dst
    assert rules == {
        (3, None, (victim, 32)): 3,
        (2, (scanner, 32), None): 4,
        (1, None, (subnet, 24)): 4,
    }
    assert cluster_rules(m, 1, 0, 24, 64, 5) == []


def test_duplicated_flows_get_their_worker_set_multicast_group(sw: NidsSwitch) -> None:
    sw.install_text(rules_text(f_max=2))
    loop = loop_of(sw, rules_text(f_max=2))
    tcp = bytes(ETH / IP(src="100.64.5.2", dst=VICTIM) / TCP(sport=4, dport=22))
    ports_of(sw, udp("100.64.5.1", VICTIM, 1000, 53), 1_000)  # cluster 0
    ports_of(sw, bytes(ETH / IP(src="203.0.113.5", dst="192.0.2.50") / TCP(dport=22)), 2_000)
    ports_of(sw, tcp, 3_000)  # near both: the victim of 0, the port and protocol of 1
    decisions = loop.on_new_flows(loop.take_new_flows(), 1.0)
    assert [d.created for d in decisions] == [True, True, False]
    both = decisions[2].workers
    assert len(set(both)) == 2
    loop.tick(1.0)
    (entry,) = cluster_entries(sw)
    assert entry.action.action.action_id == sw.schema.action(ps.BALANCE_TO_WORKERS).id
    out = ports_of(sw, udp("100.66.0.1", VICTIM, 5, 53), 90_000)
    assert out == sorted(WORKERS[w] for w in both)


def test_the_first_flows_seed_one_cluster_per_worker_then_are_decided(sw: NidsSwitch) -> None:
    loop = loop_of(sw, seed_flows=8)
    frames = [udp(f"100.64.{i}.1", f"192.0.2.{10 + i % 2}", 1000 + i, 53) for i in range(4)]
    frames += [bytes(ETH / IP(src=f"10.1.0.{i}", dst="198.51.100.7") / TCP(dport=443))
               for i in range(4)]  # fmt: skip
    for k, fr in enumerate(frames[:7]):
        ports_of(sw, fr, 1_000 * (k + 1))
    assert loop.on_new_flows(loop.take_new_flows(), 0.5) == []  # 7 < 8: gathered
    assert not loop.balancer.clusters
    ports_of(sw, frames[7], 9_000)
    decisions = loop.on_new_flows(loop.take_new_flows(), 0.6)
    assert len(decisions) == 8 and loop.seeded
    # k-medoids gave at most one cluster per worker, each on its own worker, and every
    # gathered flow joined one of them (none had to found a cluster)
    workers = [c.worker for c in loop.balancer.clusters.values()]
    assert 1 < len(workers) <= 4 and len(set(workers)) == len(workers)
    assert not any(d.created for d in decisions)
    # the UDP flows and the HTTPS flows are in different clusters
    assert decisions[0].clusters != decisions[7].clusters


def test_the_first_interval_seeds_with_what_it_has(sw: NidsSwitch) -> None:
    loop = loop_of(sw, seed_flows=200)
    ports_of(sw, udp("100.64.0.1", "192.0.2.10", 1000, 53), 1_000)
    ports_of(sw, udp("100.64.0.2", "192.0.2.10", 1001, 53), 2_000)
    assert loop.on_new_flows(loop.take_new_flows(), 0.5) == []
    loop.tick(1.0)
    assert loop.seeded and loop.stats.decisions == 2
    assert len(loop.balancer.clusters) == 2  # two distinct flows: two medoids


def entry_ports(sw: NidsSwitch) -> dict[str, int]:
    """Per cluster entry: its destination address and the port of its worker."""
    out = {}
    for e in cluster_entries(sw):
        (dst,) = (m for m in e.match if m.field_id == 3)
        addr = ".".join(str(b) for b in dst.ternary.value[-4:].rjust(4, b"\0"))
        (index,) = e.action.action.params
        out[addr] = WORKERS[int.from_bytes(index.value, "big")]
    return out


def unbalanced(sw: NidsSwitch, max_moves: int) -> tuple[BalanceLoop, int, int, bytes]:
    """Three destinations' /32 entries on one worker, then one connection each carrying
    120, 40 and 20 packets (not reported to BLB: its clusters stay as they are), V = 1:
    the loop, the entries' port, the clock after the packets and the 120's connection."""
    text = rules_text(v=1)
    sw.install_text(text)
    loop = loop_of(sw, text, max_moves=max_moves)
    loop.tick(0.0)
    dsts = {"192.0.2.1": 120, "192.0.2.2": 40, "192.0.2.3": 20}
    for k, dst in enumerate(dsts):
        for i in range(2):  # two flows each: one /32 entry per destination
            ports_of(sw, udp(f"100.64.{k}.{i + 1}", dst, 1000 + i, 53), 1_000 * (2 * k + i + 1))
    loop.on_new_flows(loop.take_new_flows(), 0.5)
    assert len({c.worker for c in loop.balancer.clusters.values()}) == 1
    assert loop.tick(1.0).moved == 0
    (home,) = set(entry_ports(sw).values())
    now = 1_100_000
    for k, (dst, n) in enumerate(dsts.items()):
        frame = udp(f"100.65.{k}.1", dst, 7, 53)
        for _ in range(n):
            assert ports_of(sw, frame, now) == [home]
            now += 1_000
    return loop, home, now, udp("100.65.0.1", "192.0.2.1", 7, 53)


def test_a_variance_above_v_moves_the_entry_nearest_half_the_gap(sw: NidsSwitch) -> None:
    """The loads' variance exceeds V, so the entry whose traffic is nearest half the gap
    (the 120's) goes to the least loaded worker; new connections follow it, started ones
    stay, and for `hold` intervals nothing else moves."""
    loop, home, now, started = unbalanced(sw, MAX_MOVES)
    rep = loop.tick(2.0)
    assert rep.moved == 1 and loop.stats.moved_entries == 1
    least = WORKERS[min(range(4), key=lambda w: (rep.loads[w], w))]
    assert least != home
    # the subnet entry (the three share a /24) matched nothing: it stays
    assert entry_ports(sw) == {
        "192.0.2.0": home, "192.0.2.1": least, "192.0.2.2": home, "192.0.2.3": home
    }  # fmt: skip
    assert ports_of(sw, udp("100.66.0.1", "192.0.2.1", 9, 53), now) == [least]
    assert ports_of(sw, started, now + 1_000) == [home]  # a started connection stays
    assert ports_of(sw, udp("100.66.0.2", "192.0.2.2", 9, 53), now + 2_000) == [home]
    assert all(loop.tick(2.0 + i).moved == 0 for i in range(1, loop.hold))


def test_without_rebalancing_the_entries_stay(sw: NidsSwitch) -> None:
    loop, home, now, _ = unbalanced(sw, 0)
    assert loop.tick(2.0).moved == 0 and not loop.pins
    assert set(entry_ports(sw).values()) == {home}
    assert ports_of(sw, udp("100.66.0.1", "192.0.2.1", 9, 53), now) == [home]
