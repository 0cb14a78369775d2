"""Connections in a capture: frames parsed to 5-tuples and grouped as Zeek would.

- TCP: one connection per 5-tuple until a SYN (without ACK) with another initial
  sequence number arrives on it after the first one, which starts a new connection.
- UDP: one connection per 5-tuple until it has been idle for `UDP_IDLE_NS`.
- ICMP / ICMPv6: one "connection" per (addresses, type, code), the ports being type and
  code; neighbour discovery and router messages are not connections.
- Other protocols (IGMP, MLD behind an IPv6 hop-by-hop header, ARP) are not connections.

The originator is the sender of the connection's first packet. A connection is
*answered* when its responder sent anything.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pktio.pcap import open_capture

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMP6: "icmp6"}
UDP_IDLE_NS = 30_000_000_000
_ND_TYPES = frozenset(range(133, 138))
_SYN, _ACK, _RST, _FIN = 0x02, 0x10, 0x04, 0x01


@dataclass(frozen=True)
class Packet:
    """What the flow table needs of one frame."""

    ts_ns: int
    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    flags: int  # TCP flags, 0 for others
    seq: int
    length: int  # frame length on the wire


def parse(data: bytes, ts_ns: int, orig_len: int | None = None) -> Packet | None:
    """The 5-tuple and TCP flags of an Ethernet frame (VLAN tags skipped), or None."""
    off = 12
    etype = int.from_bytes(data[off : off + 2], "big")
    while etype in (0x8100, 0x88A8) and len(data) >= off + 6:
        off += 4
        etype = int.from_bytes(data[off : off + 2], "big")
    off += 2
    length = orig_len if orig_len is not None else len(data)
    if etype == 0x0800 and len(data) >= off + 20:
        ihl = (data[off] & 0x0F) * 4
        proto = data[off + 9]
        frag = int.from_bytes(data[off + 6 : off + 8], "big") & 0x1FFF
        src = str(ipaddress.IPv4Address(data[off + 12 : off + 16]))
        dst = str(ipaddress.IPv4Address(data[off + 16 : off + 20]))
        l4 = off + ihl
        if frag:
            return Packet(ts_ns, proto, src, 0, dst, 0, 0, 0, length)
    elif etype == 0x86DD and len(data) >= off + 40:
        proto = data[off + 6]
        src = str(ipaddress.IPv6Address(data[off + 8 : off + 24]))
        dst = str(ipaddress.IPv6Address(data[off + 24 : off + 40]))
        l4 = off + 40
    else:
        return None
    if proto in (TCP, UDP) and len(data) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", data, l4)
        if proto == TCP and len(data) >= l4 + 14:
            seq = int.from_bytes(data[l4 + 4 : l4 + 8], "big")
            return Packet(ts_ns, proto, src, sport, dst, dport, data[l4 + 13], seq, length)
        return Packet(ts_ns, proto, src, sport, dst, dport, 0, 0, length)
    if proto in (ICMP, ICMP6) and len(data) >= l4 + 2:
        if proto == ICMP6 and data[l4] in _ND_TYPES:
            return None
        return Packet(ts_ns, proto, src, data[l4], dst, data[l4 + 1], 0, 0, length)
    return None


@dataclass
class Connection:
    """One connection as the table built it."""

    proto: int
    orig_h: str
    orig_p: int
    resp_h: str
    resp_p: int
    start_ns: int
    end_ns: int
    orig_pkts: int = 0
    resp_pkts: int = 0
    orig_bytes: int = 0
    resp_bytes: int = 0
    syns: int = 0
    isn: int | None = None

    @property
    def answered(self) -> bool:
        """The responder sent something."""
        return self.resp_pkts > 0

    def key(self) -> tuple[str, str, int, str, int]:
        """(proto name, originator, its port, responder, its port)."""
        return (
            PROTO_NAMES.get(self.proto, str(self.proto)),
            self.orig_h,
            self.orig_p,
            self.resp_h,
            self.resp_p,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON form (times in seconds)."""
        return {
            "proto": PROTO_NAMES.get(self.proto, str(self.proto)),
            "orig_h": self.orig_h,
            "orig_p": self.orig_p,
            "resp_h": self.resp_h,
            "resp_p": self.resp_p,
            "start": self.start_ns / 1e9,
            "end": self.end_ns / 1e9,
            "orig_pkts": self.orig_pkts,
            "resp_pkts": self.resp_pkts,
            "orig_bytes": self.orig_bytes,
            "resp_bytes": self.resp_bytes,
            "answered": self.answered,
        }


class FlowTable:
    """Packets in, connections out (in order of their first packet)."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self._open: dict[tuple[int, frozenset[tuple[str, int]]], Connection] = {}

    def add(self, p: Packet) -> Connection:
        """Count `p` in its connection (creating it); returns that connection."""
        k = (p.proto, frozenset(((p.src, p.sport), (p.dst, p.dport))))
        if p.proto in (ICMP, ICMP6):  # type/code are not symmetric: key on the addresses too
            k = (p.proto, frozenset(((p.src, -1), (p.dst, -2), ("", p.sport * 256 + p.dport))))
        c = self._open.get(k)
        fresh_syn = p.proto == TCP and p.flags & (_SYN | _ACK) == _SYN
        if c is not None and (
            (
                fresh_syn
                and c.isn is not None
                and c.isn != p.seq
                and (p.src, p.sport) == (c.orig_h, c.orig_p)
            )
            or (p.proto == UDP and p.ts_ns - c.end_ns > UDP_IDLE_NS)
        ):
            c = None
        if c is None:
            c = Connection(p.proto, p.src, p.sport, p.dst, p.dport, p.ts_ns, p.ts_ns)
            self._open[k] = c
            self.connections.append(c)
        c.end_ns = max(c.end_ns, p.ts_ns)
        if (p.src, p.sport) == (c.orig_h, c.orig_p) and (p.src != c.resp_h or p.dst == c.resp_h):
            c.orig_pkts += 1
            c.orig_bytes += p.length
            if fresh_syn:
                c.syns += 1
                if c.isn is None:
                    c.isn = p.seq
        else:
            c.resp_pkts += 1
            c.resp_bytes += p.length
        return c


def packets(path: str | Path) -> Iterator[Packet]:
    """The parseable packets of a capture, in file order."""
    with open_capture(path) as cap:
        for rec in cap:
            p = parse(rec.data, rec.ts_ns, rec.orig_len)
            if p is not None:
                yield p


def connections(pkts: Iterable[Packet]) -> list[Connection]:
    """The connections of a packet sequence."""
    table = FlowTable()
    for p in pkts:
        table.add(p)
    return table.connections
