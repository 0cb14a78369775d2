"""TCP stream reassembly (p4src/include/control/reassembly.p4) on the engine, in process:
what reaches the monitor port, its records, the rebuilt streams and the outcome counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from p4.v1 import p4runtime_pb2
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane import pipeline_spec as ps
from controlplane.compile import encode
from controlplane.streams import Connection, StreamRebuilder
from feedback_header import codec
from feedback_header.records import (
    Direction,
    FallbackReason,
    StreamMode,
    StreamSegment,
    StreamState,
)
from testbed.nids_switch import NidsSwitch

MONITOR = 1
IN = 0
T0 = 1_000_000_000
OUTCOME = {o.p4: i for i, o in enumerate(ps.REASM_OUTCOMES)}

A, B = "10.0.0.1", "192.0.2.80"
A6, B6 = "2001:db8::1", "2001:db8:80::80"


def enable(
    sw: NidsSwitch,
    slots: int = 1024,
    idle_us: int = 60_000_000,
    hold: tuple[int, int, int] = (0, 0, 0),
) -> None:
    """The stage on; `hold` = (segments per connection, in all, gap timeout µs)."""
    t = sw.schema.table(ps.REASM_CONFIG_TABLE)
    a = sw.schema.action(ps.REASM_CONFIGURE)
    e = p4runtime_pb2.TableEntry(table_id=t.id, is_default_action=True)
    e.action.action.action_id = a.id
    for name, value in zip(ps.REASM_CONFIGURE_PARAMS, (slots, idle_us, *hold), strict=True):
        p = a.param(name)
        e.action.action.params.add(param_id=p.id, value=encode(value, p.bitwidth))
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
    u.entity.table_entry.CopyFrom(e)
    sw.p4rt.write([u])


def outcomes(sw: NidsSwitch) -> dict[str, int]:
    cells = sw.p4rt.read_counter(sw.schema.counter(ps.REASM_OUTCOMES_COUNTER).id)
    by_index = {c.index.index: c.data.packet_count for c in cells}
    return {name: by_index.get(i, 0) for name, i in OUTCOME.items()}


@pytest.fixture
def sw() -> Iterator[NidsSwitch]:
    with NidsSwitch() as s:
        s.install_text(f"monitor:\n  port: {MONITOR}\n  ingress_ports: [{IN}]\nstats: []\n")
        enable(s)
        yield s


class Conn:
    """A TCP connection between A:sport (originator) and B:dport (IPv6 between A6 and B6
    with `v6`)."""

    def __init__(
        self,
        sport: int = 40000,
        isn_o: int = 1000,
        isn_r: int = 5000,
        v6: bool = False,
        resp: str = B,
    ) -> None:
        self.sport, self.dport = sport, 80
        self.isn_o, self.isn_r = isn_o, isn_r
        self.v6 = v6
        self.resp = resp

    def _ip(self, from_orig: bool) -> IP | IPv6:
        src, dst = (A6, B6) if self.v6 else (A, self.resp)
        if not from_orig:
            src, dst = dst, src
        return IPv6(src=src, dst=dst) if self.v6 else IP(src=src, dst=dst)

    def o(self, flags: str, off: int = 0, data: bytes = b"") -> bytes:
        """Originator packet at stream offset `off` (seq = ISN + 1 + off)."""
        p = Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b") / self._ip(True)
        seq = (self.isn_o + 1 + off) % (1 << 32)
        p = p / TCP(
            sport=self.sport,
            dport=self.dport,
            flags=flags,
            seq=seq,
            ack=(self.isn_r + 1) % (1 << 32),
        )
        return bytes(p / data) if data else bytes(p)

    def r(self, flags: str, off: int = 0, data: bytes = b"") -> bytes:
        p = Ether(src="00:00:00:00:00:0b", dst="00:00:00:00:00:0a") / self._ip(False)
        seq = (self.isn_r + 1 + off) % (1 << 32)
        p = p / TCP(
            sport=self.dport,
            dport=self.sport,
            flags=flags,
            seq=seq,
            ack=(self.isn_o + 1) % (1 << 32),
        )
        return bytes(p / data) if data else bytes(p)

    def handshake(self) -> list[bytes]:
        syn = bytes(
            Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b")
            / self._ip(True)
            / TCP(sport=self.sport, dport=self.dport, flags="S", seq=self.isn_o)
        )
        synack = bytes(
            Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b")
            / self._ip(False)
            / TCP(
                sport=self.dport,
                dport=self.sport,
                flags="SA",
                seq=self.isn_r,
                ack=(self.isn_o + 1) % (1 << 32),
            )
        )
        return [syn, synack, self.o("A")]


class Run:
    """Frames sent into the switch, what left on the monitor port, rebuilt."""

    def __init__(self, sw: NidsSwitch) -> None:
        self.sw = sw
        self.t = T0
        self.out: list[bytes] = []
        self.rebuilt = StreamRebuilder()

    def send(self, *frames: bytes) -> list[bytes]:
        got = []
        for f in frames:
            self.t += 10
            for port, data in self.sw.run(IN, f, self.t):
                assert port == MONITOR
                got.append(data)
                self.rebuilt.feed(data)
        self.out += got
        return got

    def drain(self) -> list[bytes]:
        """What held segments emit until none is left (the clock moving on)."""
        got = [data for _, data in self.sw.drain(self.t)]
        for data in got:
            self.rebuilt.feed(data)
        self.out += got
        return got

    def conn(self) -> Connection:
        (c,) = self.rebuilt.connections.values()
        return c


def records(frame: bytes) -> tuple[object, ...]:
    d = codec.try_decode(frame)
    return () if d is None else d.records


def test_in_order_both_directions(sw: NidsSwitch) -> None:
    c, run = Conn(), Run(sw)
    run.send(*c.handshake())
    out = run.send(
        c.o("PA", 0, b"GET / HTTP/1.0\r\n"),
        c.r("PA", 0, b"HTTP/1.0 200"),
        c.o("PA", 16, b"\r\n"),
        c.r("PA", 12, b" OK\r\n"),
    )
    segs = [next(r for r in records(f) if isinstance(r, StreamSegment)) for f in out]
    assert [(s.direction, s.stream_offset) for s in segs] == [
        (Direction.ORIGINATOR, 0),
        (Direction.RESPONDER, 0),
        (Direction.ORIGINATOR, 16),
        (Direction.RESPONDER, 12),
    ]
    assert len({s.flow_id for s in segs}) == 1 and segs[0].flow_id != 0
    conn = run.conn()
    assert conn.mode == "switch" and not conn.errors
    assert bytes(conn.stream[Direction.ORIGINATOR]) == b"GET / HTTP/1.0\r\n\r\n"
    assert bytes(conn.stream[Direction.RESPONDER]) == b"HTTP/1.0 200 OK\r\n"
    # Everything else (handshake, ACKs) passes without records, untouched.
    assert run.out[:3] == c.handshake()
    o = outcomes(sw)
    assert o["OPENED"] == 1 and o["IN_ORDER"] == 4 and o["FALLBACK"] == 0


def test_duplicate_dropped_and_counted(sw: NidsSwitch) -> None:
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"abcd"))
    assert run.send(c.o("PA", 0, b"abcd")) == []
    assert run.send(c.o("PA", 1, b"bc")) == []  # inside what was delivered
    run.send(c.o("PA", 4, b"ef"))
    conn = run.conn()
    assert bytes(conn.stream[Direction.ORIGINATOR]) == b"abcdef" and conn.mode == "switch"
    assert outcomes(sw)["DUPLICATE"] == 2


def test_inconsistent_retransmission_first_copy_wins(sw: NidsSwitch) -> None:
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"good"))
    assert run.send(c.o("PA", 0, b"evil")) == []
    assert bytes(run.conn().stream[Direction.ORIGINATOR]) == b"good"


def test_gap_falls_back_with_offsets(sw: NidsSwitch) -> None:
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"), c.r("PA", 0, b"xy"))
    ahead = c.o("PA", 8, b"89")
    (f,) = run.send(ahead)
    (mode,) = [r for r in records(f) if isinstance(r, StreamMode)]
    assert mode.stream_state == StreamState.FALLBACK
    assert mode.fallback_reason == FallbackReason.BUFFER_OVERFLOW
    assert (mode.orig_offset, mode.resp_offset) == (4, 2)
    assert codec.decode(f).original == ahead  # unmodified
    # Later packets: unmodified, marked, nothing dropped (the duplicate too).
    later = [c.o("PA", 4, b"4567"), c.o("PA", 0, b"0123"), c.r("PA", 2, b"z")]
    got = run.send(*later)
    assert [codec.decode(g).original for g in got] == later
    for g in got:
        (m,) = [r for r in records(g) if isinstance(r, StreamMode)]
        assert m.stream_state == StreamState.FALLBACK
        assert m.fallback_reason == FallbackReason.BUFFER_OVERFLOW
        assert not any(isinstance(r, StreamSegment) for r in records(g))
    conn = run.conn()
    assert conn.mode == "software" and conn.fallback_offsets == (4, 2)
    assert bytes(conn.stream[Direction.ORIGINATOR]) == b"0123"
    o = outcomes(sw)
    assert o["FALLBACK"] == 1 and o["SOFTWARE"] == 3


def test_partial_overlap_falls_back(sw: NidsSwitch) -> None:
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"))
    (f,) = run.send(c.o("PA", 2, b"2345"))
    (mode,) = [r for r in records(f) if isinstance(r, StreamMode)]
    assert mode.fallback_reason == FallbackReason.PARTIAL_OVERLAP
    assert mode.orig_offset == 4


def test_sequence_wrap(sw: NidsSwitch) -> None:
    c, run = Conn(isn_o=(1 << 32) - 3, isn_r=(1 << 32) - 1), Run(sw)
    run.send(*c.handshake())
    run.send(c.o("PA", 0, b"abcd"), c.o("PA", 4, b"efgh"), c.r("PA", 0, b"12"))
    assert run.send(c.o("PA", 2, b"cd")) == []  # duplicate across the wrap
    conn = run.conn()
    assert conn.mode == "switch" and not conn.errors
    assert bytes(conn.stream[Direction.ORIGINATOR]) == b"abcdefgh"
    assert bytes(conn.stream[Direction.RESPONDER]) == b"12"


def test_fin_closes_and_rst_mid_stream(sw: NidsSwitch) -> None:
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"ab"))
    run.send(c.o("FA", 2), c.r("PA", 0, b"xyz"))
    (f,) = run.send(c.r("FA", 3))
    (mode,) = [r for r in records(f) if isinstance(r, StreamMode)]
    assert mode.stream_state == StreamState.CLOSED and (mode.orig_offset, mode.resp_offset) == (
        3,
        4,
    )
    assert run.send(c.o("A", 3)) and outcomes(sw)["CLOSED"] == 1

    d, run2 = Conn(sport=40001), Run(sw)
    run2.send(*d.handshake(), d.o("PA", 0, b"ab"))
    (f,) = run2.send(d.r("R", 0))
    (mode,) = [r for r in records(f) if isinstance(r, StreamMode)]
    assert mode.stream_state == StreamState.CLOSED
    # After the RST the session is gone: later packets pass untouched, without records.
    late = d.o("PA", 2, b"cd")
    assert run2.send(late) == [late]


def test_collision_marks_the_second_connection(sw: NidsSwitch) -> None:
    enable(sw, slots=1)
    c, d, run = Conn(), Conn(sport=40001), Run(sw)
    run.send(*c.handshake())
    got = run.send(*d.handshake())
    (mode,) = [r for r in records(got[1]) if isinstance(r, StreamMode)]
    assert mode.fallback_reason == FallbackReason.HASH_COLLISION and mode.flow_id == 0
    data = d.o("PA", 0, b"zz")
    assert run.send(data) == [data]
    assert outcomes(sw)["COLLISION"] == 1


def test_flow_ids_never_reused(sw: NidsSwitch) -> None:
    enable(sw, slots=1)
    ids = []
    for i in range(3):
        c, run = Conn(sport=41000 + i), Run(sw)
        run.send(*c.handshake(), c.o("PA", 0, b"x"), c.o("RA", 1))
        ids.append(run.conn().flow_id)
    assert len(set(ids)) == 3 and 0 not in ids


def test_disabled_stage_passes_everything(sw: NidsSwitch) -> None:
    t = sw.schema.table(ps.REASM_CONFIG_TABLE)
    e = p4runtime_pb2.TableEntry(table_id=t.id, is_default_action=True)
    e.action.action.action_id = sw.schema.action(ps.REASM_DISABLE).id
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
    u.entity.table_entry.CopyFrom(e)
    sw.p4rt.write([u])
    c, run = Conn(), Run(sw)
    frames = [*c.handshake(), c.o("PA", 0, b"ab"), c.o("PA", 0, b"ab")]
    assert run.send(*frames) == frames


def test_dropped_duplicate_still_delivers_stats_records() -> None:
    """Stats runs first: an alert on a duplicate the stage drops leaves on an otherwise
    empty frame (orig EtherType none); the duplicate itself does not."""
    from feedback_header.records import ThresholdAlert

    stats = (
        "stats:\n  - name: tcp-alert\n    match: {protocol: tcp}\n"
        "    thresholds: {packets: 5}\n    id: 9\n    slot: 0\n"
    )
    with NidsSwitch() as s:
        s.install_text(f"monitor:\n  port: {MONITOR}\n  ingress_ports: [{IN}]\n{stats}")
        enable(s)
        c, run = Conn(), Run(s)
        run.send(*c.handshake(), c.o("PA", 0, b"abcd"))
        (out,) = run.send(c.o("PA", 0, b"abcd"))  # the 5th TCP packet: the alert
        d = codec.decode(out)
        assert not d.has_original and codec.strip(out) == b""
        assert [type(r) for r in d.records] == [ThresholdAlert]
        assert outcomes(s)["DUPLICATE"] == 1


# ---- holding segments ahead of a gap (a recirculation loop)

HOLD = (4, 64, 1_000)  # 4 per connection, 64 in all, gap timeout 1 ms


def held_now(sw: NidsSwitch) -> list[int]:
    """The held register: [segments held now, most held at once]."""
    reg = sw.pipeline.state.registers[ps.REASM_HELD]
    return [int(reg.read(i)) for i in range(2)]


def segments(frames: list[bytes]) -> list[tuple[bytes, int]]:
    """(payload, stream offset) of every frame with a STREAM_SEGMENT record."""
    out = []
    for f in frames:
        seg = next((r for r in records(f) if isinstance(r, StreamSegment)), None)
        if seg is not None:
            out.append((codec.decode(f).original[-4:], seg.stream_offset))
    return out


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_reordered_segment_held_then_released_in_order(sw: NidsSwitch, v6: bool) -> None:
    enable(sw, hold=HOLD)
    c, run = Conn(v6=v6), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"))
    late = c.o("PA", 8, b"89ab")
    assert run.send(late) == []  # held
    assert held_now(sw) == [1, 1] and sw.pipeline.waiting() == 1
    fill = c.o("PA", 4, b"4567")
    got = run.send(fill)
    # The gap's segment first, then the held one on its next pass: in order, unmodified.
    assert [codec.decode(g).original for g in got] == [fill, late]
    assert segments(got) == [(b"4567", 4), (b"89ab", 8)]
    assert held_now(sw) == [0, 1] and sw.pipeline.waiting() == 0
    conn = run.conn()
    assert conn.mode == "switch" and not conn.errors
    assert bytes(conn.stream[Direction.ORIGINATOR]) == b"0123456789ab"
    o = outcomes(sw)
    assert (o["HELD"], o["RELEASED"], o["FALLBACK"], o["IN_ORDER"]) == (1, 1, 0, 3)


def test_several_held_segments_released_in_order(sw: NidsSwitch) -> None:
    enable(sw, hold=HOLD)
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0000"))
    # Three segments after two gaps, the later ones first.
    first = c.o("PA", 4, b"1111")
    got = run.send(c.o("PA", 16, b"4444"), c.o("PA", 12, b"3333"), first)
    assert [codec.decode(g).original for g in got] == [first]
    assert held_now(sw) == [2, 2]
    got = run.send(c.o("PA", 8, b"2222"))
    run.drain()
    conn = run.conn()
    assert conn.mode == "switch" and not conn.errors
    assert bytes(conn.stream[Direction.ORIGINATOR]) == b"00001111222233334444"
    assert segments(got)[0] == (b"2222", 8)
    assert held_now(sw)[0] == 0 and outcomes(sw)["FALLBACK"] == 0


def test_hold_budget_exhausted_falls_back_and_releases_held(sw: NidsSwitch) -> None:
    enable(sw, hold=(2, 64, 1_000_000))
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"))
    held = [c.o("PA", 8, b"89"), c.o("PA", 10, b"ab")]
    assert run.send(*held) == []
    third = c.o("PA", 12, b"cd")
    got = run.send(third)
    # The third one falls back; the held ones leave on their next pass (in the loop's
    # order), unmodified and marked: nothing lost.
    originals = [codec.decode(g).original for g in got]
    assert originals[0] == third and sorted(originals[1:]) == sorted(held)
    for g in got:
        (m,) = [r for r in records(g) if isinstance(r, StreamMode)]
        assert (m.stream_state, m.fallback_reason) == (
            StreamState.FALLBACK,
            FallbackReason.BUFFER_OVERFLOW,
        )
        assert (m.orig_offset, m.resp_offset) == (4, 0)
    assert held_now(sw) == [0, 2]
    conn = run.conn()
    run.send(c.o("PA", 4, b"4567"))
    assert conn.mode == "software" and conn.full_stream(Direction.ORIGINATOR) == b"0123456789abcd"


def test_gap_timeout_releases_the_held_segment(sw: NidsSwitch) -> None:
    enable(sw, hold=(4, 64, 100))  # 100 µs
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"))
    late = c.o("PA", 8, b"89")
    assert run.send(late) == []
    got: list[bytes] = []
    for _ in range(30):  # 10 µs apart
        got += run.send(c.r("A", 0))
    (f,) = [g for g in got if codec.strip(g) == late]
    # It left after the gap timeout (about 10 later packets), not at the pass bound.
    assert 9 <= got.index(f) <= 12
    (m,) = [r for r in records(f) if isinstance(r, StreamMode)]
    assert m.fallback_reason == FallbackReason.GAP_TIMEOUT and m.orig_offset == 4
    assert held_now(sw)[0] == 0 and run.conn().mode == "software"


def test_drain_releases_what_is_held_at_the_end(sw: NidsSwitch) -> None:
    enable(sw, hold=HOLD)
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"))
    late = c.o("PA", 8, b"89")
    run.send(late)
    (f,) = run.drain()
    assert codec.decode(f).original == late and sw.pipeline.waiting() == 0


def test_copy_of_a_held_segment(sw: NidsSwitch) -> None:
    """Same start and length as a held segment: dropped (the held one came first);
    another length: INCONSISTENT_OVERLAP."""
    enable(sw, hold=HOLD)
    c, run = Conn(), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"))
    run.send(c.o("PA", 8, b"good"))
    assert run.send(c.o("PA", 8, b"evil")) == []
    assert outcomes(sw)["DUPLICATE"] == 1
    got = run.send(c.o("PA", 4, b"4567"))
    assert segments(got) == [(b"4567", 4), (b"good", 8)]
    assert bytes(run.conn().stream[Direction.ORIGINATOR]) == b"01234567good"

    d, run2 = Conn(sport=40002), Run(sw)
    run2.send(*d.handshake(), d.o("PA", 0, b"0123"))
    held = d.o("PA", 8, b"good")
    run2.send(held)
    other = d.o("PA", 8, b"goodbye")
    got = run2.send(other)
    assert [codec.decode(g).original for g in got] == [other, held]
    (m,) = [r for r in records(got[0]) if isinstance(r, StreamMode)]
    assert m.fallback_reason == FallbackReason.INCONSISTENT_OVERLAP


def test_held_segment_counted_once_by_stats() -> None:
    """A held segment's later passes are not counted again by the stats stage."""
    stats = "stats:\n  - name: all-tcp\n    match: {protocol: tcp}\n    id: 3\n    slot: 0\n"
    with NidsSwitch() as s:
        s.install_text(f"monitor:\n  port: {MONITOR}\n  ingress_ports: [{IN}]\n{stats}")
        enable(s, hold=(4, 64, 1_000_000))
        c, run = Conn(), Run(s)
        frames = [*c.handshake(), c.o("PA", 0, b"0123"), c.o("PA", 8, b"89")]
        frames += [c.r("A", 0)] * 5 + [c.o("PA", 4, b"4567")]
        run.send(*frames)
        assert s.pipeline.waiting() == 0 and outcomes(s)["HOLD_PASS"] == 5
        reg = s.pipeline.state.counters[ps.stats_outcomes(0)]
        assert reg.read(0)[1] == len(frames)  # (bytes, packets)


def test_ipv6_full_key_never_merges_connections(sw: NidsSwitch) -> None:
    """Two IPv6 connections whose addresses differ only above the low 32 bits (and same
    ports) are two connections: with one slot, the second one's SYN-ACK collides."""
    global A6
    enable(sw, slots=1)
    c, run = Conn(v6=True), Run(sw)
    run.send(*c.handshake())
    saved, A6 = A6, "2001:db8:ffff::1"
    try:
        d = Conn(v6=True)
        got = run.send(*d.handshake())
    finally:
        A6 = saved
    (mode,) = [r for r in records(got[1]) if isinstance(r, StreamMode)]
    assert mode.fallback_reason == FallbackReason.HASH_COLLISION
    assert outcomes(sw)["COLLISION"] == 1


def test_ipv6_gap_falls_back_without_holding(sw: NidsSwitch) -> None:
    c, run = Conn(v6=True), Run(sw)
    run.send(*c.handshake(), c.o("PA", 0, b"0123"))
    ahead = c.o("PA", 8, b"89")
    (f,) = run.send(ahead)
    (mode,) = [r for r in records(f) if isinstance(r, StreamMode)]
    assert (mode.fallback_reason, mode.orig_offset) == (FallbackReason.BUFFER_OVERFLOW, 4)
    assert codec.decode(f).original == ahead
    conn = run.conn()
    assert conn.mode == "software" and conn.orig[0] == A6


def test_segment_with_stats_records_is_not_held() -> None:
    """A segment ahead of a gap that carries stats records falls back instead of waiting
    in the loop (its records leave with it at once)."""
    from feedback_header.records import ThresholdAlert

    stats = (
        "stats:\n  - name: tcp-alert\n    match: {protocol: tcp}\n"
        "    thresholds: {packets: 5}\n    id: 9\n    slot: 0\n"
    )
    with NidsSwitch() as s:
        s.install_text(f"monitor:\n  port: {MONITOR}\n  ingress_ports: [{IN}]\n{stats}")
        enable(s, hold=HOLD)
        c, run = Conn(), Run(s)
        run.send(*c.handshake(), c.o("PA", 0, b"abcd"))
        (out,) = run.send(c.o("PA", 8, b"ij"))  # the 5th TCP packet: the alert
        kinds = {type(r) for r in records(out)}
        assert kinds == {ThresholdAlert, StreamMode}
        assert outcomes(s)["HELD"] == 0


def test_held_segment_duplicated_to_workers_once_released() -> None:
    """Balance duplicates the connection to two workers (a multicast group): a held
    segment goes round as one copy and is duplicated when it leaves, in order on both."""
    from controlplane.balance.entries import (
        ClusterRule,
        cluster_update,
        group_update,
        multicast_update,
        worker_port_updates,
    )
    from controlplane.balance.flow import Flow

    workers = (1, 2, 3, 4)
    victim = "198.51.100.7"
    with NidsSwitch() as s:
        s.install_text(f"monitor:\n  port: {MONITOR}\n  ingress_ports: [{IN}]\nstats: []\n")
        dst = Flow.of("10.0.0.0", victim, 0, 0, 6).dst
        s.p4rt.write(
            [
                group_update(s.schema, 1, len(workers), False, 60_000_000),
                *worker_port_updates(s.schema, 1, workers),
                multicast_update(7, [workers[1], workers[3]]),
                cluster_update(
                    s.schema, 1, ClusterRule(worker=1, priority=10, dst=(dst, 32), mcast_group=7)
                ),
            ]
        )
        enable(s, hold=HOLD)
        c = Conn(resp=victim)
        t = T0
        for f in c.handshake():
            t += 10
            s.run(IN, f, t)
        a, late, fill = c.o("PA", 0, b"0123"), c.o("PA", 8, b"89ab"), c.o("PA", 4, b"4567")
        assert [p for p, _ in s.run(IN, a, t + 10)] == [workers[1], workers[3]]
        assert s.run(IN, late, t + 20) == []
        out = s.run(IN, fill, t + 30)
        assert [p for p, _ in out] == [workers[1], workers[3]] * 2
        assert [codec.decode(d).original for _, d in out] == [fill, fill, late, late]
        offsets = [
            next(r.stream_offset for r in records(d) if isinstance(r, StreamSegment))
            for _, d in out
        ]
        assert offsets == [4, 4, 8, 8]
