"""Stats stage over veths: interval reports and the per-interval restart of counting.

The tests sleep past a rule's interval (a packet after the interval triggers the report)
but assert no durations: only the records and the order of timestamps the switch wrote.
Rule ids 301-302, sources 10.3.0.0/16.
"""

from __future__ import annotations

import time

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from stats_helpers import (
    ADDR_ALL,
    GroupKey,
    StatsTest,
    counter_report,
    ip,
    packet_alert,
    tcp,
)

from feedback_header import codec
from feedback_header.records import CounterReport

INTERVAL_US = 400_000
PAST_INTERVAL_S = 0.5


@skip_unless_root
class IntervalReportTest(StatsTest):
    """Two intervals of one TCP group (grouped by source):

    interval 1: SYN (54 B, letter S), pure ACK (54 B, A);
    after the interval a data packet (154 B, D) carries COUNTER_REPORT(INTERVAL,
    packets 2, bytes 108, history "SA") and opens interval 2; a pure ACK (54 B) follows;
    after the interval another ACK carries COUNTER_REPORT(packets 2, bytes 208,
    history "SAD"): counts restarted, history (connection state) kept. Interval 2 starts
    at the timestamp of the packet that carried the first report.
    """

    @autocleanup
    def runTest(self) -> None:
        slot = 1
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"dst_port": (8301, 8301)},
            rule_id=301,
            src_mask=ADDR_ALL,
            interval_us=INTERVAL_US,
        )
        key = GroupKey(rule_id=301, src_addr=ip("10.3.0.1"))
        self.assert_unused(slot, key)
        before = self.outcomes(slot)

        def seg(flags: str, payload: bytes = b"") -> bytes:
            return tcp("10.3.0.1", "192.0.2.3", 40301, 8301, flags, payload)

        syn, ack, data = seg("S"), seg("A"), seg("PA", bytes(100))
        self.assertEqual((len(syn), len(ack), len(data)), (54, 54, 154))

        self.send_expect(syn)
        self.send_expect(ack)
        time.sleep(PAST_INTERVAL_S)
        got1 = self.send_expect(data, [counter_report(slot, key, 2, 108, "SA")])
        self.send_expect(ack)
        time.sleep(PAST_INTERVAL_S)
        got2 = self.send_expect(ack, [counter_report(slot, key, 2, 208, "SAD")])
        testutils.verify_no_other_packets(self)

        first, second = codec.decode(got1), codec.decode(got2)
        r1, r2 = first.records[0], second.records[0]
        assert isinstance(r1, CounterReport) and isinstance(r2, CounterReport)
        self.assertLessEqual(r1.interval_start, r1.interval_end)
        self.assertLess(r1.interval_end, first.header.timestamp)
        self.assertEqual(
            r2.interval_start,
            first.header.timestamp,
            "interval 2 starts with the packet that closed interval 1",
        )
        self.assertLessEqual(r2.interval_start, r2.interval_end)
        self.assertLess(r2.interval_end, second.header.timestamp)

        # group_totals is never reset by intervals; rule_hits counts every packet.
        self.assertEqual(self.rule_hits(rule), (5, 370))
        self.assertEqual(self.group_totals(slot, key), (5, 370))
        self.assertEqual(self.outcome_deltas(slot, before), [5, 0, 2, 0])


@skip_unless_root
class ThresholdPerIntervalTest(StatsTest):
    """A packet threshold of 2 with an interval: the alert fires once in interval 1 (2nd
    packet), not on the 3rd, and again once in interval 2, on the packet that brings the
    restarted count to 2; the packet opening interval 2 carries only the report."""

    @autocleanup
    def runTest(self) -> None:
        slot = 2
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"dst_port": (8302, 8302)},
            rule_id=302,
            src_mask=ADDR_ALL,
            interval_us=INTERVAL_US,
            packet_threshold=2,
        )
        key = GroupKey(rule_id=302, src_addr=ip("10.3.1.1"))
        self.assert_unused(slot, key)
        before = self.outcomes(slot)

        def seg(n: int) -> bytes:
            return tcp("10.3.1.1", "192.0.2.3", 40302, 8302, "A", seq=n)

        self.send_expect(seg(1))
        self.send_expect(seg(2), [packet_alert(slot, key, value=2, threshold=2)])
        self.send_expect(seg(3))
        time.sleep(PAST_INTERVAL_S)
        self.send_expect(seg(4), [counter_report(slot, key, 3, 3 * 54, "A")])
        self.send_expect(seg(5), [packet_alert(slot, key, value=2, threshold=2)])
        self.send_expect(seg(6))
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (6, 6 * 54))
        self.assertEqual(self.outcome_deltas(slot, before), [6, 0, 1, 2])
