"""SYN offload over veths: a held SYN is regenerated just before the responder's packet."""

from __future__ import annotations

import time

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from syn_helpers import (
    RETRANSMITTED,
    STORED,
    Conn,
    SynOffloadTest,
    not_offloaded,
)

from feedback_header.records import NotOffloadedReason, SynSummary, SynSummaryReason

SLOTS = 16
TIMEOUT_US = 10_000_000  # far longer than any of these tests: nothing expires
BEFORE_RESPONSE = SynSummaryReason.REGENERATED_BEFORE_RESPONSE


class ReplyTest(SynOffloadTest):
    """Holds one SYN and checks that the stage swallowed it."""

    def hold(self, conn: Conn, stored: int = 1) -> None:
        """Send `conn`'s SYN; once the switch has stored it, nothing has left."""
        self.send(conn.syn())
        self.wait_outcome(STORED, self.before[STORED] + stored)
        testutils.verify_no_other_packets(self)


@skip_unless_root
class SynThenSynAckTest(ReplyTest):
    """SYN held; the SYN-ACK makes the switch send the regenerated SYN, then the SYN-ACK;
    the record is freed, so the rest of the connection flows untouched."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        c = Conn("10.0.1.1", "192.0.2.80", 40000, 80, isn=0xDEADBEEF)
        self.hold(c)

        self.send(c.reply("SA"))
        # The responder triggered it: its Ethernet addresses swapped back (MAC_A -> MAC_B).
        self.expect(c.regenerated(BEFORE_RESPONSE))
        self.expect(c.reply("SA"))
        testutils.verify_no_other_packets(self)

        ack = Conn(c.dst, c.src, c.dport, c.sport).reply("A", seq=c.isn + 1)
        self.send(ack)
        self.expect(ack)
        testutils.verify_no_other_packets(self)
        self.assert_deltas([1, 1, 0, 0, 1, 0, 0, 0])


@skip_unless_root
class SynThenRstTest(ReplyTest):
    """SYN held; the responder's RST makes the switch send the regenerated SYN first."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        c = Conn("10.0.2.1", "192.0.2.81", 40001, 443, isn=5)
        self.hold(c)

        self.send(c.reply("R", seq=0))
        self.expect(c.regenerated(BEFORE_RESPONSE))
        self.expect(c.reply("R", seq=0))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([1, 1, 0, 0, 1, 0, 0, 0])


@skip_unless_root
class RetransmittedSynsTest(ReplyTest):
    """Three SYNs of one attempt: one record, syn_count 3, last seen after first seen."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        c = Conn("10.0.3.1", "192.0.2.82", 40002, 22, isn=123456)
        gap_s = 0.05
        self.hold(c)
        for n in (1, 2):
            time.sleep(gap_s)
            self.send(c.syn())
            self.wait_outcome(RETRANSMITTED, self.before[RETRANSMITTED] + n)
        testutils.verify_no_other_packets(self)

        self.send(c.reply("RA", seq=0))
        d = self.expect(c.regenerated(BEFORE_RESPONSE, count=3))
        self.expect(c.reply("RA", seq=0))
        testutils.verify_no_other_packets(self)
        assert d is not None
        rec = d.records[0]
        assert isinstance(rec, SynSummary)
        # The third SYN was sent after the switch had counted the first, plus two gaps.
        self.assertGreaterEqual(rec.last_seen - rec.first_seen, int(2 * gap_s * 1_000_000))
        self.assert_deltas([3, 1, 2, 0, 1, 0, 0, 0])


@skip_unless_root
class SimultaneousOpenTest(ReplyTest):
    """The responder answers the held SYN with its own SYN: the held SYN is regenerated,
    then the responder's SYN passes marked NOT_OFFLOADED SIMULTANEOUS_OPEN."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        c = Conn("10.0.4.1", "192.0.2.83", 40003, 5000, isn=77)
        self.hold(c)

        their_syn = c.reply("S", seq=9)
        self.send(their_syn)
        self.expect(c.regenerated(BEFORE_RESPONSE))
        self.expect(not_offloaded(their_syn, NotOffloadedReason.SIMULTANEOUS_OPEN))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([2, 1, 0, 1, 1, 0, 0, 0])
