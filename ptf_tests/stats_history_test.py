"""Stats stage over veths: Zeek connection-history letters in COUNTER_REPORT records.

Expected letters follow stats.p4: S = SYN without ACK, H = SYN+ACK, A = ACK only and no
payload, D = payload, F = FIN, R = RST; one packet's letters enter in the order S H F R A D;
each letter once, in order of first occurrence; lower case for the responder of a
bidirectional rule. Codes per feedback_header/spec.py HISTORY_CODES (`history_value`).
Rule ids 601-602, addresses 10.6.0.0/16 and 192.0.2.60-61.
"""

from __future__ import annotations

import time

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from stats_helpers import (
    ADDR_ALL,
    FULL16,
    GroupKey,
    StatsTest,
    counter_report,
    ip,
    tcp,
)

INTERVAL_US = 1_000_000  # the whole exchange fits in one interval
PAST_INTERVAL_S = 1.1

CLIENT, CLIENT_PORT = "192.0.2.60", 40600
SERVER, SERVER_PORT = "10.6.0.7", 80


@skip_unless_root
class BidirectionalHistoryTest(StatsTest):
    """A TCP connection seen from both sides (client into port 0, server into port 1)
    under one bidirectional 5-tuple rule: handshake, data both ways, FIN both ways. The
    report after the interval carries one group (canonical key: lower address first,
    here the server), 10 packets, and history "ShADadFf", as Zeek writes it.

    The client has the higher address, so the originator is the swapped endpoint of the
    canonical key; its letters must still be upper case."""

    @autocleanup
    def runTest(self) -> None:
        slot = 0
        self.add_monitor(0, 1)
        self.add_monitor(1, 0)
        rule = self.add_rule(
            slot,
            {"protocol": (6, 0xFF)},
            601,
            src_mask=ADDR_ALL,
            dst_mask=ADDR_ALL,
            proto_mask=0xFF,
            sport_mask=FULL16,
            dport_mask=FULL16,
            bidirectional=1,
            interval_us=INTERVAL_US,
        )
        key = GroupKey(
            rule_id=601,
            protocol=6,
            src_addr=ip(SERVER),
            dst_addr=ip(CLIENT),
            src_port=SERVER_PORT,
            dst_port=CLIENT_PORT,
        )
        self.assert_unused(slot, key)

        def c2s(flags: str, payload: bytes = b"") -> bytes:
            return tcp(CLIENT, SERVER, CLIENT_PORT, SERVER_PORT, flags, payload)

        def s2c(flags: str, payload: bytes = b"") -> bytes:
            return tcp(SERVER, CLIENT, SERVER_PORT, CLIENT_PORT, flags, payload)

        exchange = [
            (c2s("S"), 0),  # S
            (s2c("SA"), 1),  # h
            (c2s("A"), 0),  # A
            (c2s("PA", bytes(100)), 0),  # D
            (s2c("A"), 1),  # a
            (s2c("PA", bytes(200)), 1),  # d
            (c2s("A"), 0),  # (A again)
            (c2s("FA"), 0),  # F
            (s2c("FA"), 1),  # f
            (c2s("A"), 0),  # (A again)
        ]
        for frame, in_port in exchange:
            self.send_expect(frame, in_port=in_port, out_port=1 - in_port)
        total = sum(len(f) for f, _ in exchange)
        self.assertEqual(total, 8 * 54 + 154 + 254)

        time.sleep(PAST_INTERVAL_S)
        trigger = c2s("A")
        self.send_expect(trigger, [counter_report(slot, key, len(exchange), total, "ShADadFf")])
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (11, total + 54))
        self.assertEqual(self.group_totals(slot, key), (11, total + 54))


@skip_unless_root
class UnidirectionalHistoryTest(StatsTest):
    """Without `bidirectional` every letter is upper case, whoever sends: a SYN carrying
    data gives S then D (flag letters before data), the peer's SYN+ACK H, an RST R:
    history "SDHR"; a later SYN adds nothing (each letter once)."""

    @autocleanup
    def runTest(self) -> None:
        slot = 1
        a, b = "10.6.1.1", "10.6.1.2"
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"src_addr": (ip("10.6.1.0"), 0xFFFFFF00), "protocol": (6, 0xFF)},
            602,
            proto_mask=0xFF,
            interval_us=INTERVAL_US,
        )
        key = GroupKey(rule_id=602, protocol=6)
        self.assert_unused(slot, key)

        frames = [
            tcp(a, b, 40602, 80, "S", bytes(10)),  # S, D
            tcp(b, a, 80, 40602, "SA"),  # H
            tcp(a, b, 40602, 80, "R"),  # R
            tcp(a, b, 40603, 80, "S"),  # (S again)
        ]
        for frame in frames:
            self.send_expect(frame)
        total = sum(len(f) for f in frames)
        time.sleep(PAST_INTERVAL_S)
        self.send_expect(tcp(a, b, 40603, 80, "A"), [counter_report(slot, key, 4, total, "SDHR")])
        testutils.verify_no_other_packets(self)
        self.assertEqual(self.rule_hits(rule), (5, total + 54))
