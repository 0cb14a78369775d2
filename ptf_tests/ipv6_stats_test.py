"""Stats stage over veths with IPv6: matching and grouping on 128-bit addresses with
prefixes, thresholds, history letters, and the parser's extension-header chain.

Address fields are 128 bits wide (docs/stats-stage.md, "IPv6"): an IPv6 address is
itself, an IPv4 one sits in the low 32 bits; group-by masks count from the address's
first bit. A key holding IPv6 addresses goes out in the IPv6 variants of the records
(COUNTER_REPORT6, THRESHOLD_ALERT6, COLLISION6). Rule ids 1001-1009, addresses
2001:db8:10::/48 and 198.51.100.100-101.
"""

from __future__ import annotations

import time

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from scapy.layers.inet6 import (
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from stats_helpers import (
    ADDR_ALL,
    FULL16,
    GroupKey,
    StatsTest,
    byte_alert,
    counter_report,
    icmp6,
    ip6,
    packet_alert,
    tcp,
    tcp6,
    udp6,
)

FULL128 = (1 << 128) - 1
PREFIX_48 = ((1 << 48) - 1) << 80
PREFIX_64 = ((1 << 64) - 1) << 64
NET = "2001:db8:10::"


@skip_unless_root
class Ipv6PrefixMatchGroupTest(StatsTest):
    """Rule: src 2001:db8:10::/48 and is_ipv6, grouped by source /64, alert at 2
    packets. Two sources in one /64 make one group (alert on the second packet, key
    2001:db8:10:1::), a source in another /64 its own group; a source outside the /48
    and an IPv4 packet are not counted."""

    @autocleanup
    def runTest(self) -> None:
        slot = 0
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"src_addr": (ip6(NET), PREFIX_48), "is_ipv6": (1, 1)},
            1001,
            src_mask=PREFIX_64,
            packet_threshold=2,
        )
        g1 = GroupKey(rule_id=1001, src_addr=ip6("2001:db8:10:1::"), is_ipv6=True)
        g2 = GroupKey(rule_id=1001, src_addr=ip6("2001:db8:10:2::"), is_ipv6=True)
        self.assert_unused(slot, g1, g2)

        a = udp6("2001:db8:10:1::a", "2001:db8:ff::1", 5000, 53, bytes(10))
        b = udp6("2001:db8:10:1::b", "2001:db8:ff::1", 5000, 53, bytes(10))
        c = udp6("2001:db8:10:2::c", "2001:db8:ff::1", 5000, 53, bytes(10))
        outside = udp6("2001:db8:11::1", "2001:db8:ff::1", 5000, 53, bytes(10))
        v4 = tcp("198.51.100.100", "198.51.100.101", 1, 2, "S")
        self.send_expect(a)
        self.send_expect(b, [packet_alert(slot, g1, 2, 2)])
        self.send_expect(c)
        self.send_expect(outside)
        self.send_expect(v4)
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (3, len(a) + len(b) + len(c)))
        self.assertEqual(self.group_totals(slot, g1), (2, len(a) + len(b)))
        self.assertEqual(self.group_totals(slot, g2), (1, len(c)))


@skip_unless_root
class Ipv6ByteThresholdExactAddressTest(StatsTest):
    """Exact IPv6 destination, grouped by the whole destination (a mask of every bit):
    the byte threshold fires once, on the packet that reaches it."""

    @autocleanup
    def runTest(self) -> None:
        slot = 1
        self.add_monitor()
        victim = "2001:db8:10:3::7"
        self.add_rule(
            slot,
            {"dst_addr": (ip6(victim), FULL128), "is_ipv6": (1, 1)},
            1002,
            dst_mask=ADDR_ALL,
            byte_threshold=500,
        )
        key = GroupKey(rule_id=1002, dst_addr=ip6(victim), is_ipv6=True)
        self.assert_unused(slot, key)
        frame = udp6("2001:db8:10:4::1", victim, 123, 123, bytes(100))
        self.assertEqual(len(frame), 14 + 40 + 8 + 100)
        self.send_expect(frame)
        self.send_expect(frame)
        self.send_expect(frame)
        self.send_expect(frame, [byte_alert(slot, key, 4 * len(frame), 500)])
        self.send_expect(frame)
        testutils.verify_no_other_packets(self)


@skip_unless_root
class Ipv6BidirectionalHistoryTest(StatsTest):
    """An IPv6 TCP connection both ways under a bidirectional 5-tuple rule: the report
    after the interval carries one COUNTER_REPORT6 with history "ShADadFf", as Zeek
    writes it for the same exchange over IPv4."""

    @autocleanup
    def runTest(self) -> None:
        slot = 2
        self.add_monitor(0, 1)
        self.add_monitor(1, 0)
        client, cport = "2001:db8:10:5::c", 40700
        server, sport = "2001:db8:10:5::5", 443  # lower address: first in the key
        self.add_rule(
            slot,
            {"protocol": (6, 0xFF), "is_ipv6": (1, 1)},
            1003,
            src_mask=ADDR_ALL,
            dst_mask=ADDR_ALL,
            proto_mask=0xFF,
            sport_mask=FULL16,
            dport_mask=FULL16,
            bidirectional=1,
            interval_us=1_000_000,
        )
        key = GroupKey(
            rule_id=1003,
            protocol=6,
            src_addr=ip6(server),
            dst_addr=ip6(client),
            src_port=sport,
            dst_port=cport,
            is_ipv6=True,
        )
        self.assert_unused(slot, key)

        def c2s(flags: str, payload: bytes = b"") -> bytes:
            return tcp6(client, server, cport, sport, flags, payload)

        def s2c(flags: str, payload: bytes = b"") -> bytes:
            return tcp6(server, client, sport, cport, flags, payload)

        exchange = [
            (c2s("S"), 0),
            (s2c("SA"), 1),
            (c2s("A"), 0),
            (c2s("PA", bytes(100)), 0),
            (s2c("A"), 1),
            (s2c("PA", bytes(200)), 1),
            (c2s("FA"), 0),
            (s2c("FA"), 1),
            (c2s("A"), 0),
        ]
        for frame, in_port in exchange:
            self.send_expect(frame, in_port=in_port, out_port=1 - in_port)
        total = sum(len(f) for f, _ in exchange)
        time.sleep(1.1)
        self.send_expect(c2s("A"), [counter_report(slot, key, len(exchange), total, "ShADadFf")])
        testutils.verify_no_other_packets(self)


@skip_unless_root
class Ipv6ExtensionHeaderChainTest(StatsTest):
    """The parser walks hop-by-hop, destination options, routing and fragment headers
    to TCP/UDP: a rule on the destination port (grouped by it) counts a SYN behind
    four extension headers and a UDP datagram behind a first fragment, with their
    ports, and history S for the SYN. A fifth extension header is past the parser's
    bound: that packet's ports are not seen (the rule does not match) and it leaves
    untouched, extension headers and all. A later fragment has no ports: only the
    is_fragment rule counts it. ICMPv6 reaches protocol 58."""

    @autocleanup
    def runTest(self) -> None:
        self.add_monitor()
        port_rule = self.add_rule(
            0,
            {"is_ipv6": (1, 1), "dst_port": (4242, 4242)},
            1004,
            proto_mask=0xFF,
            dport_mask=FULL16,
            sport_mask=FULL16,
            packet_threshold=1,
            interval_us=1_000_000,
        )
        frag_rule = self.add_rule(
            1, {"is_ipv6": (1, 1), "is_fragment": (1, 1)}, 1005, proto_mask=0xFF, packet_threshold=1
        )
        icmp_rule = self.add_rule(
            2, {"is_ipv6": (1, 1), "protocol": (58, 0xFF)}, 1006, proto_mask=0xFF
        )
        src, dst = "2001:db8:10:6::1", "2001:db8:10:6::2"
        tcp_key = GroupKey(rule_id=1004, protocol=6, src_port=1111, dst_port=4242)
        udp_key = GroupKey(rule_id=1004, protocol=17, src_port=2222, dst_port=4242)
        frag_key = GroupKey(rule_id=1005, protocol=17)
        self.assert_unused(0, tcp_key, udp_key)
        self.assert_unused(1, frag_key)

        chain = [
            IPv6ExtHdrHopByHop(),
            IPv6ExtHdrDestOpt(),
            IPv6ExtHdrRouting(addresses=["2001:db8:10:6::99"]),  # 24 bytes
            IPv6ExtHdrFragment(offset=0, m=0, id=7),  # atomic fragment: not a fragment
        ]
        syn = tcp6(src, dst, 1111, 4242, "S", ext=chain)
        self.send_expect(syn, [packet_alert(0, tcp_key, 1, 1)])

        first = udp6(src, dst, 2222, 4242, bytes(16), ext=[IPv6ExtHdrFragment(m=1, id=8)])
        self.send_expect(first, [packet_alert(0, udp_key, 1, 1), packet_alert(1, frag_key, 1, 1)])

        later = bytes(
            udp6(src, dst, 2222, 4242, bytes(16), ext=[IPv6ExtHdrFragment(offset=3, m=0, id=8)])
        )
        self.send_expect(later)  # counted by frag_rule (threshold already crossed)

        too_long = tcp6(src, dst, 1111, 4242, "S", ext=[IPv6ExtHdrDestOpt() for _ in range(5)])
        self.send_expect(too_long)

        ping = icmp6(src, dst, bytes(8))
        self.send_expect(ping)
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(port_rule)[0], 2)
        self.assertEqual(self.rule_hits(frag_rule)[0], 2)
        self.assertEqual(self.rule_hits(icmp_rule)[0], 1)

        # The SYN's group has history S: its report comes on the next packet after 1 s.
        time.sleep(1.1)
        again = tcp6(src, dst, 1111, 4242, "A", ext=chain)
        self.send_expect(
            again,
            [counter_report(0, tcp_key, 1, len(syn), "S"), packet_alert(0, tcp_key, 1, 1)],
        )
        testutils.verify_no_other_packets(self)


@skip_unless_root
class Ipv6InVlanTagsTest(StatsTest):
    """IPv6 inside one and inside two VLAN tags (802.1Q, 802.1ad + 802.1Q) is parsed as
    untagged IPv6: grouped by source, the alert rides after the last tag."""

    @autocleanup
    def runTest(self) -> None:
        slot = 3
        self.add_monitor()
        src = "2001:db8:10:7::1"
        self.add_rule(
            slot,
            {"src_addr": (ip6(src), FULL128), "is_ipv6": (1, 1)},
            1007,
            src_mask=ADDR_ALL,
            packet_threshold=2,
        )
        key = GroupKey(rule_id=1007, src_addr=ip6(src), is_ipv6=True)
        self.assert_unused(slot, key)
        plain = udp6(src, "2001:db8:10:7::2", 1, 2, bytes(4))
        one = plain[:12] + b"\x81\x00\x00\x07" + plain[12:]
        two = plain[:12] + b"\x88\xa8\x00\x64\x81\x00\x00\x07" + plain[12:]
        self.send_expect(one)
        self.send_expect(two, [packet_alert(slot, key, 2, 2)])
        testutils.verify_no_other_packets(self)
