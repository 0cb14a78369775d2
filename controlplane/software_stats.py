"""The software fallback: count stats rules from the monitor stream (paper §3.2).

Rules the switch cannot carry (more overlapping rules than slots, fields it lacks)
are counted here with the stage's semantics (docs/stats-stage.md "Per packet"):
interval reports, threshold alerts once per crossing, Zeek history letters, one
group per masked key, bidirectional keys in canonical order. Unlike a slot, every
software rule sees every packet (there is no first-match within a slot). Output
events have the shape of the decoded hardware records plus "source": "software".

What software cannot do: see the ingress port (the monitor stream does not carry
it), or count packets the switch dropped before the monitor port.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from controlplane.fields import ADDR_WIDTH, IPV4_WIDTH, matches
from controlplane.model import StatsRule

_VLAN = (0x8100, 0x88A8, 0x9100)
_MAX_LETTERS = 12
_FIN, _SYN, _RST, _ACK = 0x01, 0x02, 0x04, 0x10
# IPv6 extension headers the switch parser walks, and its bounds (p4src/include/size.p4).
_IPV6_EXT = (0, 43, 44, 60)
_IPV6_MAX_EXT_HEADERS = 4
_IPV6_EXT_MAX_LEN = 7


@dataclass(frozen=True)
class PacketFields:
    """The stage's fields of one packet (0 where the packet lacks a field)."""

    src_addr: int = 0
    dst_addr: int = 0
    protocol: int = 0
    src_port: int = 0
    dst_port: int = 0
    tcp_flags: int = 0
    is_fragment: int = 0
    is_ipv4: int = 0
    ingress_port: int = 0
    payload_len: int = 0
    is_ipv6: int = 0

    def get(self, name: str) -> int:
        """Field value by rule field name."""
        return int(getattr(self, name))


def _l4_fields(frame: bytes, l4: int, proto: int, length: int) -> tuple[int, int, int, int]:
    """(src port, dst port, TCP flags, payload bytes) of the TCP/UDP header at `l4`, of
    an upper-layer datagram of `length` bytes."""
    sport = dport = flags = payload = 0
    if proto in (6, 17) and len(frame) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        if proto == 6 and len(frame) >= l4 + 14:
            flags = frame[l4 + 13]
            payload = max(0, length - (frame[l4 + 12] >> 4) * 4)
        elif proto == 17:
            payload = max(0, length - 8)
    return sport, dport, flags, payload


def _ipv6_fields(frame: bytes, ip: int) -> PacketFields:
    """The fields of an IPv6 packet at `ip`, walking the extension headers as the switch
    parser does (p4src/include/parser.p4)."""
    if len(frame) < ip + 40:
        return PacketFields()
    payload_len, nxt = struct.unpack_from("!HB", frame, ip + 4)
    src = int.from_bytes(frame[ip + 8 : ip + 24], "big")
    dst = int.from_bytes(frame[ip + 24 : ip + 40], "big")
    off, ext_bytes, headers, is_frag, later = ip + 40, 0, 0, 0, False
    while nxt in _IPV6_EXT and headers < _IPV6_MAX_EXT_HEADERS and len(frame) >= off + 8:
        if nxt == 44:
            frag = struct.unpack_from("!H", frame, off + 2)[0]
            if frag >> 3 or frag & 1:
                is_frag = 1
            later = frag >> 3 != 0
            size = 8
        elif frame[off + 1] > _IPV6_EXT_MAX_LEN:
            break
        else:
            size = (frame[off + 1] + 1) * 8
        nxt = frame[off]
        off, ext_bytes, headers = off + size, ext_bytes + size, headers + 1
        if later:
            break
    sport = dport = flags = payload = 0
    if not later and nxt in (6, 17):
        sport, dport, flags, payload = _l4_fields(frame, off, nxt, payload_len - ext_bytes)
    return PacketFields(src, dst, nxt, sport, dport, flags, is_frag, 0, 0, payload, is_ipv6=1)


def parse_fields(frame: bytes) -> PacketFields:
    """Extract the stage's fields from an Ethernet frame (VLAN tags skipped)."""
    off = 12
    while len(frame) >= off + 2 and struct.unpack_from("!H", frame, off)[0] in _VLAN:
        off += 4
    if len(frame) >= off + 2 and struct.unpack_from("!H", frame, off)[0] == 0x86DD:
        return _ipv6_fields(frame, off + 2)
    if len(frame) < off + 2 + 20 or struct.unpack_from("!H", frame, off)[0] != 0x0800:
        return PacketFields()
    ip = off + 2
    ver_ihl, _, total, _, frag, _, proto = struct.unpack_from("!BBHHHBB", frame, ip)
    if ver_ihl >> 4 != 4:
        return PacketFields()
    ihl = (ver_ihl & 0x0F) * 4
    src, dst = struct.unpack_from("!II", frame, ip + 12)
    offset = frag & 0x1FFF
    is_frag = int(bool(frag & 0x2000) or offset != 0)
    sport = dport = flags = payload = 0
    if offset == 0:
        sport, dport, flags, payload = _l4_fields(frame, ip + ihl, proto, total - ihl)
    return PacketFields(src, dst, proto, sport, dport, flags, is_frag, 1, 0, payload)


def packet_letters(p: PacketFields) -> str:
    """History letters of one TCP packet in the stage's order (originator case)."""
    if p.protocol != 6 or not (p.is_ipv4 or p.is_ipv6) or p.is_fragment:
        return ""
    f = p.tcp_flags
    out = ""
    if f & _SYN and not f & _ACK:
        out += "S"
    if f & _SYN and f & _ACK:
        out += "H"
    if f == _ACK and p.payload_len == 0:
        out += "A"
    if p.payload_len > 0:
        out += "D"
    if f & _FIN:
        out += "F"
    if f & _RST:
        out += "R"
    return out


@dataclass
class _Group:
    start: int
    last: int
    packets: int = 0
    nbytes: int = 0
    history: str = ""
    originator: tuple[int, int] = (0, 0)


@dataclass
class SoftwareStats:
    """Counts `rules` over packets given to `process`; keeps per-group state."""

    rules: Sequence[StatsRule]
    groups: dict[tuple[int, tuple[int, ...]], _Group] = field(default_factory=dict)

    def process(self, frame: bytes, ts_us: int, length: int | None = None) -> list[dict[str, Any]]:
        """Count one frame (the packet as the monitor sees it, header stripped) seen at
        `ts_us`; `length` is its original length if `frame` was cut by a snaplen."""
        p = parse_fields(frame)
        nbytes = len(frame) if length is None else length
        events: list[dict[str, Any]] = []
        for rule in self.rules:
            if all(matches(m, p.get(name)) for name, m in rule.match):
                events += self._count(rule, p, ts_us, nbytes)
        return events

    def _count(
        self, rule: StatsRule, p: PacketFields, now: int, nbytes: int
    ) -> list[dict[str, Any]]:
        g = rule.group_mask

        def addr_mask(name: str) -> int:
            # Masks count from the address's first bit: IPv4 takes the top 32 bits.
            return g(name) if p.is_ipv6 else g(name) >> (ADDR_WIDTH - IPV4_WIDTH)

        key = [
            p.ingress_port & g("ingress_port"),
            p.protocol & g("protocol"),
            p.tcp_flags & g("tcp_flags"),
            p.src_addr & addr_mask("src_addr"),
            p.dst_addr & addr_mask("dst_addr"),
            p.src_port & g("src_port"),
            p.dst_port & g("dst_port"),
            # the family is part of the key when an address is (as in stats.p4)
            p.is_ipv6 if g("src_addr") or g("dst_addr") else 0,
        ]
        sender = (key[3], key[5])
        if rule.bidirectional and (key[3], key[5]) > (key[4], key[6]):
            key[3], key[4], key[5], key[6] = key[4], key[3], key[6], key[5]
        k = (rule.rule_id, tuple(key))
        grp = self.groups.get(k)
        if grp is None:
            grp = self.groups[k] = _Group(start=now, last=now, originator=sender)
        events: list[dict[str, Any]] = []
        if rule.interval_us and now - grp.start >= rule.interval_us:
            events.append(self._event(rule, k[1], "counter_report", grp))
            grp.packets = grp.nbytes = 0
            grp.start = now
        before = (grp.packets, grp.nbytes)
        grp.packets += 1
        grp.nbytes += nbytes
        grp.last = now
        for kind, limit, old, new in (
            ("PACKETS", rule.packet_threshold, before[0], grp.packets),
            ("BYTES", rule.byte_threshold, before[1], grp.nbytes),
        ):
            if limit and old < limit <= new:
                ev = self._event(rule, k[1], "threshold_alert", grp)
                ev.update(threshold_kind=kind, value=new, threshold=limit)
                events.append(ev)
        letters = packet_letters(p)
        if rule.bidirectional and sender != grp.originator:
            letters = letters.lower()
        for ch in letters:
            if ch not in grp.history and len(grp.history) < _MAX_LETTERS:
                grp.history += ch
        return events

    @staticmethod
    def _event(rule: StatsRule, key: tuple[int, ...], kind: str, grp: _Group) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": kind,
            "source": "software",
            "rule": rule.name,
            "rule_id": rule.rule_id,
            "key": key_dict(key),
        }
        if kind == "counter_report":
            out.update(
                packets=grp.packets,
                bytes=grp.nbytes,
                interval_start=grp.start,
                interval_end=grp.last,
                history=grp.history,
            )
        else:
            out["interval_start"] = grp.start
        return out


def key_dict(key: Sequence[int]) -> dict[str, Any]:
    """A group key in the decoded records' JSON shape (IPv6 keys as the *6 records')."""
    port, proto, flags, src, dst, sport, dport, *family = key
    if family and family[0]:
        addrs = {
            "ipv6_src": str(ipaddress.IPv6Address(src)),
            "ipv6_dst": str(ipaddress.IPv6Address(dst)),
        }
    else:
        addrs = {
            "ipv4_src": str(ipaddress.IPv4Address(src)),
            "ipv4_dst": str(ipaddress.IPv4Address(dst)),
        }
    return {
        "ingress_port": port,
        "ip_proto": proto,
        "tcp_flags": flags,
        **addrs,
        "l4_src_port": sport,
        "l4_dst_port": dport,
    }
