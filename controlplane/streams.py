"""The monitor's side of the reassembly stage (docs/reassembly.md): byte streams rebuilt
from the frames the monitor port delivers.

`StreamRebuilder.feed(frame)` takes every frame in the order the monitor got it. A
frame with a STREAM_SEGMENT record puts its TCP payload at the record's stream offset of
that flow and direction; because the switch only ever delivers in order, each segment
must start exactly where the stream so far ends (anything else is counted in
`Connection.errors`: the switch broke its promise). A STREAM_MODE record with
stream_state FALLBACK ends switch mode for the connection at the offsets it carries;
from then on (and for connections the switch never tracked) the raw TCP payloads are
kept per direction in arrival order as `raw`, for the monitor's own reassembly.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from feedback_header import codec
from feedback_header.records import (
    Direction,
    FallbackReason,
    StreamMode,
    StreamSegment,
    StreamState,
)

ETHERTYPE_IPV4 = 0x0800
IP_PROTO_TCP = 6

Tuple4 = tuple[str, int, str, int]
"""(source address, source port, destination address, destination port)."""


@dataclass(frozen=True)
class TcpPacket:
    """The fields of an IPv4 TCP packet the rebuilder needs."""

    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    flags: int
    payload: bytes


def parse_tcp(frame: bytes) -> TcpPacket | None:
    """The IPv4 TCP packet in an Ethernet frame (up to 2 VLAN tags), None otherwise."""
    off = 12
    et = int.from_bytes(frame[off : off + 2], "big")
    tags = 0
    while et in (0x8100, 0x88A8, 0x9100) and tags < 2:
        off += 4
        tags += 1
        et = int.from_bytes(frame[off : off + 2], "big")
    ip = off + 2
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

    def feed(self, frame: bytes) -> None:
        """One frame as the monitor port delivered it."""
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
            conn = self.connections[key] = Connection(orig)
        seg = next((r for r in records if isinstance(r, StreamSegment)), None)
        mode = next((r for r in records if isinstance(r, StreamMode)), None)
        direction = conn.direction_of(pkt)
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
        if seg is None and conn.mode in ("untracked", "software") and pkt.payload:
            conn.raw[direction].append((pkt.seq, pkt.payload))
