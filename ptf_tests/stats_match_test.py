"""Stats stage over veths: one test per rule match kind, each checking which packets are
counted and how the group-by masks form groups.

Rules have packet threshold 1 (NonIpv4MatchTest: 2), so the first packet of each new group carries a
THRESHOLD_ALERT whose key shows the group's masked key, and further packets of a group
carry nothing; rule_hits and group_totals (read at the index computed from the key)
give the counts. Rule ids 701-710, sources 10.7.0.0/16.
"""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from ptf import testutils
from scapy.layers.inet import IP, TCP, IPOption_Router_Alert
from scapy.layers.l2 import ARP, Dot1Q, Ether
from stats_helpers import (
    ADDR_ALL,
    ETH_DST,
    ETH_SRC,
    FULL16,
    FULL32,
    GroupKey,
    StatsTest,
    icmp,
    ip,
    ip_fragment,
    packet_alert,
    tcp,
    udp,
)

from feedback_header.records import ThresholdAlert

PAYLOAD = bytes(58)  # 100-byte UDP frames


def alert(slot: int, key: GroupKey) -> list[ThresholdAlert]:
    """The record on the first packet of a new group (threshold 1)."""
    return [packet_alert(slot, key, value=1, threshold=1)]


@skip_unless_root
class PrefixMatchTest(StatsTest):
    """Ternary prefixes: src 10.7.0.0/16 and dst 198.51.100.0/24 must both match; groups
    by source /24, so 10.7.1.5 and 10.7.1.77 share a group, 10.7.2.5 has its own."""

    @autocleanup
    def runTest(self) -> None:
        slot = 0
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {
                "src_addr": (ip("10.7.0.0"), 0xFFFF0000),
                "dst_addr": (ip("198.51.100.0"), 0xFFFFFF00),
            },
            701,
            src_mask=0xFFFFFF00 << 96,  # /24: address masks count from the first bit
            packet_threshold=1,
        )
        g1 = GroupKey(rule_id=701, src_addr=ip("10.7.1.0"))
        g2 = GroupKey(rule_id=701, src_addr=ip("10.7.2.0"))
        self.assert_unused(slot, g1, g2)

        def frame(src: str, dst: str) -> bytes:
            return udp(src, dst, 40701, 7001, PAYLOAD)

        self.send_expect(frame("10.7.1.5", "198.51.100.9"), alert(slot, g1))
        self.send_expect(frame("10.7.1.77", "198.51.100.10"))  # same /24: same group
        self.send_expect(frame("10.7.2.5", "198.51.100.9"), alert(slot, g2))
        self.send_expect(frame("10.8.1.5", "198.51.100.9"))  # source outside the prefix
        self.send_expect(frame("10.7.1.5", "198.51.101.9"))  # destination outside
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (3, 300))
        self.assertEqual(self.group_totals(slot, g1), (2, 200))
        self.assertEqual(self.group_totals(slot, g2), (1, 100))


@skip_unless_root
class PortRangeMatchTest(StatsTest):
    """Ranges: source port 7020-7029 and destination port 1000-1999 (bounds included),
    TCP or UDP alike; groups by destination port & 0xFF00 (protocol not grouped)."""

    @autocleanup
    def runTest(self) -> None:
        slot = 1
        src, dst = "10.7.2.1", "192.0.2.70"
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"src_port": (7020, 7029), "dst_port": (1000, 1999)},
            702,
            dport_mask=0xFF00,
            packet_threshold=1,
        )
        g3, g5, g7 = (GroupKey(rule_id=702, dst_port=p) for p in (0x0300, 0x0500, 0x0700))
        self.assert_unused(slot, g3, g5, g7)

        self.send_expect(tcp(src, dst, 7020, 1000, "A"), alert(slot, g3))  # low bounds
        self.send_expect(tcp(src, dst, 7021, 1001, "A"))  # 0x03E9: group 0x0300
        self.send_expect(udp(src, dst, 7029, 1999, PAYLOAD), alert(slot, g7))  # high bounds
        self.send_expect(udp(src, dst, 7022, 1800, PAYLOAD))  # 0x0708: group 0x0700
        self.send_expect(udp(src, dst, 7023, 1500, PAYLOAD), alert(slot, g5))
        self.send_expect(tcp(src, dst, 7024, 999, "A"))  # below the range
        self.send_expect(tcp(src, dst, 7025, 2000, "A"))  # above the range
        self.send_expect(tcp(src, dst, 7030, 1000, "A"))  # source port outside
        self.send_expect(tcp(src, dst, 7019, 1000, "A"))
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (5, 2 * 54 + 3 * 100))
        self.assertEqual(self.group_totals(slot, g3), (2, 108))
        self.assertEqual(self.group_totals(slot, g7), (2, 200))
        self.assertEqual(self.group_totals(slot, g5), (1, 100))


@skip_unless_root
class TcpFlagsMatchTest(StatsTest):
    """Ternary flags: SYN set, ACK clear (value 0x02, mask 0x12); groups by the whole
    flags byte, so SYN and SYN|ECE|CWR are two groups. SYN+ACK, ACK and UDP (flags read
    as 0) are not counted."""

    @autocleanup
    def runTest(self) -> None:
        slot = 2
        src, dst = "10.7.3.1", "192.0.2.70"
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"src_addr": (ip(src), FULL32), "tcp_flags": (0x02, 0x12)},
            703,
            flags_mask=0xFF,
            packet_threshold=1,
        )
        syn = GroupKey(rule_id=703, tcp_flags=0x02)
        syn_ecn = GroupKey(rule_id=703, tcp_flags=0xC2)
        self.assert_unused(slot, syn, syn_ecn)

        self.send_expect(tcp(src, dst, 40703, 80, "S"), alert(slot, syn))
        self.send_expect(tcp(src, dst, 40704, 80, "S"))
        self.send_expect(tcp(src, dst, 40705, 80, "SA"))
        self.send_expect(tcp(src, dst, 40706, 80, "A"))
        self.send_expect(tcp(src, dst, 40707, 80, "SEC"), alert(slot, syn_ecn))
        self.send_expect(udp(src, dst, 40708, 80, PAYLOAD))
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (3, 3 * 54))
        self.assertEqual(self.group_totals(slot, syn), (2, 108))
        self.assertEqual(self.group_totals(slot, syn_ecn), (1, 54))


@skip_unless_root
class ProtocolMatchTest(StatsTest):
    """Protocol: slot 0 counts UDP grouped by protocol and destination port (53 twice:
    one group; 123: another), slot 1 counts ICMP grouped by protocol, source and
    destination port (ICMP has no ports: the key's port reads 0). TCP to port 53 is
    counted by neither."""

    @autocleanup
    def runTest(self) -> None:
        self.add_monitor()
        net = (ip("10.7.4.0"), 0xFFFFFF00)
        udp_rule = self.add_rule(
            0,
            {"src_addr": net, "protocol": (17, 0xFF)},
            704,
            proto_mask=0xFF,
            dport_mask=FULL16,
            packet_threshold=1,
        )
        icmp_rule = self.add_rule(
            1,
            {"src_addr": net, "protocol": (1, 0xFF)},
            705,
            proto_mask=0xFF,
            src_mask=ADDR_ALL,
            dport_mask=FULL16,
            packet_threshold=1,
        )
        dns = GroupKey(rule_id=704, protocol=17, dst_port=53)
        ntp = GroupKey(rule_id=704, protocol=17, dst_port=123)
        ping1 = GroupKey(rule_id=705, protocol=1, src_addr=ip("10.7.4.1"))
        ping2 = GroupKey(rule_id=705, protocol=1, src_addr=ip("10.7.4.2"))
        self.assert_unused(0, dns, ntp)
        self.assert_unused(1, ping1, ping2)
        dst = "192.0.2.70"

        self.send_expect(udp("10.7.4.1", dst, 40704, 53, PAYLOAD), alert(0, dns))
        self.send_expect(udp("10.7.4.2", dst, 40705, 53, PAYLOAD))
        self.send_expect(udp("10.7.4.1", dst, 40706, 123, PAYLOAD), alert(0, ntp))
        self.send_expect(tcp("10.7.4.1", dst, 40707, 53, "A"))
        echo = icmp("10.7.4.1", dst, bytes(18))
        self.assertEqual(len(echo), 60)
        self.send_expect(echo, alert(1, ping1))
        self.send_expect(icmp("10.7.4.2", dst, bytes(18)), alert(1, ping2))
        self.send_expect(echo)
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(udp_rule), (3, 300))
        self.assertEqual(self.rule_hits(icmp_rule), (3, 180))
        self.assertEqual(self.group_totals(0, dns), (2, 200))
        self.assertEqual(self.group_totals(0, ntp), (1, 100))
        self.assertEqual(self.group_totals(1, ping1), (2, 120))
        self.assertEqual(self.group_totals(1, ping2), (1, 60))


@skip_unless_root
class IngressPortMatchTest(StatsTest):
    """Ingress port: slot 2 counts only packets entering port 1 (not grouped); slot 3
    counts both ports grouped by ingress port (two groups, keys with port 0 and 1).
    Port 0 feeds the monitor on port 1 and port 1 the monitor on port 0."""

    @autocleanup
    def runTest(self) -> None:
        src = "10.7.5.1"
        self.add_monitor(0, 1)
        self.add_monitor(1, 0)
        port1_rule = self.add_rule(
            2,
            {"ingress_port": (1, 0x1FF), "src_addr": (ip(src), FULL32)},
            706,
            packet_threshold=1,
        )
        by_port_rule = self.add_rule(
            3, {"src_addr": (ip(src), FULL32)}, 707, port_mask=0x1FF, packet_threshold=1
        )
        only = GroupKey(rule_id=706)
        on0 = GroupKey(rule_id=707, ingress_port=0)
        on1 = GroupKey(rule_id=707, ingress_port=1)
        self.assert_unused(2, only)
        self.assert_unused(3, on0, on1)
        frame = udp(src, "192.0.2.70", 40706, 7006, PAYLOAD)

        self.send_expect(frame, alert(3, on0), in_port=0, out_port=1)
        self.send_expect(frame, alert(2, only) + alert(3, on1), in_port=1, out_port=0)
        self.send_expect(frame, in_port=0, out_port=1)
        self.send_expect(frame, in_port=1, out_port=0)
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(port1_rule), (2, 200))
        self.assertEqual(self.rule_hits(by_port_rule), (4, 400))
        self.assertEqual(self.group_totals(2, only), (2, 200))
        self.assertEqual(self.group_totals(3, on0), (2, 200))
        self.assertEqual(self.group_totals(3, on1), (2, 200))


@skip_unless_root
class FragmentMatchTest(StatsTest):
    """is_fragment: MF set or offset != 0. Groups by source and destination port: the
    first fragment (offset 0, MF) has its UDP ports, later fragments have no L4 header
    and key port 0, so they form a second group. An unfragmented datagram, with or
    without DF, is not counted."""

    @autocleanup
    def runTest(self) -> None:
        slot = 0
        src, dst = "10.7.6.1", "192.0.2.70"
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"src_addr": (ip(src), FULL32), "is_fragment": (1, 1)},
            708,
            src_mask=ADDR_ALL,
            dport_mask=FULL16,
            packet_threshold=1,
        )
        first_key = GroupKey(rule_id=708, src_addr=ip(src), dst_port=53)
        later_key = GroupKey(rule_id=708, src_addr=ip(src))
        self.assert_unused(slot, first_key, later_key)

        first = udp(src, dst, 40708, 53, bytes(40), flags="MF", id=7)
        middle = ip_fragment(src, dst, 17, frag=6, payload=bytes(48), mf=True)
        last = ip_fragment(src, dst, 17, frag=12, payload=bytes(20), mf=False)
        self.send_expect(first, alert(slot, first_key))
        self.send_expect(middle, alert(slot, later_key))
        self.send_expect(last)  # a later fragment: same group as the middle one
        self.send_expect(udp(src, dst, 40708, 53, PAYLOAD))
        self.send_expect(udp(src, dst, 40708, 53, PAYLOAD, flags="DF"))
        testutils.verify_no_other_packets(self)

        lengths = len(first) + len(middle) + len(last)
        self.assertEqual(self.rule_hits(rule), (3, lengths))
        self.assertEqual(self.group_totals(slot, first_key), (1, len(first)))
        self.assertEqual(self.group_totals(slot, later_key), (2, len(middle) + len(last)))


@skip_unless_root
class NonIpv4MatchTest(StatsTest):
    """is_ipv4 = 0: ARP frames are counted (every field reads 0, so a single group) and
    IPv4 is not; packet threshold 2 fires on the second ARP frame."""

    @autocleanup
    def runTest(self) -> None:
        slot = 1
        self.add_monitor()
        rule = self.add_rule(slot, {"is_ipv4": (0, 1)}, 709, src_mask=ADDR_ALL, packet_threshold=2)
        key = GroupKey(rule_id=709)
        self.assert_unused(slot, key)

        def arp(target: str) -> bytes:
            return bytes(Ether(dst=ETH_DST, src=ETH_SRC) / ARP(psrc="10.7.7.1", pdst=target))

        self.send_expect(arp("10.7.7.2"))
        self.send_expect(udp("10.7.7.1", "10.7.7.2", 40709, 7009, PAYLOAD))
        self.send_expect(arp("10.7.7.3"), [packet_alert(slot, key, value=2, threshold=2)])
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (2, 2 * 42))
        self.assertEqual(self.group_totals(slot, key), (2, 84))


@skip_unless_root
class TaggedAndOptionsTest(StatsTest):
    """Keys come from the IPv4/TCP headers whatever precedes or extends them: 802.1ad +
    802.1Q tags and IPv4 options (ihl 6) give the same masked key as a plain packet, and
    the feedback header goes after the innermost tag. Groups by source and destination
    port."""

    @autocleanup
    def runTest(self) -> None:
        slot = 2
        src, dst = "10.7.8.1", "192.0.2.70"
        self.add_monitor()
        rule = self.add_rule(
            slot,
            {"src_addr": (ip(src), FULL32), "protocol": (6, 0xFF)},
            710,
            src_mask=ADDR_ALL,
            dport_mask=FULL16,
            packet_threshold=1,
        )
        keys = [GroupKey(rule_id=710, src_addr=ip(src), dst_port=p) for p in (80, 81, 82)]
        self.assert_unused(slot, *keys)

        def frame(dport: int, tagged: bool, options: bool) -> bytes:
            l2 = Ether(dst=ETH_DST, src=ETH_SRC)
            if tagged:
                l2 = Ether(dst=ETH_DST, src=ETH_SRC, type=0x88A8) / Dot1Q(vlan=7) / Dot1Q(vlan=9)
            l3 = IP(src=src, dst=dst, options=[IPOption_Router_Alert()] if options else [])
            return bytes(l2 / l3 / TCP(sport=40710, dport=dport, flags="A"))

        plain = frame(80, tagged=False, options=False)
        self.send_expect(plain, alert(slot, keys[0]))
        self.send_expect(frame(80, tagged=True, options=False))  # same group as `plain`
        self.send_expect(frame(81, tagged=False, options=True), alert(slot, keys[1]))
        both = frame(82, tagged=True, options=True)
        self.assertEqual(both[12:16], bytes.fromhex("88a80007"))
        self.send_expect(both, alert(slot, keys[2]))
        testutils.verify_no_other_packets(self)

        self.assertEqual(self.rule_hits(rule), (4, 4 * len(plain) + 8 + 4 + 12))
        self.assertEqual(self.group_totals(slot, keys[0]), (2, 2 * len(plain) + 8))
        self.assertEqual(self.group_totals(slot, keys[1]), (1, len(plain) + 4))
        self.assertEqual(self.group_totals(slot, keys[2]), (1, len(both)))
