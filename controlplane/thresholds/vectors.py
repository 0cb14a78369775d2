"""The notebook's 13 attack vectors and 2 metrics, and what the stats stage can match.

A *vector rule* is a stats rule whose match equals one vector's match here (an exact
`dst_addr` on top is allowed: that is a per-address rule) and that groups by the whole
destination address, so that each interval report is one protected address's figure.
Vectors without a match cannot be expressed by the stage today (`reason` says why).
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.fields import FIELDS, IPV4_WIDTH, Match, Ternary, parse_match
from controlplane.model import StatsRule

PPS = "PPS"
"""Packets per second (the rule's packet threshold / interval)."""
BW = "BW"
"""Bits per second (8 x the rule's byte threshold / interval)."""
METRICS = (PPS, BW)


@dataclass(frozen=True)
class Vector:
    """One attack vector: its notebook name, what it is, the stats match (None: cannot be
    expressed), and the floor and ceiling of a learned threshold per metric."""

    name: str
    title: str
    match: tuple[tuple[str, str], ...] | None
    floor: tuple[float, float]  # (packets/s, bits/s)
    ceiling: tuple[float, float]
    reason: str = ""

    def parsed(self) -> dict[str, Match]:
        """The match as the controller parses it (empty for an inexpressible vector)."""
        return {f: parse_match(v, FIELDS[f]) for f, v in self.match or ()}

    def limit(self, metric: str) -> tuple[float, float]:
        """(floor, ceiling) of `metric`."""
        i = METRICS.index(metric)
        return self.floor[i], self.ceiling[i]


# Ceilings: what a 10 Gbit/s link carries (14.88 Mpps of minimum-size frames); floors: a
# threshold below these would alert on ordinary background noise of any host.
_LINK = (14_880_000.0, 10e9)
_LOW = (100.0, 1e6)
_UDP_LOW = (50.0, 500e3)

VECTORS: tuple[Vector, ...] = (
    Vector(
        "PT_LARGE_SYN",
        "SYN packets with a large payload",
        None,
        _UDP_LOW,
        _LINK,
        "the stage has no packet-length match field; a large-SYN flood raises the bits/s "
        "of PT_SYN, whose byte threshold catches it",
    ),
    Vector(
        "PT_SYN",
        "TCP SYN without ACK",
        (("protocol", "tcp"), ("tcp_flags", "SYN !ACK")),
        _LOW,
        _LINK,
    ),
    Vector("PT_TCP", "all TCP", (("protocol", "tcp"),), _LOW, _LINK),
    Vector(
        "PT_DNS",
        "DNS queries (UDP to port 53)",
        (("protocol", "udp"), ("dst_port", "53")),
        _UDP_LOW,
        _LINK,
    ),
    Vector(
        "PT_DNS_RESPONSE",
        "DNS responses (UDP from port 53)",
        (("protocol", "udp"), ("src_port", "53")),
        _UDP_LOW,
        _LINK,
    ),
    Vector(
        "PT_NTP",
        "NTP (UDP from port 123)",
        (("protocol", "udp"), ("src_port", "123")),
        _UDP_LOW,
        _LINK,
    ),
    Vector(
        "PT_SSDP",
        "SSDP (UDP from port 1900)",
        (("protocol", "udp"), ("src_port", "1900")),
        _UDP_LOW,
        _LINK,
    ),
    Vector("PT_ICMP", "ICMP", (("protocol", "icmp"),), _UDP_LOW, _LINK),
    Vector(
        "PT_GENERAL",
        "IP protocols other than TCP, UDP and ICMP",
        None,
        _UDP_LOW,
        _LINK,
        "a ternary match cannot say 'not TCP, UDP or ICMP'; it would take a catch-all rule "
        "below the TCP, UDP and ICMP rules in their slot, which the vector rules' slot "
        "layout does not leave room for",
    ),
    Vector("PT_TOTAL", "all IPv4", (("is_ipv4", "1"),), _LOW, _LINK),
    Vector("PT_UDP", "all UDP", (("protocol", "udp"),), _LOW, _LINK),
    Vector("PT_FRAG", "IPv4 fragments", (("is_fragment", "1"),), _UDP_LOW, _LINK),
    Vector(
        "PT_NETFLOW",
        "flows reported by NetFlow/IPFIX exporters",
        None,
        _LOW,
        _LINK,
        "the series come from routers' flow export, not from packets; the switch sees the "
        "packets themselves (PT_TOTAL is its counterpart)",
    ),
)

BY_NAME = {v.name: v for v in VECTORS}
EXPRESSIBLE = tuple(v for v in VECTORS if v.match is not None)


def address_of(rule: StatsRule) -> str | None:
    """The exact destination address a per-address rule matches, else None."""
    m = rule.match_of("dst_addr")
    if isinstance(m, Ternary) and m.mask == FIELDS["dst_addr"].full:
        import ipaddress

        return str(ipaddress.IPv4Address(m.value))
    return None


def classify(rule: StatsRule) -> Vector | None:
    """The vector `rule` counts per destination address, or None if it is no vector rule."""
    # grouped by the whole IPv4 destination: the mask's top 32 bits (docs/stats-stage.md)
    whole_v4 = ((1 << IPV4_WIDTH) - 1) << (FIELDS["dst_addr"].width - IPV4_WIDTH)
    if rule.group_mask("dst_addr") & whole_v4 != whole_v4:
        return None
    match = dict(rule.match)
    forms = [match]
    if address_of(rule) is not None:
        del match["dst_addr"]
        # an IPv4 address in a rule implies is_ipv4 (rules.py adds it)
        forms.append({k: x for k, x in match.items() if k != "is_ipv4"})
    for v in EXPRESSIBLE:
        if v.parsed() in forms:
            return v
    return None
