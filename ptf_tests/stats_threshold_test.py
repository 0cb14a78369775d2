"""Stats stage over veths: a packet threshold attaches exactly one THRESHOLD_ALERT."""

from __future__ import annotations

from base_test import P4RuntimeTest, autocleanup, skip_unless_root
from ptf import testutils
from ptf.mask import Mask

from feedback_header import codec
from feedback_header.records import ThresholdAlert

MONITOR_PORTS = "NidsIngress.forward.monitor_ports"
SEND_TO_MONITOR = "NidsIngress.forward.send_to_monitor"
RULES = "NidsIngress.stats.slot0.rules"
COUNT_GROUP = "NidsIngress.stats.slot0.count_group"

ETH_BYTES = 14
FIXED_TIMESTAMP_OFFSET = ETH_BYTES + 8  # fixed part: version..reserved, then timestamp
ALERT_OFFSET = ETH_BYTES + 16
ALERT_INTERVAL_START_OFFSET = ALERT_OFFSET + 36


def ssh_syn(sport: int) -> bytes:
    pkt = testutils.simple_tcp_packet(
        eth_dst="00:00:00:00:00:0b",
        eth_src="00:00:00:00:00:01",
        ip_src="10.1.2.3",
        ip_dst="192.0.2.7",
        tcp_sport=sport,
        tcp_dport=22,
        tcp_flags="S",
    )
    return bytes(pkt)


@skip_unless_root
class PacketThresholdTest(P4RuntimeTest):
    """Port-22 packets grouped by source; the 2nd packet of the group carries the alert."""

    @autocleanup
    def runTest(self) -> None:
        self.insert_table_entry(MONITOR_PORTS, {"ingress_port": 0}, SEND_TO_MONITOR, {"port": 1})
        self.insert_table_entry(
            RULES,
            {"dst_port": (22, 22)},
            COUNT_GROUP,
            {
                "rule_id": 7,
                "port_mask": 0,
                "src_mask": 0xFFFFFFFF,
                "dst_mask": 0,
                "proto_mask": 0,
                "sport_mask": 0,
                "dport_mask": 0,
                "flags_mask": 0,
                "bidirectional": 0,
                "interval_us": 0,
                "packet_threshold": 2,
                "byte_threshold": 0,
            },
            priority=10,
        )
        first, second, third = ssh_syn(40001), ssh_syn(40002), ssh_syn(40003)

        testutils.send_packet(self, 0, first)
        testutils.verify_packet(self, first, 1)

        alert = ThresholdAlert(
            rule_slot=0,
            threshold_kind=1,
            key_ipv4_src=0x0A010203,
            value=2,
            threshold=2,
            interval_start=0,
            rule_id=7,
        )
        expected = codec.insert(second, [alert], device_id=1)
        mask = Mask(expected)
        mask.set_do_not_care(FIXED_TIMESTAMP_OFFSET * 8, 48)
        mask.set_do_not_care(ALERT_INTERVAL_START_OFFSET * 8, 48)
        testutils.send_packet(self, 0, second)
        testutils.verify_packet(self, mask, 1)

        # Once per crossing: the third packet is over the threshold but carries nothing.
        testutils.send_packet(self, 0, third)
        testutils.verify_packet(self, third, 1)
        testutils.verify_no_other_packets(self)
