"""Shared pieces of the SYN-offload PTF tests (docs/syn-offload.md).

Only P4Runtime and packets are used, so the tests run unchanged on the softswitch and on
BMv2 simple_switch_grpc:

- the stage is enabled with a MODIFY of `NidsIngress.syn_offload.config`'s default entry
  (`configure(table_slots, timeout_us)`) and a clone session 512 + monitor port; both are
  undone when the test ends (default back to `disable()`, session deleted);
- sweep packets go in through packet-out (egress_port 0);
- `outcomes` are read over P4Runtime; the counters are never reset, so tests compare
  deltas against the values read right after the stage was enabled;
- expected frames are built with scapy and `feedback_header.codec.insert`; only the clock
  fields (the fixed part's timestamp, a SYN summary's first/last seen) are masked.

The switch runs once for a whole PTF run and its record registers persist: every test
empties the table before and after itself by sweeping all `DRAIN_SLOTS` slots with a
timeout of 0 (every held record is then expired), so a test never sees another's records.
"""

from __future__ import annotations

import ipaddress
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from base_test import P4RuntimeTest
from feedback_match import clock_mask, describe
from p4.v1 import p4runtime_pb2
from ptf import testutils
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from controlplane import pipeline_spec as ps
from feedback_header import codec
from feedback_header.records import (
    FeedbackFlags,
    NotOffloaded,
    NotOffloadedReason,
    Stage,
    SynSummary,
    SynSummary6,
    SynSummaryReason,
)

MONITOR_PORTS = ps.MONITOR_TABLE
SEND_TO_MONITOR = ps.SEND_TO_MONITOR
CONFIG = ps.SYN_CONFIG_TABLE
CONFIGURE = ps.SYN_CONFIGURE
DISABLE = ps.SYN_DISABLE
OUTCOMES = ps.SYN_OUTCOMES_COUNTER

SYN_CLONE_SESSION_BASE = ps.SYN_CLONE_SESSION_BASE
ETHERTYPE_NIDS_SWEEP = ps.ETHERTYPE_SWEEP
DEVICE_ID = 1  # feedback `config` default action: set_device_id(1)

IN_PORT = 0  # traffic of both directions enters here (the tap)
MONITOR = 1  # monitor port: where everything leaves

# Largest table_slots any SYN-offload PTF test uses: the cleanup sweeps this many slots.
DRAIN_SLOTS = 64

# outcomes[] indexes (pipeline_spec.SYN_OUTCOMES, SYN_OUTCOME_* in P4).
SEEN, STORED, RETRANSMITTED, PASSED, REGEN_REPLY, REGEN_TRAFFIC, REGEN_SWEEP, SWEEPS = (
    [o.p4 for o in ps.SYN_OUTCOMES].index(n)
    for n in (
        "SEEN",
        "STORED",
        "RETRANSMITTED",
        "PASSED",
        "REGENERATED_REPLY",
        "REGENERATED_TRAFFIC",
        "REGENERATED_SWEEP",
        "SWEEPS",
    )
)
N_OUTCOMES = len(ps.SYN_OUTCOMES)

MAC_A = "00:00:00:00:00:0a"  # originator side
MAC_B = "00:00:00:00:00:0b"  # responder side
MAC_SWEEP_DST = "00:00:00:00:00:5d"
MAC_SWEEP_SRC = "00:00:00:00:00:5e"


AnySummary = SynSummary | SynSummary6


def ip2int(addr: str) -> int:
    """An IPv4 address as an int."""
    return int(ipaddress.IPv4Address(addr))


def int2ip(value: int) -> str:
    """An int as a dotted IPv4 address."""
    return str(ipaddress.IPv4Address(value))


def slot_of(src: str, dst: str, sport: int, dport: int, slots: int) -> int:
    """A connection's record slot: zlib's crc32 of (lower endpoint addr, higher addr,
    lower port, higher port) modulo `slots`, the lower endpoint being the one with the
    lower address (lower port on a tie), so both directions share it."""
    s, d = ip2int(src), ip2int(dst)
    if (s, sport) > (d, dport):
        s, d, sport, dport = d, s, dport, sport
    key = s.to_bytes(4, "big") + d.to_bytes(4, "big")
    key += sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return zlib.crc32(key) % slots


@dataclass(frozen=True)
class Conn:
    """One connection attempt: originator (src) to responder (dst), and its ISN."""

    src: str
    dst: str
    sport: int
    dport: int
    isn: int = 1000

    def slot(self, slots: int) -> int:
        """The record slot of this connection in a table of `slots` slots."""
        return slot_of(self.src, self.dst, self.sport, self.dport, slots)

    def syn(self, payload: bytes = b"", flags: int | str = "S") -> bytes:
        """The originator's SYN, with options the regenerated SYN will not reproduce;
        `flags` as scapy takes them (9 bits: AE is 0x100)."""
        pkt = (
            Ether(src=MAC_A, dst=MAC_B)
            / IP(src=self.src, dst=self.dst, ttl=57, id=4242)
            / TCP(
                sport=self.sport,
                dport=self.dport,
                flags=flags,
                seq=self.isn,
                window=29200,
                options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)],
            )
        )
        return bytes(pkt / payload) if payload else bytes(pkt)

    def reply(self, flags: str, seq: int = 777) -> bytes:
        """A packet from the responder (SYN-ACK "SA", RST "R"/"RA", its own SYN "S")."""
        ack = self.isn + 1 if "A" in flags else 0
        return bytes(
            Ether(src=MAC_B, dst=MAC_A)
            / IP(src=self.dst, dst=self.src, ttl=60)
            / TCP(sport=self.dport, dport=self.sport, flags=flags, seq=seq, ack=ack, window=1024)
        )

    def summary(self, reason: SynSummaryReason, count: int = 1) -> SynSummary:
        """The SYN_SUMMARY of this attempt (times 0: masked when compared)."""
        return SynSummary(
            reason=reason,
            syn_count=count,
            ipv4_src=ip2int(self.src),
            ipv4_dst=ip2int(self.dst),
            src_port=self.sport,
            dst_port=self.dport,
            isn=self.isn,
            first_seen=0,
            last_seen=0,
        )

    def regenerated(
        self,
        reason: SynSummaryReason,
        count: int = 1,
        mac_src: str = MAC_A,
        mac_dst: str = MAC_B,
        tcp_flags: int | str = "S",
    ) -> bytes:
        """The SYN the switch emits for this attempt: stored tuple and ISN, fixed IP/TCP
        fields, the kept flags (SYN, CWR, ECE, AE), no options, valid checksums, the
        trigger's Ethernet addresses."""
        pkt = (
            Ether(src=mac_src, dst=mac_dst)
            / IP(src=self.src, dst=self.dst, ttl=64, id=0, flags="DF", tos=0)
            / TCP(
                sport=self.sport,
                dport=self.dport,
                seq=self.isn,
                ack=0,
                flags=tcp_flags,
                window=65535,
                urgptr=0,
            )
        )
        return codec.insert(
            bytes(pkt),
            [self.summary(reason, count)],
            device_id=DEVICE_ID,
            flags=FeedbackFlags.REGENERATED,
        )


def ip6int(addr: str) -> int:
    """An IPv6 address as an int."""
    return int(ipaddress.IPv6Address(addr))


def slot6_of(src: str, dst: str, sport: int, dport: int, slots: int) -> int:
    """An IPv6 connection's record slot: as `slot_of`, with 16-byte addresses."""
    s, d = ip6int(src), ip6int(dst)
    if (s, sport) > (d, dport):
        s, d, sport, dport = d, s, dport, sport
    key = s.to_bytes(16, "big") + d.to_bytes(16, "big")
    key += sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return zlib.crc32(key) % slots


@dataclass(frozen=True)
class Conn6(Conn):
    """An IPv6 connection attempt; `ext` extension headers go into its SYN."""

    def slot(self, slots: int) -> int:
        """The record slot of this connection in the IPv6 table of `slots` slots."""
        return slot6_of(self.src, self.dst, self.sport, self.dport, slots)

    def syn(
        self, payload: bytes = b"", flags: int | str = "S", ext: Sequence[Packet] = ()
    ) -> bytes:
        """The originator's SYN (hop limit 57, a flow label, TCP options), after `ext`."""
        pkt: Packet = Ether(src=MAC_A, dst=MAC_B) / IPv6(
            src=self.src, dst=self.dst, hlim=57, fl=0x12345, tc=0x28
        )
        for hdr in ext:
            pkt = pkt / hdr
        pkt = pkt / TCP(
            sport=self.sport,
            dport=self.dport,
            flags=flags,
            seq=self.isn,
            window=29200,
            options=[("MSS", 1440), ("SAckOK", b""), ("WScale", 7)],
        )
        return bytes(pkt / payload) if payload else bytes(pkt)

    def reply(self, flags: str, seq: int = 777) -> bytes:
        """A packet from the responder."""
        ack = self.isn + 1 if "A" in flags else 0
        return bytes(
            Ether(src=MAC_B, dst=MAC_A)
            / IPv6(src=self.dst, dst=self.src, hlim=60)
            / TCP(sport=self.dport, dport=self.sport, flags=flags, seq=seq, ack=ack, window=1024)
        )

    def summary(self, reason: SynSummaryReason, count: int = 1) -> SynSummary6:  # type: ignore[override]
        """The SYN_SUMMARY6 of this attempt (times 0: masked when compared)."""
        return SynSummary6(
            reason=reason,
            syn_count=count,
            ipv6_src=ip6int(self.src),
            ipv6_dst=ip6int(self.dst),
            src_port=self.sport,
            dst_port=self.dport,
            isn=self.isn,
            first_seen=0,
            last_seen=0,
        )

    def regenerated(
        self,
        reason: SynSummaryReason,
        count: int = 1,
        mac_src: str = MAC_A,
        mac_dst: str = MAC_B,
        tcp_flags: int | str = "S",
    ) -> bytes:
        """The IPv6 SYN the switch emits: traffic class and flow label 0, hop limit 64,
        no extension headers, TCP as for IPv4, valid checksum."""
        pkt = (
            Ether(src=mac_src, dst=mac_dst)
            / IPv6(src=self.src, dst=self.dst, hlim=64, tc=0, fl=0)
            / TCP(
                sport=self.sport,
                dport=self.dport,
                seq=self.isn,
                ack=0,
                flags=tcp_flags,
                window=65535,
                urgptr=0,
            )
        )
        return codec.insert(
            bytes(pkt),
            [self.summary(reason, count)],
            device_id=DEVICE_ID,
            flags=FeedbackFlags.REGENERATED,
        )


def not_offloaded(frame: bytes, reason: NotOffloadedReason, detail: int = 0) -> bytes:
    """`frame` as the monitor port sends it when the stage passes it through."""
    rec = NotOffloaded(stage=Stage.SYN_OFFLOAD, reason=reason, detail=detail)
    return codec.insert(frame, [rec], device_id=DEVICE_ID)


def sweep_frame(index: int, monitor_port: int = MONITOR) -> bytes:
    """A sweep packet after packet_out: Ethernet (EtherType 0x88B6), index, monitor port."""
    eth = bytes(Ether(dst=MAC_SWEEP_DST, src=MAC_SWEEP_SRC, type=ETHERTYPE_NIDS_SWEEP))
    return eth + index.to_bytes(4, "big") + (monitor_port & 0x1FF).to_bytes(2, "big")


def colliding(base: Conn, n: int, slots: int) -> list[Conn]:
    """`n` connections from base.src to base.dst:base.dport with other source ports whose
    slot is `base`'s."""
    want = base.slot(slots)
    out = []
    for port in range(base.sport + 1, 65536):
        c = Conn(base.src, base.dst, port, base.dport, isn=base.isn + port)
        if c.slot(slots) == want:
            out.append(c)
            if len(out) == n:
                return out
    raise AssertionError(f"fewer than {n} ports collide with {base} in {slots} slots")


class SynOffloadTest(P4RuntimeTest):
    """P4RuntimeTest with the SYN-offload stage enabled, sweeps, counters, exact frames."""

    def setUp(self) -> None:
        super().setUp()
        self._syn_enabled = False
        self.before: list[int] = [0] * N_OUTCOMES

    def enable(self, slots: int, timeout_us: int) -> None:
        """Tap port 0 to monitor port 1, add the clone session and configure the stage
        with an empty table; `self.before` then holds the outcome counters."""
        assert slots <= DRAIN_SLOTS, "raise DRAIN_SLOTS: the cleanup would miss slots"
        self.insert_table_entry(
            MONITOR_PORTS,
            {ps.MONITOR_KEY: IN_PORT},
            SEND_TO_MONITOR,
            {ps.SEND_TO_MONITOR_PORT: MONITOR},
        )
        self.insert_clone_session(SYN_CLONE_SESSION_BASE + MONITOR, [MONITOR])
        self.configure(DRAIN_SLOTS, 0, restore=True)
        self._syn_enabled = True
        self.drain()
        self.configure(slots, timeout_us)
        self.before = self.outcomes()

    def configure(self, slots: int, timeout_us: int, restore: bool = False) -> None:
        """Set the stage's default action to configure(slots, timeout_us)."""
        self.set_default_action(
            CONFIG,
            CONFIGURE,
            dict(zip(ps.SYN_CONFIGURE_PARAMS, (slots, timeout_us), strict=True)),
            restore=(DISABLE, {}) if restore else None,
        )

    def undo_writes(self) -> None:
        """Empty the record table first (it outlives the test), then undo the writes."""
        try:
            if self._syn_enabled:
                self._syn_enabled = False
                self.configure(DRAIN_SLOTS, 0)
                self.drain()
        finally:
            super().undo_writes()

    def drain(self) -> None:
        """Sweep every slot twice (the stage must be configured with timeout 0) and
        discard what comes out: a sweep packet emits one record, of the IPv4 table if
        its slot holds one, else of the IPv6 table."""
        sweeps = self.outcomes()[SWEEPS]
        for _ in range(2):
            for i in range(DRAIN_SLOTS):
                self.sweep(i)
        self.wait_outcome(SWEEPS, sweeps + 2 * DRAIN_SLOTS)
        time.sleep(0.2)  # the emitted SYNs are on their way to the PTF socket
        self.dataplane.flush()

    # ---- packets

    def sweep(self, index: int) -> None:
        """One sweep packet for slot `index` (monitor port 1), through packet-out."""
        self.send_packet_out(sweep_frame(index), egress_port=0)

    def send(self, frame: bytes) -> None:
        """Send `frame` into the tap port."""
        testutils.send_packet(self, IN_PORT, frame)

    def expect(self, expected: bytes, timeout: float = 2.0) -> codec.Decoded | None:
        """The next frame on the monitor port must equal `expected` with the clock masked;
        for a SYN summary first_seen <= last_seen <= the header's timestamp (one clock).
        Returns the decoded feedback header of what arrived (None without one)."""
        result = testutils.dp_poll(self, device_number=0, port_number=MONITOR, timeout=timeout)
        if not isinstance(result, self.dataplane.PollSuccess):
            self.fail(f"nothing on port {MONITOR} within {timeout}s; expected {describe(expected)}")
        got = bytes(result.packet)
        if not clock_mask(expected).pkt_match(got):
            self.fail(
                f"port {MONITOR}: wrong frame (clock masked)\n"
                f"  got      {describe(got)}\n  expected {describe(expected)}"
            )
        d = codec.try_decode(got)
        if d is not None:
            for rec in d.records:
                if isinstance(rec, (SynSummary, SynSummary6)):
                    self.assert_times(rec, d.header.timestamp)
        return d

    def assert_times(self, rec: AnySummary, at: int) -> AnySummary:
        """first_seen <= last_seen <= `at` (the trigger's time), on the switch clock."""
        self.assertLessEqual(rec.first_seen, rec.last_seen, f"first after last in {rec}")
        self.assertLessEqual(rec.last_seen, at, f"last SYN after its trigger ({at}) in {rec}")
        return rec

    # ---- counters

    def read_counter(self, name: str, index: int) -> tuple[int, int]:
        """(packets, bytes) of indexed counter `name` at `index`."""
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        ce = req.entities.add().counter_entry
        ce.counter_id = self.p4info.id("counters", name)
        ce.index.index = index
        got = [e for r in self.stub.Read(req, timeout=10) for e in r.entities]
        self.assertEqual(len(got), 1, f"reading {name}[{index}] returned {len(got)} entries")
        data = got[0].counter_entry.data
        return int(data.packet_count), int(data.byte_count)

    def outcomes(self) -> list[int]:
        """The eight outcome counters (packets), in syn_offload.p4's index order."""
        return [self.read_counter(OUTCOMES, i)[0] for i in range(N_OUTCOMES)]

    def deltas(self) -> list[int]:
        """Outcome counters minus their values when the stage was enabled."""
        return [a - b for a, b in zip(self.outcomes(), self.before, strict=True)]

    def wait_outcome(self, index: int, value: int, timeout: float = 20.0) -> None:
        """Poll outcomes[index] until it reaches `value` (packets still in the switch)."""
        deadline = time.monotonic() + timeout
        got = self.read_counter(OUTCOMES, index)[0]
        while got < value and time.monotonic() < deadline:
            time.sleep(0.05)
            got = self.read_counter(OUTCOMES, index)[0]
        self.assertGreaterEqual(got, value, f"outcomes[{index}] stuck at {got} after {timeout}s")

    def assert_deltas(self, want: Sequence[int]) -> None:
        """Outcome counter deltas since enable() equal `want` exactly."""
        self.assertEqual(self.deltas(), list(want), "outcomes[0..7] deltas")
