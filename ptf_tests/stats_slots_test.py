"""Stats stage over veths: one packet counted by a rule in every slot; priority within a slot.

Rule ids 501-504 and 511-512, sources 10.5.0.0/16.
"""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from stats_helpers import (
    ADDR_ALL,
    FULL16,
    FULL32,
    GroupKey,
    StatsTest,
    ip,
    packet_alert,
    udp,
)

PAYLOAD = bytes(58)  # 100-byte frames


@skip_unless_root
class FourSlotsTest(StatsTest):
    """Rules in slots 0..3 all match one UDP packet, each grouping by another field
    (source, destination, destination port, protocol) with packet threshold 1: the packet
    carries four THRESHOLD_ALERTs in slot order, each with its slot's masked key; each
    rule_hits reads 1 packet. A second packet of the same groups carries nothing."""

    @autocleanup
    def runTest(self) -> None:
        self.add_monitor()
        src, dst, dport = "10.5.0.1", "192.0.2.5", 5500
        rules = [
            self.add_rule(
                0, {"src_addr": (ip("10.5.0.0"), 0xFFFF0000)}, 501, src_mask=ADDR_ALL,
                packet_threshold=1,
            ),
            self.add_rule(
                1, {"dst_addr": (ip(dst), FULL32)}, 502, dst_mask=ADDR_ALL, packet_threshold=1
            ),
            self.add_rule(
                2, {"dst_port": (5500, 5509)}, 503, dport_mask=FULL16, packet_threshold=1
            ),
            self.add_rule(
                3, {"protocol": (17, 0xFF), "src_addr": (ip(src), FULL32)}, 504,
                proto_mask=0xFF, packet_threshold=1,
            ),
        ]  # fmt: skip
        keys = [
            GroupKey(rule_id=501, src_addr=ip(src)),
            GroupKey(rule_id=502, dst_addr=ip(dst)),
            GroupKey(rule_id=503, dst_port=dport),
            GroupKey(rule_id=504, protocol=17),
        ]
        for slot, key in enumerate(keys):
            self.assert_unused(slot, key)
        before = [self.outcomes(slot) for slot in range(4)]

        first = udp(src, dst, 40500, dport, PAYLOAD)
        alerts = [packet_alert(slot, key, value=1, threshold=1) for slot, key in enumerate(keys)]
        self.send_expect(first, alerts)
        for slot, rule in enumerate(rules):
            self.assertEqual(self.rule_hits(rule), (1, 100), f"rule_hits of slot {slot}")

        self.send_expect(udp(src, dst, 40501, dport, PAYLOAD))
        testutils.verify_no_other_packets(self)

        for slot, (rule, key) in enumerate(zip(rules, keys, strict=True)):
            self.assertEqual(self.rule_hits(rule), (2, 200), f"rule_hits of slot {slot}")
            self.assertEqual(self.group_totals(slot, key), (2, 200), f"group of slot {slot}")
            self.assertEqual(
                self.outcome_deltas(slot, before[slot]), [2, 0, 0, 1], f"outcomes of slot {slot}"
            )


@skip_unless_root
class SlotPriorityTest(StatsTest):
    """Two rules of slot 0 match a UDP packet to port 5511: only the higher-priority one
    (511, grouped by source) counts it; the lower one (512, every UDP packet of 10.5.1.1)
    counts only what the first does not match (port 5512)."""

    @autocleanup
    def runTest(self) -> None:
        slot = 0
        src = "10.5.1.1"
        self.add_monitor()
        high = self.add_rule(
            slot,
            {"src_addr": (ip(src), FULL32), "dst_port": (5511, 5511)},
            511,
            priority=20,
            src_mask=ADDR_ALL,
            packet_threshold=1,
        )
        low = self.add_rule(
            slot,
            {"src_addr": (ip(src), FULL32), "protocol": (17, 0xFF)},
            512,
            priority=10,
            packet_threshold=1,
        )
        high_key = GroupKey(rule_id=511, src_addr=ip(src))
        low_key = GroupKey(rule_id=512)
        self.assert_unused(slot, high_key, low_key)

        to_5511 = udp(src, "192.0.2.5", 40511, 5511, PAYLOAD)
        to_5512 = udp(src, "192.0.2.5", 40512, 5512, PAYLOAD)
        self.send_expect(to_5511, [packet_alert(slot, high_key, value=1, threshold=1)])
        self.send_expect(to_5512, [packet_alert(slot, low_key, value=1, threshold=1)])
        self.send_expect(to_5511)
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(high), (2, 200))
        self.assertEqual(self.rule_hits(low), (1, 100))
        self.assertEqual(self.group_totals(slot, high_key), (2, 200))
        self.assertEqual(self.group_totals(slot, low_key), (1, 100))
