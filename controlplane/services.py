"""The monitor's side of the prefilter stage (docs/prefilter.md): each connection's
service, as Zeek's conn.log `service` field names it.

`ServiceNamer.feed(frame)` takes every frame the monitor port delivers. The switch's
PROTOCOL_MATCH records name TCP connections (MATCHED, then KNOWN on later segments) and
UDP datagrams (DATAGRAM); a NO_PROTOCOL record says the switch matched nothing in the
first bytes of both directions and stopped forwarding the connection. For every other
connection (software-mode and untracked TCP, flows whose slot the switch lost, IPv6
and other traffic the switch does not match) the namer collects the first
`PF_HEAD_BYTES` stream bytes of each direction itself and runs the same pattern and
pairs tables in software (`prefilter.SoftwareMatcher`), so the monitor gets one answer
either way. `services()` gives, per connection, (service or None, who named it).

FTP data connections carry no protocol of their own: as Zeek does, the namer reads the
address and port an FTP control connection announces (RFC 959 §4.1.2 PORT and the 227
reply to PASV, RFC 2428 §2 EPRT and §3 the 229 reply to EPSV) and names the connection
to it `ftp-data` (who: "software").
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

from controlplane.pipeline_spec import PF_HEAD_BYTES
from controlplane.prefilter import TCP, UDP, PrefilterConfig, SoftwareMatcher
from feedback_header import codec
from feedback_header.records import MatchState, NoProtocol, ProtocolMatch

FTP_DATA = "ftp-data"
_PORT = re.compile(rb"^(?:PORT |227 [^(\r\n]*\(?)(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", re.M | re.I)
_EPRT = re.compile(rb"^EPRT (.)[12]\1([0-9A-Fa-f.:]+)\1(\d+)\1", re.M | re.I)
_EPSV = re.compile(rb"^229 [^(\r\n]*\((.)\1\1(\d+)\1\)", re.M)

Endpoint = tuple[str, int]
ConnKey = tuple[int, frozenset[Endpoint]]
"""(IP protocol, both endpoints): one key for both directions."""


@dataclass(frozen=True)
class Packet:
    """What the namer needs of an IPv4/IPv6 TCP or UDP packet."""

    proto: int
    src: Endpoint
    dst: Endpoint
    seq: int
    flags: int
    payload: bytes


def parse_packet(frame: bytes) -> Packet | None:
    """The TCP or UDP packet of an Ethernet frame (up to 2 VLAN tags; IPv6 without
    extension headers), None for anything else or an IP fragment after the first."""
    off = 12
    et = int.from_bytes(frame[off : off + 2], "big")
    for _ in range(2):
        if et not in (0x8100, 0x88A8, 0x9100):
            break
        off += 4
        et = int.from_bytes(frame[off : off + 2], "big")
    ip = off + 2
    if et == 0x0800 and len(frame) >= ip + 20:
        ihl = (frame[ip] & 0x0F) * 4
        end = min(len(frame), ip + int.from_bytes(frame[ip + 2 : ip + 4], "big"))
        if int.from_bytes(frame[ip + 6 : ip + 8], "big") & 0x1FFF or ihl < 20:
            return None
        proto, l4 = frame[ip + 9], ip + ihl
        src, dst = (
            str(IPv4Address(frame[ip + 12 : ip + 16])),
            str(IPv4Address(frame[ip + 16 : ip + 20])),
        )
    elif et == 0x86DD and len(frame) >= ip + 40:
        end = min(len(frame), ip + 40 + int.from_bytes(frame[ip + 4 : ip + 6], "big"))
        proto, l4 = frame[ip + 6], ip + 40
        src, dst = (
            str(IPv6Address(frame[ip + 8 : ip + 24])),
            str(IPv6Address(frame[ip + 24 : ip + 40])),
        )
    else:
        return None
    if proto == TCP and len(frame) >= l4 + 20:
        sport, dport, seq = struct.unpack("!HHI", frame[l4 : l4 + 8])
        doff = (frame[l4 + 12] >> 4) * 4
        return Packet(TCP, (src, sport), (dst, dport), seq, frame[l4 + 13], frame[l4 + doff : end])
    if proto == UDP and len(frame) >= l4 + 8:
        sport, dport = struct.unpack("!HH", frame[l4 : l4 + 4])
        return Packet(UDP, (src, sport), (dst, dport), 0, 0, frame[l4 + 8 : end])
    return None


@dataclass
class Flow:
    """One connection as the namer saw it."""

    proto: int
    orig: Endpoint
    resp: Endpoint
    switch_id: int = 0  # protocol id the switch named (0: none)
    no_protocol: bool = False  # the switch cut it (NO_PROTOCOL)
    base: dict[bool, int] = field(default_factory=dict)  # is_orig -> ISN + 1
    heads: dict[bool, dict[int, int]] = field(default_factory=lambda: {True: {}, False: {}})
    datagram: bytes | None = None  # the first UDP payload
    announced: list[Endpoint] = field(default_factory=list)  # FTP data endpoints
    octets: int = 0  # bytes of the frames the monitor got (without feedback headers)
    packets: int = 0

    def head(self, is_orig: bool) -> bytes:
        """The direction's first stream bytes (first copy wins, up to the first hole)."""
        got, out = self.heads[is_orig], bytearray()
        while len(out) in got:
            out.append(got[len(out)])
        return bytes(out)


class ServiceNamer:
    """Per connection: the service the switch named, else the one the same patterns
    name in software."""

    def __init__(self, cfg: PrefilterConfig | None) -> None:
        self.matcher = SoftwareMatcher(cfg) if cfg is not None and cfg.enabled else None
        self.names = cfg.services() if cfg is not None else {}
        self.flows: dict[ConnKey, Flow] = {}

    def feed(self, frame: bytes) -> Flow | None:
        """One frame as the monitor port delivered it; the connection it belongs to."""
        records: tuple[object, ...] = ()
        original: bytes | None = frame
        d = codec.try_decode(frame)
        if d is not None and not d.is_foreign:
            records, original = d.records, d.original
        if original is None:
            return None
        pkt = parse_packet(original)
        if pkt is None:
            return None
        key = (pkt.proto, frozenset((pkt.src, pkt.dst)))
        flow = self.flows.get(key)
        if flow is None:
            orig, resp = pkt.src, pkt.dst
            if pkt.proto == TCP and pkt.flags & 0x12 == 0x12:
                orig, resp = pkt.dst, pkt.src
            flow = self.flows[key] = Flow(pkt.proto, orig, resp)
        for rec in records:
            if isinstance(rec, ProtocolMatch) and rec.protocol_id and not flow.switch_id:
                if rec.match_state != MatchState.NO_STATE:
                    flow.switch_id = rec.protocol_id
            elif isinstance(rec, NoProtocol):
                flow.no_protocol = True
        is_orig = (pkt.src, pkt.dst) == (flow.orig, flow.resp)
        flow.octets += len(original)
        flow.packets += 1
        if pkt.proto == UDP:
            if flow.datagram is None and pkt.payload:
                flow.datagram = pkt.payload
            return flow
        if pkt.flags & 0x02:  # SYN or SYN-ACK: the direction's ISN
            flow.base[is_orig] = (pkt.seq + 1) % (1 << 32)
            return flow
        if not pkt.payload:
            return flow
        self._announce(flow, pkt, is_orig)
        base = flow.base.setdefault(is_orig, pkt.seq)
        start = (pkt.seq - base) % (1 << 32)
        got = flow.heads[is_orig]
        for i, b in enumerate(pkt.payload[: max(0, PF_HEAD_BYTES - start)]):
            got.setdefault(start + i, b)
        return flow

    @staticmethod
    def _announce(flow: Flow, pkt: Packet, is_orig: bool) -> None:
        """Data endpoints an FTP control connection's packet announces."""
        data = pkt.payload
        if b"PORT" not in data.upper() and b"227" not in data and b"229" not in data:
            return
        for m in _PORT.finditer(data):
            n = [int(x) for x in m.groups()]
            flow.announced.append((".".join(map(str, n[:4])), n[4] * 256 + n[5]))
        for m in _EPRT.finditer(data):
            flow.announced.append((m.group(2).decode(), int(m.group(3))))
        if not is_orig:
            for m in _EPSV.finditer(data):
                flow.announced.append((pkt.src[0], int(m.group(2))))

    def service(self, flow: Flow) -> tuple[str | None, str]:
        """(service, who named it: "switch", "software" or "" for nobody)."""
        if flow.switch_id:
            return self.names.get(flow.switch_id, f"protocol-{flow.switch_id}"), "switch"
        if flow.no_protocol or self.matcher is None:
            return None, ""
        if flow.proto == UDP:
            pid = self.matcher.udp_service(flow.datagram or b"", flow.orig[1], flow.resp[1])
        else:
            pid = self.matcher.tcp_service(
                flow.head(True), flow.head(False), flow.orig[1], flow.resp[1]
            )
        return (self.names.get(pid), "software") if pid else (None, "")

    def services(self) -> dict[ConnKey, tuple[str | None, str]]:
        """Every connection seen -> (service or None, who named it)."""
        out = {k: self.service(f) for k, f in self.flows.items()}
        data: set[Endpoint] = set()
        for k, f in self.flows.items():
            if out[k][0] == "ftp":
                data |= {(_norm(a), p) for a, p in f.announced}
        for k, f in self.flows.items():
            if f.proto == TCP and out[k][0] is None and (_norm(f.resp[0]), f.resp[1]) in data:
                out[k] = (FTP_DATA, "software")
        return out


def _norm(addr: str) -> str:
    """An address as `ipaddress` writes it (so announced and seen ones compare)."""
    try:
        return str(ip_address(addr))
    except ValueError:
        return addr
