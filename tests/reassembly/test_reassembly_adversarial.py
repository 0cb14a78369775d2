"""Adversarial streams (many small out-of-order segments, inconsistent retransmissions,
holes) through main.p4 with SYN offload, stats and reassembly on, holding segments ahead
of a gap: they only ever cause holding or fallback. What the switch delivers in switch
mode is, byte for byte, the first copy sent of each stream byte, contiguous from offset
0, and nothing after a fallback is dropped; the stats and SYN-offload stages before it
still count every packet."""

from __future__ import annotations

import random

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from controlplane import pipeline_spec as ps
from controlplane.streams import StreamRebuilder
from feedback_header import codec
from feedback_header.records import Direction, StreamMode
from testbed.nids_switch import NidsSwitch

MONITOR = 1
OUTCOME = {o.p4: i for i, o in enumerate(ps.REASM_OUTCOMES)}
T0 = 1_000_000_000
RULES = """monitor:
  port: 1
  ingress_ports: [0]
syn_offload:
  slots: 1024
  timeout: 5s
reassembly:
  slots: 1024
  hold_segments_per_flow: 8
  hold_segments_total: 64
  gap_timeout: 300us
stats:
  - name: all-tcp
    match: {protocol: tcp}
    id: 1
    slot: 0
"""


def frame(
    src: str, dst: str, sport: int, dport: int, flags: str, seq: int, ack: int, data: bytes = b""
) -> bytes:
    p = (
        Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b")
        / IP(src=src, dst=dst)
        / TCP(sport=sport, dport=dport, flags=flags, seq=seq % (1 << 32), ack=ack % (1 << 32))
    )
    return bytes(p / data) if data else bytes(p)


def attack(rng: random.Random, sport: int) -> tuple[list[bytes], bytes, list[tuple[int, bytes]]]:
    """A connection whose originator sends a random mix of in-order, out-of-order, tiny,
    overlapping, inconsistent and missing segments: (frames, true data, the (offset,
    payload) of every data segment in send order)."""
    a, b = "10.66.0.1", "192.0.2.66"
    isn_o, isn_r = rng.randrange(1 << 32), rng.randrange(1 << 32)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(50, 400)))
    frames = [
        frame(a, b, sport, 80, "S", isn_o, 0),
        frame(b, a, 80, sport, "SA", isn_r, isn_o + 1),
        frame(a, b, sport, 80, "A", isn_o + 1, isn_r + 1),
    ]
    sent: list[tuple[int, bytes]] = []
    off = 0
    while off < len(data):
        n = rng.choice((1, 1, 2, 3, 8, 40))
        pieces = [(off, data[off : off + n])]
        kind = rng.random()
        if kind < 0.2 and off + n < len(data):  # a later piece first
            m = rng.randrange(1, 10)
            pieces.insert(0, (off + n, data[off + n : off + n + m]))
        elif kind < 0.35:  # the same range again, other bytes
            pieces.append((off, bytes(x ^ 0xFF for x in data[off : off + n])))
        elif kind < 0.45 and off > 0:  # an overlap reaching back
            back = rng.randrange(1, off + 1)
            pieces.append((off - back, data[off - back : off + n]))
        elif kind < 0.5:  # a hole: this piece is never sent
            pieces = []
        for o, p in pieces:
            if p:
                sent.append((o, p))
                frames.append(frame(a, b, sport, 80, "PA", isn_o + 1 + o, isn_r + 1, p))
        off += n
    return frames, data, sent


def first_copies(sent: list[tuple[int, bytes]]) -> dict[int, int]:
    """Stream offset -> the byte of the first segment sent that covered it."""
    first: dict[int, int] = {}
    for o, p in sent:
        for i, x in enumerate(p):
            first.setdefault(o + i, x)
    return first


@pytest.mark.parametrize("seed", range(12))
def test_adversarial_streams_only_fall_back(seed: int) -> None:
    rng = random.Random(seed)
    with NidsSwitch() as sw:
        sw.install_text(RULES)
        rebuilt = StreamRebuilder()
        t = T0
        n_frames = n_syns = 0
        passed_after_fallback = 0
        streams: list[tuple[int, list[tuple[int, bytes]]]] = []
        for k in range(8):
            frames, _data, sent = attack(rng, 30000 + k)
            fallen = False
            for f in frames:
                t += 7
                n_frames += 1
                n_syns += f[47] & 0x12 == 0x02  # TCP flags byte: plain SYN
                out = [d for port, d in sw.run(0, f, t) if port == MONITOR]
                for d in out:
                    rebuilt.feed(d)
                dec = [codec.try_decode(d) for d in out]
                if fallen:
                    # After the fallback every packet of the connection reaches the monitor
                    # (a segment held before it leaves on one of its next passes).
                    assert any(x is not None and x.original == f for x in dec)
                    passed_after_fallback += 1
                fallen = fallen or any(
                    x is not None and any(isinstance(r, StreamMode) for r in x.records) for x in dec
                )
            streams.append((30000 + k, sent))
        for _, d in sw.drain(t):
            rebuilt.feed(d)
        for sport, sent in streams:
            conn = next(c for c in rebuilt.connections.values() if c.orig[1] == sport)
            assert conn.errors == []
            got = bytes(conn.stream[Direction.ORIGINATOR])
            truth = first_copies(sent)
            assert all(got[i] == truth[i] for i in range(len(got))), "wrong byte in switch mode"
        # Stats (slot 0 counts every TCP packet) and SYN offload saw every packet.
        cells = sw.p4rt.read_counter(sw.schema.counter(ps.stats_outcomes(0)).id)
        counted = {c.index.index: c.data.packet_count for c in cells}[0]
        assert counted == n_frames
        assert sw.outcomes()[0] == n_syns  # SYN offload: SYNs seen
        assert passed_after_fallback > 0
        # Holding was exercised, and every held segment left the loop.
        cells = sw.p4rt.read_counter(sw.schema.counter(ps.REASM_OUTCOMES_COUNTER).id)
        reasm = {c.index.index: c.data.packet_count for c in cells}
        held = reasm[OUTCOME["HELD"]]
        assert held > 0 and reasm[OUTCOME["RELEASED"]] == held
