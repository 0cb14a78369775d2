"""SYN offload over veths with IPv6 (docs/syn-offload.md, "IPv6"): IPv6 SYNs are held
in the 48-byte IPv6 table, regenerated before the reply (IPv6 header rebuilt, valid TCP
checksum over the IPv6 pseudo-header), summarised in SYN_SUMMARY6 and expired as IPv4
ones; SYNs the record cannot keep pass with NOT_OFFLOADED; the two families' tables
do not share slots. Addresses 2001:db8:20::/48."""

from __future__ import annotations

import time

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from scapy.layers.inet6 import IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from syn_helpers import (
    MAC_SWEEP_DST,
    MAC_SWEEP_SRC,
    SEEN,
    STORED,
    SWEEPS,
    Conn,
    Conn6,
    SynOffloadTest,
    not_offloaded,
)

from feedback_header.records import NotOffloadedReason, SynSummaryReason

SLOTS = 16
LONG_US = 10_000_000
BEFORE_RESPONSE = SynSummaryReason.REGENERATED_BEFORE_RESPONSE
BY_SWEEP = SynSummaryReason.EXPIRED_BY_SWEEP
BY_TRAFFIC = SynSummaryReason.EXPIRED_BY_TRAFFIC


class Ipv6SynTest(SynOffloadTest):
    """Helpers: hold a SYN, sweep and wait."""

    def hold(self, conn: Conn, stored: int) -> None:
        """Send `conn`'s SYN; once the switch has stored it, nothing has left."""
        self.send(conn.syn())
        self.wait_outcome(STORED, self.before[STORED] + stored)
        testutils.verify_no_other_packets(self)

    def sweep_and_wait(self, index: int) -> None:
        """One sweep packet; returns once the switch has processed it."""
        done = self.outcomes()[SWEEPS] + 1
        self.sweep(index)
        self.wait_outcome(SWEEPS, done)


@skip_unless_root
class Ipv6SynThenSynAckTest(Ipv6SynTest):
    """An IPv6 SYN (flow label, traffic class, options) is held; the SYN-ACK makes the
    switch send the regenerated SYN first, then the SYN-ACK itself, untouched."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, LONG_US)
        c = Conn6("2001:db8:20:1::1", "2001:db8:20:ff::80", 41000, 80, isn=0xCAFEF00D)
        self.hold(c, 1)
        self.send(c.reply("SA"))
        self.expect(c.regenerated(BEFORE_RESPONSE))
        self.expect(c.reply("SA"))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([1, 1, 0, 0, 1, 0, 0, 0])


@skip_unless_root
class Ipv6RetransmissionsAndExpiryTest(Ipv6SynTest):
    """Two SYNs of one IPv6 attempt make one record; after the timeout a sweep of its
    slot emits it (syn_count 2, the sweep packet's Ethernet addresses); a second attempt
    expires by traffic when another connection's SYN lands in its slot."""

    timeout_us = 500_000

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, self.timeout_us)
        c = Conn6("2001:db8:20:2::1", "2001:db8:20:ff::22", 41001, 22, isn=7)
        self.hold(c, 1)
        self.send(c.syn())
        self.wait_outcome(SEEN, self.before[SEEN] + 2)
        time.sleep(self.timeout_us / 1e6 + 0.1)
        self.sweep(c.slot(SLOTS))
        self.expect(c.regenerated(BY_SWEEP, 2, mac_src=MAC_SWEEP_SRC, mac_dst=MAC_SWEEP_DST))
        testutils.verify_no_other_packets(self)

        d = Conn6("2001:db8:20:3::1", "2001:db8:20:ff::22", 41002, 22, isn=8)
        other = next(
            Conn6(d.src, d.dst, p, d.dport, isn=9)
            for p in range(d.sport + 1, 65536)
            if Conn6(d.src, d.dst, p, d.dport).slot(SLOTS) == d.slot(SLOTS)
        )
        self.hold(d, 2)
        time.sleep(self.timeout_us / 1e6 + 0.1)
        self.send(other.syn())
        self.expect(d.regenerated(BY_TRAFFIC))
        self.wait_outcome(STORED, self.before[STORED] + 3)
        testutils.verify_no_other_packets(self)
        # seen, stored, retransmitted, passed, before reply, by traffic, by sweep, sweeps
        self.assert_deltas([4, 3, 1, 0, 0, 1, 1, 1])


@skip_unless_root
class Ipv6SynsNotHeldTest(Ipv6SynTest):
    """SYNs the record cannot reproduce pass with NOT_OFFLOADED: behind a hop-by-hop
    header (IP_OPTIONS: the record keeps no extension headers), a first fragment
    (IP_FRAGMENT), with payload (SYN_WITH_PAYLOAD); a chain longer than the parser
    walks is marked IPV6_HEADER_CHAIN (it might be a SYN) and is not counted as one."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, LONG_US)
        c = Conn6("2001:db8:20:4::1", "2001:db8:20:ff::80", 41003, 80)
        cases = [
            (c.syn(ext=[IPv6ExtHdrHopByHop()]), NotOffloadedReason.IP_OPTIONS),
            (c.syn(ext=[IPv6ExtHdrFragment(m=1, id=1)]), NotOffloadedReason.IP_FRAGMENT),
            (c.syn(payload=b"fast open"), NotOffloadedReason.SYN_WITH_PAYLOAD),
            (
                c.syn(ext=[IPv6ExtHdrDestOpt() for _ in range(5)]),
                NotOffloadedReason.IPV6_HEADER_CHAIN,
            ),
        ]
        for frame, reason in cases:
            self.send(frame)
            self.expect(not_offloaded(frame, reason))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([3, 0, 0, 3, 0, 0, 0, 0])


@skip_unless_root
class Ipv6FloodAccountingTest(Ipv6SynTest):
    """A burst of IPv6 SYNs into 16 slots: the first SYN into a free slot is held, every
    later one into a taken slot passes as SLOT_BUSY with that slot; an IPv4 SYN in an
    IPv6 record's slot number is held too (the tables are apart). After the timeout one
    sweep pass emits every record, IPv4 before IPv6 at a shared slot number, and the
    counters add up: seen = stored + passed, stored = regenerated."""

    timeout_us = 500_000

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, self.timeout_us)
        conns = [
            Conn6("2001:db8:20:5::1", "2001:db8:20:ff::443", 42000 + i, 443, isn=100 + i)
            for i in range(40)
        ]
        held: dict[int, Conn] = {}
        for c in conns:
            slot = c.slot(SLOTS)
            self.send(c.syn())
            if slot in held:
                self.expect(not_offloaded(c.syn(), NotOffloadedReason.SLOT_BUSY, detail=slot))
            else:
                held[slot] = c
        self.wait_outcome(SEEN, self.before[SEEN] + len(conns))
        testutils.verify_no_other_packets(self)

        shared = min(held)
        v4 = next(
            Conn("10.0.20.1", "192.0.2.120", p, 443, isn=5)
            for p in range(40000, 65536)
            if Conn("10.0.20.1", "192.0.2.120", p, 443).slot(SLOTS) == shared
        )
        self.send(v4.syn())
        self.wait_outcome(STORED, self.before[STORED] + len(held) + 1)
        testutils.verify_no_other_packets(self)

        time.sleep(self.timeout_us / 1e6 + 0.1)
        sweep_macs = {"mac_src": MAC_SWEEP_SRC, "mac_dst": MAC_SWEEP_DST}
        for slot in range(SLOTS):
            if slot == shared:
                self.sweep(slot)
                self.expect(v4.regenerated(BY_SWEEP, **sweep_macs))
            if slot in held:
                self.sweep(slot)
                self.expect(held[slot].regenerated(BY_SWEEP, **sweep_macs))
        testutils.verify_no_other_packets(self)
        n = len(held) + 1
        passed = len(conns) - len(held)
        self.assert_deltas([len(conns) + 1, n, 0, passed, 0, 0, n, n])
