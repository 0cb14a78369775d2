"""The monitor's side of the reassembly stage (docs/reassembly.md): byte streams rebuilt
from the frames the monitor port delivers.

`StreamRebuilder.feed(frame)` takes every frame in the order the monitor got it. A
frame with a STREAM_SEGMENT record puts its TCP payload at the record's stream offset of
that flow and direction; because the switch only ever delivers in order, each segment
must start exactly where the stream so far ends (anything else is counted in
`Connection.errors`: the switch broke its promise). A STREAM_MODE record with
stream_state FALLBACK ends switch mode for the connection at the offsets it carries;
from then on (and for connections the switch never tracked) the raw TCP payloads are
kept per direction in arrival order as `raw`, for the monitor's own reassembly (and so
are payloads that follow the close of a session, e.g. data after a RST).

`Connection.full_stream(direction)` is what the monitor ends up with: the switch's
in-order bytes, then (software mode) the raw packets reassembled from the fallback offset
on, first copy wins, up to the first hole. `write_streams` writes one file per connection
and direction, named by its endpoints, and returns a Zeek-style log entry per connection.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

from feedback_header import codec
from feedback_header.records import (
    Direction,
    FallbackReason,
    StreamMode,
    StreamSegment,
    StreamState,
)

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
IP_PROTO_TCP = 6

Tuple4 = tuple[str, int, str, int]
"""(source address, source port, destination address, destination port)."""


@dataclass(frozen=True)
class TcpPacket:
    """The fields of a TCP packet (IPv4 or IPv6) the rebuilder needs."""

    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    flags: int
    payload: bytes


def parse_tcp(frame: bytes) -> TcpPacket | None:
    """The IPv4 or IPv6 TCP packet in an Ethernet frame (up to 2 VLAN tags; IPv6
    hop-by-hop, routing and destination-options headers skipped), None otherwise."""
    off = 12
    et = int.from_bytes(frame[off : off + 2], "big")
    tags = 0
    while et in (0x8100, 0x88A8, 0x9100) and tags < 2:
        off += 4
        tags += 1
        et = int.from_bytes(frame[off : off + 2], "big")
    ip = off + 2
    if et == ETHERTYPE_IPV6:
        return _parse_tcp6(frame, ip)
    if et != ETHERTYPE_IPV4 or len(frame) < ip + 20:
        return None
    ihl = (frame[ip] & 0x0F) * 4
    total = int.from_bytes(frame[ip + 2 : ip + 4], "big")
    frag = int.from_bytes(frame[ip + 6 : ip + 8], "big")
    if frame[ip + 9] != IP_PROTO_TCP or frag & 0x3FFF or ihl < 20:
        return None
    t = ip + ihl
    if len(frame) < t + 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", frame[t : t + 8])
    doff = (frame[t + 12] >> 4) * 4
    flags = frame[t + 13]
    end = min(len(frame), ip + total)
    return TcpPacket(
        str(IPv4Address(frame[ip + 12 : ip + 16])),
        sport,
        str(IPv4Address(frame[ip + 16 : ip + 20])),
        dport,
        seq,
        flags,
        bytes(frame[t + doff : end]),
    )


_IPV6_SKIPPED = (0, 43, 60)  # hop-by-hop, routing, destination options


def _parse_tcp6(frame: bytes, ip: int) -> TcpPacket | None:
    if len(frame) < ip + 40:
        return None
    nh = frame[ip + 6]
    end = min(len(frame), ip + 40 + int.from_bytes(frame[ip + 4 : ip + 6], "big"))
    t = ip + 40
    while nh in _IPV6_SKIPPED and len(frame) >= t + 8:
        nh, t = frame[t], t + (frame[t + 1] + 1) * 8
    if nh != IP_PROTO_TCP or len(frame) < t + 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", frame[t : t + 8])
    doff = (frame[t + 12] >> 4) * 4
    return TcpPacket(
        str(IPv6Address(frame[ip + 8 : ip + 24])),
        sport,
        str(IPv6Address(frame[ip + 24 : ip + 40])),
        dport,
        seq,
        frame[t + 13],
        bytes(frame[t + doff : end]),
    )


@dataclass
class Connection:
    """One connection as the monitor rebuilt it."""

    orig: Tuple4
    flow_id: int = 0
    stream: dict[int, bytearray] = field(
        default_factory=lambda: {
            Direction.ORIGINATOR: bytearray(),
            Direction.RESPONDER: bytearray(),
        }
    )
    raw: dict[int, list[tuple[int, bytes]]] = field(
        default_factory=lambda: {Direction.ORIGINATOR: [], Direction.RESPONDER: []}
    )
    """Per direction: (sequence number, payload) of packets not in switch mode."""
    mode: str = "untracked"  # untracked | switch | software | closed
    fallback_reason: str = ""
    fallback_offsets: tuple[int, int] | None = None
    segments: int = 0
    errors: list[str] = field(default_factory=list)
    isn: dict[int, int] = field(default_factory=dict)
    """Per direction: the initial sequence number, from the SYN or SYN-ACK seen."""
    syn_data: dict[int, bytes] = field(default_factory=dict)
    """Per direction: payload of the SYN (TCP Fast Open); the stream starts with it and
    the switch's stream offsets count from after it."""
    first_ts: float = 0.0

    def software_part(self, direction: int) -> bytes:
        """The raw packets of `direction` reassembled from where the switch stopped: first
        copy of each byte wins, up to the first hole. Without the direction's SYN the
        first raw packet's sequence number starts the stream."""
        isn = self.isn.get(direction)
        if isn is None:
            if not self.raw[direction] or self.stream[direction]:
                return b""
            isn = self.raw[direction][0][0] - 1
        start = len(self.syn_data.get(direction, b"")) + len(self.stream[direction])
        got: dict[int, int] = {}
        for seq, payload in self.raw[direction]:
            off = (seq - isn - 1) % (1 << 32)
            for i, b in enumerate(payload):
                got.setdefault(off + i, b)
        out = bytearray()
        while start + len(out) in got:
            out.append(got[start + len(out)])
        return bytes(out)

    def full_stream(self, direction: int) -> bytes:
        """The direction's whole stream as the monitor gets it (see the module doc)."""
        head = self.syn_data.get(direction, b"")
        return head + bytes(self.stream[direction]) + self.software_part(direction)

    def file_stem(self) -> str:
        """`orig_h.orig_p-resp_h.resp_p`: how a user finds the connection's files."""
        oh, op, rh, rp = self.orig
        return f"{oh}.{op}-{rh}.{rp}"

    def log_entry(self) -> dict[str, Any]:
        """A Zeek-style log entry (`_path` reassembly) for this connection."""
        oh, op, rh, rp = self.orig
        o, r = Direction.ORIGINATOR, Direction.RESPONDER
        return {
            "_path": "reassembly",
            "ts": self.first_ts,
            "flow_id": self.flow_id,
            "id.orig_h": oh,
            "id.orig_p": op,
            "id.resp_h": rh,
            "id.resp_p": rp,
            "mode": self.mode,
            "fallback_reason": self.fallback_reason or None,
            "switch_orig_bytes": len(self.stream[o]),
            "switch_resp_bytes": len(self.stream[r]),
            "orig_bytes": len(self.full_stream(o)),
            "resp_bytes": len(self.full_stream(r)),
            "segments": self.segments,
            "errors": len(self.errors),
        }

    def direction_of(self, pkt: TcpPacket) -> int:
        """ORIGINATOR if `pkt` goes the originator's way."""
        o = self.orig
        if (pkt.src, pkt.sport, pkt.dst, pkt.dport) == o:
            return Direction.ORIGINATOR
        return Direction.RESPONDER


def _key(pkt: TcpPacket) -> tuple[Tuple4, Tuple4]:
    a = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
    b = (pkt.dst, pkt.dport, pkt.src, pkt.sport)
    return (a, b) if a <= b else (b, a)


class StreamRebuilder:
    """Connections rebuilt from the monitor port's frames, keyed by their endpoints."""

    def __init__(self) -> None:
        self.connections: dict[tuple[Tuple4, Tuple4], Connection] = {}
        self.frames = 0

    def feed(self, frame: bytes, ts: float = 0.0) -> None:
        """One frame as the monitor port delivered it (at `ts` seconds)."""
        self.frames += 1
        records: tuple[object, ...] = ()
        original: bytes | None = frame
        d = codec.try_decode(frame)
        if d is not None and not d.is_foreign:
            records = d.records
            original = d.original
        if original is None:
            return
        pkt = parse_tcp(original)
        if pkt is None:
            return
        key = _key(pkt)
        conn = self.connections.get(key)
        if conn is None:
            # The originator is the SYN's sender, else the SYN-ACK's receiver, else the first
            # sender seen.
            orig = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
            if pkt.flags & 0x12 == 0x12:
                orig = (pkt.dst, pkt.dport, pkt.src, pkt.sport)
            conn = self.connections[key] = Connection(orig, first_ts=ts)
        seg = next((r for r in records if isinstance(r, StreamSegment)), None)
        mode = next((r for r in records if isinstance(r, StreamMode)), None)
        direction = conn.direction_of(pkt)
        if pkt.flags & 0x02:  # SYN or SYN-ACK: the direction's ISN
            conn.isn[direction] = pkt.seq
            if pkt.payload and direction not in conn.syn_data:
                conn.syn_data[direction] = pkt.payload
        if seg is not None:
            if conn.mode == "untracked":
                conn.mode = "switch"
                conn.flow_id = seg.flow_id
            if conn.mode != "switch":
                conn.errors.append(f"frame {self.frames}: stream segment after switch mode ended")
            if seg.direction != direction:
                conn.errors.append(f"frame {self.frames}: record direction {seg.direction}")
            buf = conn.stream[direction]
            if seg.stream_offset != len(buf) % (1 << 32):
                conn.errors.append(
                    f"frame {self.frames}: segment at offset {seg.stream_offset}, "
                    f"stream has {len(buf)} bytes"
                )
            buf += pkt.payload
            conn.segments += 1
        if mode is not None and mode.stream_state == StreamState.FALLBACK:
            if conn.mode != "software":
                conn.mode = "software"
                conn.flow_id = mode.flow_id or conn.flow_id
                conn.fallback_reason = FallbackReason(mode.fallback_reason).name
                conn.fallback_offsets = (mode.orig_offset, mode.resp_offset)
        elif (
            mode is not None
            and mode.stream_state == StreamState.CLOSED
            and conn.mode in ("switch", "untracked")
        ):
            conn.mode = "closed"
        if seg is None and pkt.payload and not pkt.flags & 0x02:
            # Not delivered by the switch: untracked, software mode, or after the close.
            conn.raw[direction].append((pkt.seq, pkt.payload))


def write_streams(rebuilder: StreamRebuilder, directory: Path) -> list[dict[str, Any]]:
    """One file per connection and direction that carried bytes, `<stem>.orig` and
    `<stem>.resp` (`Connection.file_stem`), in `directory`; a log entry per connection."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for conn in rebuilder.connections.values():
        for direction, suffix in ((Direction.ORIGINATOR, "orig"), (Direction.RESPONDER, "resp")):
            data = conn.full_stream(direction)
            if data:
                (directory / f"{conn.file_stem()}.{suffix}").write_bytes(data)
        entries.append(conn.log_entry())
    return entries
