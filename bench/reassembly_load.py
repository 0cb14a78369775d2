"""How much of the TCP load the reassembly stage keeps in switch mode, and what it costs.

    python -m bench.reassembly_load

`p4src/main.p4` in process (`testbed.nids_switch`, rules installed by the controller,
holding on with the section's defaults: 4 segments per connection, 1024 in all, gap
timeout 10 ms):

1. every TCP capture of ../shared/traces/zeek/{tcp,http,ssh,ftp,smtp,tls}/ replayed
   (`testbed.reassembly_replay`): per capture and in all, connections and payload bytes
   in switch mode, the fallback reasons and the most segments held at once;
2. a generated mix: 400 connections of 20 data segments each, about 1.5% of the data
   segments swapped with their successor (backbone-like reordering) and 0.5% sent
   twice: the same shares, with holding on and with holding off (budgets 0);
3. engine packets/s of the whole pipeline on that mix with the stage on (holding),
   on without holding, and off (one core, wall clock; recirculation passes included).

Per-flow memory: 46 bytes per session slot for IPv4 (`sessions` 32, `status` 6, `holds`
8), plus 24 (`addrs6`) that every slot has for IPv6 sessions: 70 (docs/reassembly.md).
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from bench.machine import describe
from controlplane import pipeline_spec as ps
from controlplane.streams import StreamRebuilder
from feedback_header.records import Direction
from testbed.nids_switch import NidsSwitch
from testbed.reassembly_replay import RULES, replay

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces" / "zeek"
DIRS = ("tcp", "http", "ssh", "ftp", "smtp", "tls")
MAC = {"src": "00:00:00:00:00:0a", "dst": "00:00:00:00:00:0b"}


def shares(rebuilt: StreamRebuilder, reasons: Counter[str]) -> tuple[int, int, int, int]:
    """(connections, in switch mode, payload bytes, bytes delivered in switch mode)."""
    n = n_sw = total = in_sw = 0
    for c in rebuilt.connections.values():
        o, r = Direction.ORIGINATOR, Direction.RESPONDER
        full = len(c.full_stream(o)) + len(c.full_stream(r))
        if full == 0:
            continue
        n += 1
        total += full
        in_sw += len(c.stream[o]) + len(c.stream[r])
        if c.mode in ("switch", "closed"):
            n_sw += 1
        else:
            reasons[c.fallback_reason or "UNTRACKED (no SYN-ACK seen)"] += 1
    return n, n_sw, total, in_sw


def generated_mix(seed: int = 1, conns: int = 400, segs: int = 20) -> list[bytes]:
    """Interleaved connections with ~1.5% of data segments reordered, 0.5% duplicated."""
    rng = random.Random(seed)
    flows: list[list[bytes]] = []
    for k in range(conns):
        a, b, sport = f"10.{k // 250}.{k % 250}.1", "192.0.2.10", 20000 + k
        isn_o, isn_r = rng.randrange(1 << 32), rng.randrange(1 << 32)

        def f(
            src: str, dst: str, sp: int, dp: int, fl: str, seq: int, ack: int, data: bytes = b""
        ) -> bytes:
            p = (
                Ether(**MAC)
                / IP(src=src, dst=dst)
                / TCP(sport=sp, dport=dp, flags=fl, seq=seq % (1 << 32), ack=ack % (1 << 32))
            )
            return bytes(p / data) if data else bytes(p)

        pk = [
            f(a, b, sport, 80, "S", isn_o, 0),
            f(b, a, 80, sport, "SA", isn_r, isn_o + 1),
            f(a, b, sport, 80, "A", isn_o + 1, isn_r + 1),
        ]
        data: list[bytes] = []
        off = 0
        for _ in range(segs):
            n = rng.choice((100, 536, 1460))
            data.append(f(b, a, 80, sport, "PA", isn_r + 1 + off, isn_o + 1, bytes(n)))
            off += n
        i = 0
        while i < len(data) - 1:
            if rng.random() < 0.015:
                data[i], data[i + 1] = data[i + 1], data[i]
                i += 2
                continue
            if rng.random() < 0.005:
                data.insert(i + 1, data[i])
                i += 1
            i += 1
        pk += data
        pk.append(f(a, b, sport, 80, "R", isn_o + 1, 0))
        flows.append(pk)
    out: list[bytes] = []
    while flows:  # round robin: connections interleave
        flows = [fl for fl in flows if fl]
        for fl in flows:
            out.append(fl.pop(0))
    return out


NO_HOLDING = "  hold_segments_per_flow: 0\n"
HOLD_PASS = [o.p4 for o in ps.REASM_OUTCOMES].index("HOLD_PASS")


def run_mix(frames: list[bytes], mode: str) -> tuple[float, StreamRebuilder, int, int]:
    """(packets/s, the monitor's streams, held-segment peak, later passes of held
    segments) with the stage in `mode`: "hold", "no-hold" or "off"."""
    rebuilt = StreamRebuilder()
    with NidsSwitch() as sw:
        rules = RULES.format(slots=65536)
        if mode == "off":
            # no section: the stage is disabled
            rules = rules.split("reassembly:")[0] + "stats: []\n"
        elif mode == "no-hold":
            rules = rules.replace("reassembly:\n", "reassembly:\n" + NO_HOLDING)
        sw.install_text(rules)
        out: list[bytes] = []
        t = 1_000_000_000
        t0 = time.perf_counter()
        for i, fr in enumerate(frames):
            t = 1_000_000_000 + i * 10
            out += [d for port, d in sw.run(0, fr, t) if port == 1]
        out += [d for port, d in sw.drain(t) if port == 1]
        dt = time.perf_counter() - t0
        peak = sw.held_peak() if mode != "off" else 0
        cells = sw.p4rt.read_counter(sw.schema.counter(ps.REASM_OUTCOMES_COUNTER).id)
        passes = sum(c.data.packet_count for c in cells if c.index.index == HOLD_PASS)
    for d in out:
        rebuilt.feed(d)
    return len(frames) / dt, rebuilt, peak, passes


def main() -> int:
    print(f"machine: {describe()}")
    reasons: Counter[str] = Counter()
    tot = [0, 0, 0, 0]
    n_traces = peak = 0
    for d in DIRS:
        for trace in sorted((TRACES / d).glob("*.pcap")) + sorted((TRACES / d).glob("*.pcapng")):
            r = replay(trace)
            n_traces += 1
            peak = max(peak, r.held_peak)
            here: Counter[str] = Counter()
            counts = shares(r.rebuilt, here)
            reasons.update(here)
            for i, v in enumerate(counts):
                tot[i] += v
            if counts[0]:
                why = "; " + ", ".join(f"{k} {v}" for k, v in sorted(here.items())) if here else ""
                print(
                    f"  {d}/{trace.name}: {counts[1]}/{counts[0]} connections, "
                    f"{100 * counts[3] / max(counts[2], 1):.1f}% of bytes in switch mode, "
                    f"{r.outcomes['segments_held']} held (peak {r.held_peak}){why}"
                )
    n, n_sw, total, in_sw = tot
    print(
        f"zeek traces ({n_traces} captures): {n_sw}/{n} connections with payload in switch "
        f"mode ({100 * n_sw / max(n, 1):.1f}%), {in_sw}/{total} payload bytes delivered in "
        f"switch mode ({100 * in_sw / max(total, 1):.1f}%); held-segment peak {peak}"
    )
    print("  not in switch mode: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    frames = generated_mix()
    pps: dict[str, float] = {}
    for mode in ("hold", "no-hold", "off"):
        pps[mode], rebuilt, mix_peak, passes = run_mix(frames, mode)
        if mode == "off":
            continue
        mix_reasons: Counter[str] = Counter()
        n, n_sw, total, in_sw = shares(rebuilt, mix_reasons)
        print(
            f"generated mix ({len(frames)} frames), {mode}: {n_sw}/{n} connections in switch "
            f"mode ({100 * n_sw / max(n, 1):.1f}%), {in_sw}/{total} bytes "
            f"({100 * in_sw / max(total, 1):.1f}%); held-segment peak {mix_peak}, "
            f"{passes} recirculation passes; fallbacks: {dict(mix_reasons)}"
        )
    print(
        f"pipeline packets/s on the mix: stage on, holding {pps['hold']:,.0f}; on, no holding "
        f"{pps['no-hold']:,.0f}; off {pps['off']:,.0f}"
    )
    print("per-flow memory: 46 bytes per session slot (IPv4), 70 with IPv6's addresses")
    return 0


if __name__ == "__main__":
    sys.exit(main())
