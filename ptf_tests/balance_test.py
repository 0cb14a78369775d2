"""Monitor clusters over veths (p4src/include/control/balance.p4, docs/balance.md): the
monitor port 1 stands for workers on ports 1-4; entries written by
controlplane.balance.entries, as the controller writes them."""

from __future__ import annotations

import queue
import time

from base_test import P4RuntimeTest, autocleanup, skip_unless_root
from p4.v1 import p4runtime_pb2
from ptf import testutils

from controlplane import pipeline_spec as ps
from controlplane.balance.entries import (
    ClusterRule,
    cluster_update,
    group_update,
    multicast_update,
    worker_port_updates,
)
from controlplane.balance.flow import Flow
from controlplane.balance.loop import NewFlow, digest_config_update, digest_id, parse_digest
from controlplane.p4info import P4Schema
from feedback_header.codec import decode

WORKERS = [1, 2, 3, 4]
VICTIM = "198.51.100.7"


def udp(src: str, dst: str, sport: int, dport: int) -> bytes:
    return bytes(
        testutils.simple_udp_packet(
            eth_dst="00:00:00:00:00:0b",
            eth_src="00:00:00:00:00:01",
            ip_src=src,
            ip_dst=dst,
            udp_sport=sport,
            udp_dport=dport,
        )
    )


def victim_rule(worker: int, mcast: int = 0) -> ClusterRule:
    dst = Flow.of("10.0.0.0", VICTIM, 0, 0, 17).dst
    return ClusterRule(worker=worker, priority=10, dst=(dst, 32), mcast_group=mcast)


class BalanceTest(P4RuntimeTest):
    def setUp(self) -> None:
        super().setUp()
        self.schema = P4Schema(self.p4info.p4info)

    def group(self, two_tuple: bool = False, stats: bool = False) -> None:
        self.insert_table_entry(
            ps.MONITOR_TABLE, {ps.MONITOR_KEY: 0}, ps.SEND_TO_MONITOR, {"port": 1}
        )
        self.write(
            group_update(self.schema, 1, len(WORKERS), two_tuple, 60_000_000),
            *worker_port_updates(self.schema, 1, WORKERS),
        )

    def port_of(self, frame: bytes) -> int:
        testutils.send_packet(self, 0, frame)
        res = testutils.dp_poll(self, timeout=2)
        self.assertTrue(isinstance(res, self.dataplane.PollSuccess), "no packet out")
        return int(res.port)


@skip_unless_root
class SymmetricHashTest(BalanceTest):
    """Both directions of a connection leave on one worker; connections spread."""

    @autocleanup
    def runTest(self) -> None:
        self.group()
        seen = set()
        for i in range(16):
            a, b = f"10.0.{i}.1", f"192.0.2.{i + 1}"
            fwd = self.port_of(udp(a, b, 40000 + i, 53))
            rev = self.port_of(udp(b, a, 53, 40000 + i))
            self.assertEqual(fwd, rev)
            self.assertIn(fwd, WORKERS)
            seen.add(fwd)
        self.assertGreater(len(seen), 1)
        testutils.verify_no_other_packets(self)


@skip_unless_root
class TwoTupleHashTest(BalanceTest):
    """With the 2-tuple hash the ports do not matter."""

    @autocleanup
    def runTest(self) -> None:
        self.group(two_tuple=True)
        for i in range(4):
            ports = {
                self.port_of(udp(f"10.0.{i}.1", "192.0.2.9", 1000 + j, 9 + j)) for j in range(6)
            }
            self.assertEqual(len(ports), 1)


@skip_unless_root
class ClusterStickyTest(BalanceTest):
    """A cluster entry overrides the hash; a started flow keeps its worker when the cluster
    moves, new flows follow the cluster."""

    @autocleanup
    def runTest(self) -> None:
        self.group()
        self.write(cluster_update(self.schema, 1, victim_rule(0)))
        old = udp("100.64.0.1", VICTIM, 5, 6)
        for i in range(8):
            self.assertEqual(self.port_of(udp(f"100.64.1.{i}", VICTIM, 7, 100 + i)), WORKERS[0])
        self.assertEqual(self.port_of(old), WORKERS[0])
        self.write(cluster_update(self.schema, 1, victim_rule(3), p4runtime_pb2.Update.MODIFY))
        self.assertEqual(self.port_of(udp("100.64.0.2", VICTIM, 5, 6)), WORKERS[3])
        self.assertEqual(self.port_of(old), WORKERS[0])
        testutils.verify_no_other_packets(self)


@skip_unless_root
class DuplicationTest(BalanceTest):
    """A cluster entry with a multicast group copies its flows to those workers."""

    @autocleanup
    def runTest(self) -> None:
        self.group()
        self.write(
            multicast_update(7, [WORKERS[1], WORKERS[3]]),
            cluster_update(self.schema, 1, victim_rule(1, 7)),
        )
        frame = udp("100.64.3.3", VICTIM, 1234, 9)
        testutils.send_packet(self, 0, frame)
        testutils.verify_each_packet_on_each_port(self, [frame, frame], [WORKERS[1], WORKERS[3]])
        testutils.verify_no_other_packets(self)


@skip_unless_root
class RecordsFollowTest(BalanceTest):
    """A stats threshold alert is attached on the flow's worker port."""

    @autocleanup
    def runTest(self) -> None:
        self.group()
        self.write(cluster_update(self.schema, 1, victim_rule(2)))
        rule = self.table_entry(
            ps.stats_table(0),
            {"protocol": (17, 0xFF)},
            ps.count_group(0),
            {
                "rule_id": 1,
                "port_mask": 0,
                "src_mask": 0,
                "dst_mask": 0xFFFFFFFF,
                "proto_mask": 0,
                "sport_mask": 0,
                "dport_mask": 0,
                "flags_mask": 0,
                "bidirectional": 0,
                "interval_us": 0,
                "packet_threshold": 1,
                "byte_threshold": 0,
            },
            priority=1,
        )
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
        u.entity.table_entry.CopyFrom(rule)
        self.write(u)
        testutils.send_packet(self, 0, udp("100.64.9.9", VICTIM, 1, 53))
        res = testutils.dp_poll(self, timeout=2)
        self.assertTrue(isinstance(res, self.dataplane.PollSuccess), "no packet out")
        self.assertEqual(res.port, WORKERS[2])
        self.assertTrue(decode(bytes(res.packet)).records)
        testutils.verify_no_other_packets(self)


@skip_unless_root
class NewFlowDigestTest(BalanceTest):
    """The first packet of a connection the stage stores sends a `balance_new_flow_t`
    digest (key, protocol, ports, the group's monitor port, the worker chosen); the
    connection's later packets and its replies send none. (Samples of earlier tests'
    connections taken within the last second wait in the learn list and come too: only
    this test's connection is looked at.)"""

    def reports_of(self, flow: Flow, timeout: float) -> list[NewFlow]:
        """Samples of `flow` in the digest lists that arrive within `timeout` (stopping
        at the first that has one), each list acknowledged."""
        out: list[NewFlow] = []
        while not out:
            try:
                dl = self.digests.get(timeout=timeout)
            except queue.Empty:
                return out
            self.assertEqual(dl.digest_id, digest_id(self.schema))
            out = [n for n in parse_digest(dl) if n.flow == flow]
            ack = p4runtime_pb2.StreamMessageRequest()
            ack.digest_ack.digest_id, ack.digest_ack.list_id = dl.digest_id, dl.list_id
            self._requests.put(ack)
        return out

    @autocleanup
    def runTest(self) -> None:
        self.group()
        did = digest_id(self.schema)
        self.write(digest_config_update(did, p4runtime_pb2.Update.INSERT))
        flow = Flow.of("100.64.7.7", VICTIM, 4242, 53, 17)
        frame = udp("100.64.7.7", VICTIM, 4242, 53)
        port = self.port_of(frame)
        (n,) = self.reports_of(flow, 5)
        self.assertEqual((n.monitor_port, WORKERS[n.worker], n.mcast_group), (1, port, 0))
        self.assertEqual(self.port_of(frame), port)
        self.assertEqual(self.port_of(udp(VICTIM, "100.64.7.7", 53, 4242)), port)
        self.assertEqual(self.reports_of(flow, 1), [])
        testutils.verify_no_other_packets(self)


@skip_unless_root
class NewFlowBeforeConfigTest(NewFlowDigestTest):
    """A connection stored before the DigestEntry exists: BMv2 holds its sample in the
    learn list (up to 16 samples for up to 1 s) and delivers it when a DigestEntry comes
    within that second."""

    @autocleanup
    def runTest(self) -> None:
        self.group()
        time.sleep(1.2)  # what earlier tests left in the learn list has gone by now
        flow = Flow.of("100.64.7.9", VICTIM, 4243, 53, 17)
        port = self.port_of(udp("100.64.7.9", VICTIM, 4243, 53))
        did = digest_id(self.schema)
        self.write(digest_config_update(did, p4runtime_pb2.Update.INSERT))
        (n,) = self.reports_of(flow, 3)
        self.assertEqual((n.monitor_port, WORKERS[n.worker]), (1, port))
        testutils.verify_no_other_packets(self)


@skip_unless_root
class WorkerLoadCounterTest(BalanceTest):
    """The egress per-port counter counts what each worker port received."""

    def cell(self, port: int) -> int:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        c = req.entities.add().counter_entry
        c.counter_id = self.schema.counter(ps.BALANCE_PORT_TRAFFIC).id
        c.index.index = port
        got = [e for r in self.stub.Read(req, timeout=10) for e in r.entities]
        return int(got[0].counter_entry.data.packet_count)

    @autocleanup
    def runTest(self) -> None:
        self.group()
        frame = udp("100.64.8.8", VICTIM, 999, 53)
        before = {p: self.cell(p) for p in WORKERS}
        port = self.port_of(frame)
        for _ in range(4):
            self.assertEqual(self.port_of(frame), port)
        after = {p: self.cell(p) for p in WORKERS}
        self.assertEqual(
            {p: after[p] - before[p] for p in WORKERS}, {p: 5 if p == port else 0 for p in WORKERS}
        )
        testutils.verify_no_other_packets(self)


@skip_unless_root
class ClusterHitsTest(BalanceTest):
    """Every packet a cluster entry matches counts on its direct counter, also those of a
    started connection that keeps its worker after the entry moved (what the controller
    measures an entry's traffic by when it rebalances)."""

    def hits(self, rule: ClusterRule) -> int:
        return self.direct_counter(cluster_update(self.schema, 1, rule).entity.table_entry)[0]

    @autocleanup
    def runTest(self) -> None:
        self.group()
        self.write(cluster_update(self.schema, 1, victim_rule(0)))
        started = udp("100.64.9.1", VICTIM, 5, 6)
        for _ in range(3):
            self.assertEqual(self.port_of(started), WORKERS[0])
        self.assertEqual(self.hits(victim_rule(0)), 3)
        self.write(cluster_update(self.schema, 1, victim_rule(2), p4runtime_pb2.Update.MODIFY))
        for _ in range(2):
            self.assertEqual(self.port_of(started), WORKERS[0])  # sticky
        self.assertEqual(self.port_of(udp("100.64.9.2", VICTIM, 5, 6)), WORKERS[2])
        self.assertEqual(self.hits(victim_rule(2)), 6)
        other = udp("100.64.9.3", "192.0.2.99", 5, 6)  # no entry matches: not counted
        self.assertIn(self.port_of(other), WORKERS)
        self.assertEqual(self.hits(victim_rule(2)), 6)
        testutils.verify_no_other_packets(self)
