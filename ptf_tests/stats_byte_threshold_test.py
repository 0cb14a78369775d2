"""Stats stage over veths: byte thresholds fire exactly once, on the crossing packet.

Rule ids 201-202, sources 10.2.0.0/16 (each test keeps to its own, as group state
outlives a test).
"""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from stats_helpers import (
    ADDR_ALL,
    ALERT,
    COUNTED,
    GroupKey,
    StatsTest,
    byte_alert,
    ip,
    packet_alert,
    udp,
)

PAYLOAD = bytes(58)  # 14 + 20 + 8 + 58 = 100-byte frames


@skip_unless_root
class ByteThresholdTest(StatsTest):
    """100-byte packets against a 250-byte threshold: the 3rd packet (300 bytes) carries
    one THRESHOLD_ALERT (kind BYTES, value 300), the 1st, 2nd, 4th and 5th carry nothing."""

    @autocleanup
    def runTest(self) -> None:
        slot = 0
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"dst_port": (5201, 5201)},
            rule_id=201,
            src_mask=ADDR_ALL,
            byte_threshold=250,
        )
        key = GroupKey(rule_id=201, src_addr=ip("10.2.0.1"))
        self.assert_unused(slot, key)
        before = self.outcomes(slot)
        frames = [udp("10.2.0.1", "192.0.2.1", 40000 + i, 5201, PAYLOAD) for i in range(5)]
        self.assertEqual({len(f) for f in frames}, {100})

        self.send_expect(frames[0])
        self.send_expect(frames[1])
        self.send_expect(frames[2], [byte_alert(slot, key, value=300, threshold=250)])
        # Over the threshold but not crossing it: once per crossing, nothing more.
        self.send_expect(frames[3])
        self.send_expect(frames[4])
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (5, 500))
        self.assertEqual(self.group_totals(slot, key), (5, 500))
        deltas = self.outcome_deltas(slot, before)
        self.assertEqual(deltas[COUNTED], 5)
        self.assertEqual(deltas[ALERT], 1, "exactly one packet carried an alert")
        self.assertEqual(deltas, [5, 0, 0, 1])


@skip_unless_root
class BothThresholdsTest(StatsTest):
    """Packet threshold 3 and byte threshold 300 crossed by the same (3rd) packet: it
    carries both alerts, packets first; a packet threshold crossed alone (2nd group,
    bigger packets crossing bytes first) fires each alert on its own crossing packet."""

    @autocleanup
    def runTest(self) -> None:
        slot = 1
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"dst_port": (5202, 5202)},
            rule_id=202,
            src_mask=ADDR_ALL,
            packet_threshold=3,
            byte_threshold=300,
        )
        small = GroupKey(rule_id=202, src_addr=ip("10.2.1.1"))
        big = GroupKey(rule_id=202, src_addr=ip("10.2.1.2"))
        self.assert_unused(slot, small, big)
        before = self.outcomes(slot)

        def small_frame(i: int) -> bytes:
            return udp("10.2.1.1", "192.0.2.2", 41000 + i, 5202, PAYLOAD)

        self.send_expect(small_frame(0))
        self.send_expect(small_frame(1))
        self.send_expect(
            small_frame(2),
            [
                packet_alert(slot, small, value=3, threshold=3),
                byte_alert(slot, small, value=300, threshold=300),
            ],
        )
        self.send_expect(small_frame(3))

        # 200-byte frames: bytes cross on the 2nd packet, packets on the 3rd.
        big_payload = bytes(158)
        frames = [udp("10.2.1.2", "192.0.2.2", 42000 + i, 5202, big_payload) for i in range(4)]
        self.send_expect(frames[0])
        self.send_expect(frames[1], [byte_alert(slot, big, value=400, threshold=300)])
        self.send_expect(frames[2], [packet_alert(slot, big, value=3, threshold=3)])
        self.send_expect(frames[3])
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (8, 1200))
        self.assertEqual(self.group_totals(slot, small), (4, 400))
        self.assertEqual(self.group_totals(slot, big), (4, 800))
        # outcomes[3] counts packets carrying alerts, not alerts.
        self.assertEqual(self.outcome_deltas(slot, before), [8, 0, 0, 3])
