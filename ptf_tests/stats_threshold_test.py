"""Stats stage over veths: a packet threshold attaches exactly one THRESHOLD_ALERT."""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from stats_helpers import ADDR_ALL, ALERT, GroupKey, StatsTest, ip, packet_alert


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
class PacketThresholdTest(StatsTest):
    """Port-22 packets grouped by source; the 2nd packet of the group carries the alert."""

    @autocleanup
    def runTest(self) -> None:
        slot = 0
        self.add_monitor(0, 1)
        rule = self.add_rule(
            slot,
            {"dst_port": (22, 22)},
            rule_id=7,
            src_mask=ADDR_ALL,
            packet_threshold=2,
        )
        key = GroupKey(rule_id=7, src_addr=ip("10.1.2.3"))
        self.assert_unused(slot, key)
        before = self.outcomes(slot)
        first, second, third = ssh_syn(40001), ssh_syn(40002), ssh_syn(40003)

        self.send_expect(first)
        self.send_expect(second, [packet_alert(slot, key, value=2, threshold=2)])
        # Once per crossing: the third packet is over the threshold but carries nothing.
        self.send_expect(third)
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (3, 300))
        self.assertEqual(self.group_totals(slot, key), (3, 300))
        self.assertEqual(self.outcome_deltas(slot, before)[ALERT], 1, "one alert per crossing")
