"""SYN offload over veths: the TCP flags a record keeps (docs/syn-offload.md). An ECN-setup
SYN (CWR+ECE, 0xC2) and an AccECN SYN (AE+CWR+ECE) come out regenerated with their flags;
a SYN with URG or PSH is passed through marked TCP_FLAGS."""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from syn_helpers import STORED, Conn, SynOffloadTest, not_offloaded

from feedback_header.records import NotOffloadedReason, SynSummaryReason

SLOTS = 16
TIMEOUT_US = 10_000_000
BEFORE_RESPONSE = SynSummaryReason.REGENERATED_BEFORE_RESPONSE


@skip_unless_root
class EcnSynKeepsItsFlagsTest(SynOffloadTest):
    """0xC2 and 0x1C2 SYNs held, then regenerated before the SYN-ACK with the same flags."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        for n, flags in enumerate((0xC2, 0x1C2), start=1):
            c = Conn("10.0.3.1", "192.0.2.80", 40000 + n, 80, isn=0x1000 + n)
            self.send(c.syn(flags=flags))
            self.wait_outcome(STORED, self.before[STORED] + n)
            testutils.verify_no_other_packets(self)
            self.send(c.reply("SA"))
            self.expect(c.regenerated(BEFORE_RESPONSE, tcp_flags=flags))
            self.expect(c.reply("SA"))
            testutils.verify_no_other_packets(self)
        self.assert_deltas([2, 2, 0, 0, 2, 0, 0, 0])


@skip_unless_root
class SynWithUrgOrPshPassesTest(SynOffloadTest):
    """Flags the record cannot keep: the SYN goes to the monitor as it is, marked."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        for n, flags in enumerate(("SU", "SP"), start=1):
            syn = Conn("10.0.3.2", "192.0.2.80", 41000 + n, 80).syn(flags=flags)
            self.send(syn)
            self.expect(not_offloaded(syn, NotOffloadedReason.TCP_FLAGS))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([2, 0, 0, 2, 0, 0, 0, 0])
