"""SYN offload over veths: held SYNs that time out are emitted as regenerated SYNs,
found by a sweep packet or by other traffic using their slot."""

from __future__ import annotations

import time

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from syn_helpers import (
    MAC_A,
    MAC_B,
    MAC_SWEEP_DST,
    MAC_SWEEP_SRC,
    STORED,
    SWEEPS,
    Conn,
    SynOffloadTest,
    colliding,
)

from feedback_header.records import SynSummary, SynSummaryReason

SLOTS = 16
BEFORE_RESPONSE = SynSummaryReason.REGENERATED_BEFORE_RESPONSE
BY_SWEEP = SynSummaryReason.EXPIRED_BY_SWEEP
BY_TRAFFIC = SynSummaryReason.EXPIRED_BY_TRAFFIC


class ExpiryTest(SynOffloadTest):
    """Helpers for waiting out a record's timeout."""

    timeout_us = 500_000

    def hold(self, conn: Conn, stored: int) -> None:
        """Send `conn`'s SYN and wait until the switch has stored it (`stored` so far)."""
        self.send(conn.syn())
        self.wait_outcome(STORED, self.before[STORED] + stored)

    def outlive_timeout(self) -> None:
        """Sleep past the timeout of every record stored so far (their first SYN was
        counted before this is called, so its switch time is already in the past)."""
        time.sleep(self.timeout_us / 1_000_000 + 0.1)

    def sweep_and_wait(self, index: int) -> None:
        """One sweep packet; returns once the switch has processed it."""
        done = self.outcomes()[SWEEPS] + 1
        self.sweep(index)
        self.wait_outcome(SWEEPS, done)

    def summary_of(self, d: object) -> SynSummary:
        """The single SYN summary a regenerated frame carries."""
        self.assertIsNotNone(d)
        rec = d.records[0]  # type: ignore[attr-defined]
        assert isinstance(rec, SynSummary)
        return rec


@skip_unless_root
class ExpiryBySweepTest(ExpiryTest):
    """A sweep of the record's slot emits nothing before the timeout and the regenerated
    SYN (the sweep packet's Ethernet addresses) after it; a sweep of another slot finds
    nothing; the freed slot lets a late SYN-ACK pass alone."""

    timeout_us = 1_000_000  # room for the early sweep to be processed before it

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, self.timeout_us)
        c = Conn("10.0.5.1", "192.0.2.84", 40004, 80, isn=4242)
        slot = c.slot(SLOTS)
        sent_at = time.monotonic()
        self.hold(c, 1)
        self.sweep_and_wait(slot)
        early = time.monotonic() - sent_at
        self.assertLess(early, self.timeout_us / 1e6, "precondition: the early sweep was late")
        testutils.verify_no_other_packets(self)

        self.outlive_timeout()
        self.sweep_and_wait((slot + 1) % SLOTS)
        testutils.verify_no_other_packets(self)
        self.sweep(slot)
        d = self.expect(c.regenerated(BY_SWEEP, mac_src=MAC_SWEEP_SRC, mac_dst=MAC_SWEEP_DST))
        rec = self.summary_of(d)
        assert d is not None
        self.assertGreaterEqual(d.header.timestamp - rec.first_seen, self.timeout_us)
        testutils.verify_no_other_packets(self)

        self.send(c.reply("SA"))
        self.expect(c.reply("SA"))
        self.sweep_and_wait(slot)
        testutils.verify_no_other_packets(self)
        self.assert_deltas([1, 1, 0, 0, 0, 0, 1, 4])


@skip_unless_root
class ExpiryByTrafficTest(ExpiryTest):
    """After the timeout, another connection's SYN into the same slot emits the old SYN
    (EXPIRED_BY_TRAFFIC, the new SYN's Ethernet addresses) and is held in its place."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, self.timeout_us)
        c = Conn("10.0.6.1", "192.0.2.85", 40005, 80, isn=1)
        other = colliding(c, 1, SLOTS)[0]
        self.hold(c, 1)
        self.outlive_timeout()

        self.send(other.syn())
        d = self.expect(c.regenerated(BY_TRAFFIC, mac_src=MAC_A, mac_dst=MAC_B))
        rec = self.summary_of(d)
        assert d is not None
        self.assertGreaterEqual(d.header.timestamp - rec.first_seen, self.timeout_us)
        self.wait_outcome(STORED, self.before[STORED] + 2)
        testutils.verify_no_other_packets(self)

        self.send(other.reply("SA"))
        self.expect(other.regenerated(BEFORE_RESPONSE))
        self.expect(other.reply("SA"))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([2, 2, 0, 0, 1, 1, 0, 0])


@skip_unless_root
class LateRetransmissionTest(ExpiryTest):
    """A retransmission after the timeout is a new attempt: the old one is emitted
    (EXPIRED_BY_TRAFFIC, syn_count 1) and the new SYN held."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, self.timeout_us)
        c = Conn("10.0.7.1", "192.0.2.86", 40006, 25, isn=99)
        self.hold(c, 1)
        self.outlive_timeout()

        self.send(c.syn())
        first = self.summary_of(self.expect(c.regenerated(BY_TRAFFIC)))
        self.wait_outcome(STORED, self.before[STORED] + 2)
        testutils.verify_no_other_packets(self)

        self.send(c.reply("R", seq=0))
        second = self.summary_of(self.expect(c.regenerated(BEFORE_RESPONSE)))
        self.expect(c.reply("R", seq=0))
        testutils.verify_no_other_packets(self)
        self.assertGreaterEqual(second.first_seen - first.first_seen, self.timeout_us)
        self.assert_deltas([2, 2, 0, 0, 1, 1, 0, 0])
