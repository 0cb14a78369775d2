"""SYN offload over veths: SYNs the stage cannot hold pass through marked NOT_OFFLOADED."""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from scapy.layers.inet import IP, TCP, IPOption_RR
from scapy.layers.l2 import Ether
from syn_helpers import MAC_A, MAC_B, STORED, Conn, SynOffloadTest, colliding, not_offloaded

from feedback_header.records import NotOffloadedReason, SynSummaryReason

SLOTS = 16
TIMEOUT_US = 10_000_000  # nothing expires during these tests


@skip_unless_root
class SlotBusyTest(SynOffloadTest):
    """A SYN whose slot holds another live connection passes through, NOT_OFFLOADED
    SLOT_BUSY with the slot as detail; the held SYN stays held until its SYN-ACK."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        c = Conn("10.0.8.1", "192.0.2.87", 40007, 80, isn=3)
        other = colliding(c, 1, SLOTS)[0]
        self.send(c.syn())
        self.wait_outcome(STORED, self.before[STORED] + 1)
        testutils.verify_no_other_packets(self)

        self.send(other.syn())
        self.expect(not_offloaded(other.syn(), NotOffloadedReason.SLOT_BUSY, c.slot(SLOTS)))
        testutils.verify_no_other_packets(self)

        self.send(c.reply("SA"))
        self.expect(c.regenerated(SynSummaryReason.REGENERATED_BEFORE_RESPONSE))
        self.expect(c.reply("SA"))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([2, 1, 0, 1, 1, 0, 0, 0])


@skip_unless_root
class FastOpenSynTest(SynOffloadTest):
    """A SYN carrying data (TCP Fast Open) passes through, NOT_OFFLOADED SYN_WITH_PAYLOAD,
    payload and options intact."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        tfo = Conn("10.0.9.1", "192.0.2.88", 40008, 80).syn(payload=b"GET / HTTP/1.1\r\n\r\n")
        self.send(tfo)
        self.expect(not_offloaded(tfo, NotOffloadedReason.SYN_WITH_PAYLOAD))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([1, 0, 0, 1, 0, 0, 0, 0])


@skip_unless_root
class IpOptionsAndFragmentSynTest(SynOffloadTest):
    """SYNs with IPv4 options or the more-fragments flag pass through, NOT_OFFLOADED
    IP_OPTIONS / IP_FRAGMENT, unchanged otherwise."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(SLOTS, TIMEOUT_US)
        with_options = bytes(
            Ether(src=MAC_A, dst=MAC_B)
            / IP(src="10.0.10.1", dst="192.0.2.89", options=[IPOption_RR(routers=["1.2.3.4"])])
            / TCP(sport=40009, dport=80, flags="S", seq=1)
        )
        fragment = bytes(
            Ether(src=MAC_A, dst=MAC_B)
            / IP(src="10.0.10.2", dst="192.0.2.89", flags="MF")
            / TCP(sport=40010, dport=80, flags="S", seq=2)
        )
        self.send(with_options)
        self.expect(not_offloaded(with_options, NotOffloadedReason.IP_OPTIONS))
        self.send(fragment)
        self.expect(not_offloaded(fragment, NotOffloadedReason.IP_FRAGMENT))
        testutils.verify_no_other_packets(self)
        self.assert_deltas([2, 0, 0, 2, 0, 0, 0, 0])
