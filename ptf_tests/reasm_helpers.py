"""Shared pieces of the reassembly PTF tests (docs/reassembly.md).

Only P4Runtime and packets are used, so the tests run unchanged on softswitch and on
BMv2 simple_switch_grpc. The stage is enabled with a MODIFY of
`NidsIngress.reassembly.config`'s default entry and disabled again when the test ends.
The session table outlives a test: every connection a test opens is reset (a RST from
its originator) when the test ends, which frees its slot, and each test uses its own
source ports. Flow ids are not predictable across tests (they are never reused), so
frames are compared by their parts: the original packet byte for byte, and each
record's fields, the flow id being the one the connection's first record carried.
"""

from __future__ import annotations

import time

from base_test import P4RuntimeTest
from feedback_match import describe
from p4.v1 import p4runtime_pb2
from ptf import testutils
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane import pipeline_spec as ps
from feedback_header import codec
from feedback_header.records import Direction, StreamMode, StreamSegment

IN_PORT = 0
MONITOR = 1
OUTCOME = {o.p4: i for i, o in enumerate(ps.REASM_OUTCOMES)}
A, B = "10.9.0.1", "192.0.2.90"
A6, B6 = "2001:db8:9::1", "2001:db8:90::90"
MAC_A, MAC_B = "00:00:00:00:00:0a", "00:00:00:00:00:0b"


class Conn:
    """A TCP connection A:sport (originator) -> B:80 (A6 -> B6 with `v6`); offsets are
    stream offsets."""

    def __init__(self, sport: int, isn_o: int = 1000, isn_r: int = 9000, v6: bool = False) -> None:
        self.sport, self.dport, self.isn_o, self.isn_r = sport, 80, isn_o, isn_r
        self.v6 = v6

    def _ip(self, src: str, dst: str) -> IP | IPv6:
        if self.v6:
            return IPv6(src=A6 if src == A else B6, dst=A6 if dst == A else B6)
        return IP(src=src, dst=dst)

    def _pkt(self, from_orig: bool, flags: str, off: int, data: bytes) -> bytes:
        if from_orig:
            eth, ip = Ether(src=MAC_A, dst=MAC_B), self._ip(A, B)
            sport, dport, isn, peer = self.sport, self.dport, self.isn_o, self.isn_r
        else:
            eth, ip = Ether(src=MAC_B, dst=MAC_A), self._ip(B, A)
            sport, dport, isn, peer = self.dport, self.sport, self.isn_r, self.isn_o
        seq = (isn + 1 + off) % (1 << 32)
        ack = (peer + 1) % (1 << 32) if "A" in flags else 0
        p = eth / ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
        return bytes(p / data) if data else bytes(p)

    def o(self, flags: str, off: int = 0, data: bytes = b"") -> bytes:
        return self._pkt(True, flags, off, data)

    def r(self, flags: str, off: int = 0, data: bytes = b"") -> bytes:
        return self._pkt(False, flags, off, data)

    def syn_ack(self) -> bytes:
        """The responder's SYN-ACK (seq = its ISN, ack = the originator's ISN + 1)."""
        return self._pkt(False, "SA", -1, b"")


class ReassemblyTest(P4RuntimeTest):
    """P4RuntimeTest with the reassembly stage enabled, frames checked by their parts."""

    def setUp(self) -> None:
        super().setUp()
        self.conns: list[Conn] = []
        self.flow_ids: dict[int, int] = {}

    def enable(
        self,
        slots: int = 1024,
        idle_us: int = 60_000_000,
        hold: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        """Tap port 0 to monitor port 1 and configure the stage (`hold`: segments held
        per connection, in all, gap timeout in µs); `self.before` then holds the outcome
        counters."""
        self.insert_table_entry(
            ps.MONITOR_TABLE,
            {ps.MONITOR_KEY: IN_PORT},
            ps.SEND_TO_MONITOR,
            {ps.SEND_TO_MONITOR_PORT: MONITOR},
        )
        self.set_default_action(
            ps.REASM_CONFIG_TABLE,
            ps.REASM_CONFIGURE,
            dict(zip(ps.REASM_CONFIGURE_PARAMS, (slots, idle_us, *hold), strict=True)),
            restore=(ps.REASM_DISABLE, {}),
        )
        self.before = self.outcomes()

    def undo_writes(self) -> None:
        """Reset every connection the test opened (frees its session), then undo."""
        try:
            for c in self.conns:
                testutils.send_packet(self, IN_PORT, c.o("R", 1 << 20))
            if self.conns:
                time.sleep(0.3)
                self.dataplane.flush()
            self.conns = []
        finally:
            super().undo_writes()

    def open(self, c: Conn) -> None:
        """The SYN-ACK and the originator's ACK: a session in switch mode (no records)."""
        self.conns.append(c)
        for f in (c.syn_ack(), c.o("A")):
            self.send(f)
            self.assertIsNone(self.expect_original(f), "a handshake packet got records")

    def send(self, frame: bytes) -> None:
        testutils.send_packet(self, IN_PORT, frame)

    def receive(self, timeout: float = 2.0) -> bytes:
        result = testutils.dp_poll(self, device_number=0, port_number=MONITOR, timeout=timeout)
        if not isinstance(result, self.dataplane.PollSuccess):
            self.fail(f"nothing on port {MONITOR} within {timeout}s")
        return bytes(result.packet)

    def expect_original(self, sent: bytes) -> codec.Decoded | None:
        """The next monitor frame must be `sent` (with a feedback header or without, the
        packet after it unchanged); returns the header (None without one)."""
        got = self.receive()
        d = codec.try_decode(got)
        original = got if d is None else d.original
        if original != sent:
            self.fail(f"wrong frame on port {MONITOR}\n  got {describe(got)}\n  sent {sent.hex()}")
        return d

    def expect_segment(self, c: Conn, sent: bytes, direction: int, offset: int) -> None:
        """`sent` delivered in order: exactly one STREAM_SEGMENT record."""
        d = self.expect_original(sent)
        self.assertIsNotNone(d, "an in-order segment without a record")
        assert d is not None
        (rec,) = d.records
        self.assertIsInstance(rec, StreamSegment)
        assert isinstance(rec, StreamSegment)
        self.assertEqual((rec.direction, rec.stream_offset), (direction, offset))
        self.assertEqual(rec.flow_id, self.flow_ids.setdefault(c.sport, rec.flow_id))
        self.assertNotEqual(rec.flow_id, 0)

    def expect_mode(
        self, c: Conn | None, sent: bytes, state: int, reason: int, offsets: tuple[int, int]
    ) -> None:
        """`sent` unchanged with one STREAM_MODE record (state, reason, offsets)."""
        d = self.expect_original(sent)
        self.assertIsNotNone(d, "no STREAM_MODE record")
        assert d is not None
        (rec,) = d.records
        self.assertIsInstance(rec, StreamMode)
        assert isinstance(rec, StreamMode)
        got = (rec.stream_state, rec.fallback_reason, (rec.orig_offset, rec.resp_offset))
        self.assertEqual(got, (state, reason, offsets))
        if c is not None:
            self.assertEqual(rec.flow_id, self.flow_ids.get(c.sport, rec.flow_id))

    def expect_modes(
        self, c: Conn, sent: list[bytes], state: int, reason: int, offsets: tuple[int, int]
    ) -> None:
        """Each of `sent`, in any order (held segments leave in the loop's order),
        unchanged with one STREAM_MODE record (state, reason, offsets)."""
        left = list(sent)
        for _ in sent:
            d = codec.try_decode(self.receive())
            self.assertIsNotNone(d, "no STREAM_MODE record")
            assert d is not None
            self.assertIn(d.original, left, f"an unexpected frame: {describe(d.original or b'')}")
            left.remove(d.original)
            (rec,) = d.records
            assert isinstance(rec, StreamMode)
            got = (rec.stream_state, rec.fallback_reason, (rec.orig_offset, rec.resp_offset))
            self.assertEqual(got, (state, reason, offsets))
            self.assertEqual(rec.flow_id, self.flow_ids.get(c.sport, rec.flow_id))

    def expect_nothing(self) -> None:
        testutils.verify_no_other_packets(self)

    # ---- counters

    def outcomes(self) -> list[int]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        ce = req.entities.add().counter_entry
        ce.counter_id = self.p4info.id("counters", ps.REASM_OUTCOMES_COUNTER)
        cells = [e.counter_entry for r in self.stub.Read(req, timeout=10) for e in r.entities]
        by_index = {c.index.index: int(c.data.packet_count) for c in cells}
        return [by_index.get(i, 0) for i in range(len(ps.REASM_OUTCOMES))]

    def delta(self, name: str) -> int:
        i = OUTCOME[name]
        return self.outcomes()[i] - self.before[i]


ORIG, RESP = Direction.ORIGINATOR, Direction.RESPONDER
