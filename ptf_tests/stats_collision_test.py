"""Stats stage over veths: two groups whose keys hash to one register index.

The colliding source address is found in Python from stats.p4's index function (crc32 of
the packed key modulo 4096, `GroupKey.index`); the COLLISION record's hash_index and the
group_totals counter read at that index confirm the switch computes the same.
Rule ids 401-402, sources 10.4.0.0/16, slot 3.
"""

from __future__ import annotations

import ipaddress
import time

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from stats_helpers import (
    ADDR_ALL,
    GroupKey,
    StatsTest,
    collision,
    counter_report,
    ip,
    packet_alert,
    udp,
)

SLOT = 3
PAYLOAD = bytes(58)  # 100-byte frames


def colliding_source(key: GroupKey, network: str) -> str:
    """The first address in `network` (not key's own) whose group, keyed like `key` by
    source only, lands on key's index."""
    want = key.index()
    for addr in ipaddress.IPv4Network(network).hosts():
        other = GroupKey(rule_id=key.rule_id, src_addr=int(addr))
        if int(addr) != key.src_addr and other.index() == want:
            return str(addr)
    raise AssertionError(f"no address in {network} collides with {key}")


@skip_unless_root
class CollisionTest(StatsTest):
    """Group A (10.4.0.1) takes the index; packets of colliding group B carry a COLLISION
    record (key B, that index) and are not merged: A's 2nd packet still brings A's count
    to exactly 2 (packet threshold 2), group_totals at the index holds only A's packets,
    outcomes[1] counts B's packets."""

    @autocleanup
    def runTest(self) -> None:
        self.add_monitor()
        rule = self.add_rule(
            SLOT,
            {"dst_port": (4401, 4401), "protocol": (17, 0xFF)},
            rule_id=401,
            src_mask=ADDR_ALL,
            packet_threshold=2,
        )
        a = GroupKey(rule_id=401, src_addr=ip("10.4.0.1"))
        b_src = colliding_source(a, "10.4.128.0/17")
        b = GroupKey(rule_id=401, src_addr=ip(b_src))
        self.assertEqual(a.index(), b.index())
        self.assert_unused(SLOT, a)
        before = self.outcomes(SLOT)

        def frame(src: str, n: int) -> bytes:
            return udp(src, "192.0.2.4", 40000 + n, 4401, PAYLOAD)

        self.send_expect(frame("10.4.0.1", 1))
        self.send_expect(frame(b_src, 1), [collision(SLOT, b)])
        self.send_expect(frame(b_src, 2), [collision(SLOT, b)])
        # Had B's packets been merged into A's group, this would be the 4th packet.
        self.send_expect(frame("10.4.0.1", 2), [packet_alert(SLOT, a, value=2, threshold=2)])
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (4, 400))
        self.assertEqual(self.group_totals(SLOT, a), (2, 200), "only A is counted at the index")
        self.assertEqual(self.outcome_deltas(SLOT, before), [2, 2, 0, 1])


@skip_unless_root
class CollisionEvictionTest(StatsTest):
    """With an interval (300 ms), group A idle for two intervals is taken over by the
    colliding group B: B's packet carries COUNTER_REPORT(EVICTED) with A's key and
    figures and starts B's group; afterwards A's packets are the collisions."""

    @autocleanup
    def runTest(self) -> None:
        interval_us = 300_000
        self.add_monitor()
        rule = self.add_rule(
            SLOT,
            {"dst_port": (4402, 4402)},
            rule_id=402,
            src_mask=ADDR_ALL,
            interval_us=interval_us,
        )
        a = GroupKey(rule_id=402, src_addr=ip("10.4.1.1"))
        b_src = colliding_source(a, "10.4.128.0/17")
        b = GroupKey(rule_id=402, src_addr=ip(b_src))
        self.assert_unused(SLOT, a)
        before = self.outcomes(SLOT)

        def frame(src: str, n: int) -> bytes:
            return udp(src, "192.0.2.4", 40000 + n, 4402, PAYLOAD)

        self.send_expect(frame("10.4.1.1", 1))
        self.send_expect(frame(b_src, 1), [collision(SLOT, b)])
        time.sleep(2 * interval_us / 1e6 + 0.2)
        evicted = counter_report(SLOT, a, packets=1, nbytes=100, reason=2)
        self.send_expect(frame(b_src, 2), [evicted])
        self.send_expect(frame(b_src, 3))
        self.send_expect(frame("10.4.1.1", 2), [collision(SLOT, a)])
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (5, 500))
        # The index counted A's first packet, then B's two.
        self.assertEqual(self.group_totals(SLOT, a), (3, 300))
        self.assertEqual(self.outcome_deltas(SLOT, before), [3, 2, 1, 0])
