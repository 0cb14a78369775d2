"""Smoke tests: the switch forwards frames between its veths (p4src/main.p4 or l2fwd.p4).

Both programs have a `dmac` table (exact on dst_addr) whose miss sends a frame to the peer
port (0 <-> 1) and whose `set_egress_port` action sends it to a given port.
"""

from __future__ import annotations

from base_test import P4RuntimeTest, autocleanup, skip_unless_root
from ptf import testutils

UNKNOWN_MAC = "00:00:00:00:00:0b"
KNOWN_MAC = "00:00:00:00:00:0a"


def _udp_frame(eth_dst: str) -> bytes:
    pkt = testutils.simple_udp_packet(
        eth_dst=eth_dst, eth_src="00:00:00:00:00:01", ip_src="10.0.0.1", ip_dst="10.0.0.2"
    )
    return bytes(pkt)


@skip_unless_root
class ForwardToPeerTest(P4RuntimeTest):
    """A frame with an unknown destination goes to the other port of the pair, unchanged."""

    def runTest(self) -> None:
        frame = _udp_frame(UNKNOWN_MAC)
        testutils.send_packet(self, 0, frame)
        testutils.verify_packet(self, frame, 1)
        testutils.send_packet(self, 1, frame)
        testutils.verify_packet(self, frame, 0)
        testutils.verify_no_other_packets(self)


@skip_unless_root
class DmacEntryTest(P4RuntimeTest):
    """A dmac entry overrides the default: the frame goes back out of port 0."""

    @autocleanup
    def runTest(self) -> None:
        self.insert_table_entry("dmac", {"dst_addr": KNOWN_MAC}, "set_egress_port", {"port": 0})
        frame = _udp_frame(KNOWN_MAC)
        testutils.send_packet(self, 0, frame)
        testutils.verify_packet(self, frame, 0)
        testutils.verify_no_other_packets(self)
        # The entry is the only one the test wrote; reading it back checks the server too.
        entries = self.read_table_entries("dmac")
        self.assertEqual(len(entries), 1)
        self.assertEqual(int.from_bytes(entries[0].match[0].exact.value, "big"), 0x0A)
