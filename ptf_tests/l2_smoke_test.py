"""Smoke tests of p4src/main.p4 over veths: the tap forwards to the monitor port.

The `monitor_ports` table maps an ingress port to the port the monitor sits on;
a port with no entry drops its traffic.
"""

from __future__ import annotations

from base_test import P4RuntimeTest, autocleanup, skip_unless_root
from ptf import testutils

from controlplane import pipeline_spec as ps

MONITOR_PORTS = ps.MONITOR_TABLE
SEND_TO_MONITOR = ps.SEND_TO_MONITOR


def udp_frame() -> bytes:
    pkt = testutils.simple_udp_packet(
        eth_dst="00:00:00:00:00:0b",
        eth_src="00:00:00:00:00:01",
        ip_src="10.0.0.1",
        ip_dst="10.0.0.2",
    )
    return bytes(pkt)


@skip_unless_root
class MonitorPortTest(P4RuntimeTest):
    """Traffic into port 0 leaves unchanged on the monitor port 1; port 1 has no entry."""

    @autocleanup
    def runTest(self) -> None:
        self.insert_table_entry(
            MONITOR_PORTS, {ps.MONITOR_KEY: 0}, SEND_TO_MONITOR, {ps.SEND_TO_MONITOR_PORT: 1}
        )
        frame = udp_frame()
        testutils.send_packet(self, 0, frame)
        testutils.verify_packet(self, frame, 1)
        testutils.send_packet(self, 1, frame)
        testutils.verify_no_other_packets(self)
        entries = self.read_table_entries(MONITOR_PORTS)
        self.assertEqual(len(entries), 1)
