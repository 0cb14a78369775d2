"""How much of the TCP load the reassembly stage keeps in switch mode, and what it costs.

    python -m bench.reassembly_load

`p4src/main.p4` in process (`testbed.nids_switch`, rules installed by the controller):

1. every TCP capture of ../shared/traces/zeek/{tcp,http,ssh,ftp,smtp,tls}/ replayed
   (`testbed.reassembly_replay`): connections and payload bytes in switch mode, and the
   fallback reasons;
2. a generated mix: 400 connections of 20 data segments each, about 1.5% of the data
   segments swapped with their successor (backbone-like reordering) and 0.5% sent
   twice: the same shares;
3. engine packets/s of the whole pipeline on that mix with the stage enabled vs
   disabled (one core, wall clock).

Held-segment peak: 0 (this version holds none; docs/reassembly.md). Per-flow memory:
38 bytes (the `sessions` and `status` registers).
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


def run_mix(frames: list[bytes], enabled: bool) -> tuple[float, StreamRebuilder]:
    rebuilt = StreamRebuilder()
    with NidsSwitch() as sw:
        rules = RULES.format(slots=65536)
        if not enabled:
            rules = rules.split("reassembly:")[0]  # no section: the stage is disabled
        sw.install_text(rules)
        out: list[bytes] = []
        t0 = time.perf_counter()
        for i, fr in enumerate(frames):
            out += [d for port, d in sw.run(0, fr, 1_000_000_000 + i * 10) if port == 1]
        dt = time.perf_counter() - t0
    for d in out:
        rebuilt.feed(d)
    return len(frames) / dt, rebuilt


def main() -> int:
    print(f"machine: {describe()}")
    reasons: Counter[str] = Counter()
    tot = [0, 0, 0, 0]
    n_traces = 0
    for d in DIRS:
        for trace in sorted((TRACES / d).glob("*.pcap")) + sorted((TRACES / d).glob("*.pcapng")):
            r = replay(trace)
            n_traces += 1
            here: Counter[str] = Counter()
            counts = shares(r.rebuilt, here)
            reasons.update(here)
            for i, v in enumerate(counts):
                tot[i] += v
            if here:  # the per-trace report lists captures with connections not kept
                why = ", ".join(f"{k} {v}" for k, v in sorted(here.items()))
                print(f"  {d}/{trace.name}: {counts[1]} of {counts[0]} in switch mode; {why}")
    n, n_sw, total, in_sw = tot
    print(
        f"zeek traces ({n_traces} captures): {n_sw}/{n} connections with payload in switch "
        f"mode ({100 * n_sw / max(n, 1):.1f}%), {in_sw}/{total} payload bytes delivered in "
        f"switch mode ({100 * in_sw / max(total, 1):.1f}%)"
    )
    print("  not in switch mode: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    frames = generated_mix()
    pps_on, rebuilt = run_mix(frames, True)
    mix_reasons: Counter[str] = Counter()
    n, n_sw, total, in_sw = shares(rebuilt, mix_reasons)
    print(
        f"generated mix ({len(frames)} frames): {n_sw}/{n} connections in switch mode "
        f"({100 * n_sw / max(n, 1):.1f}%), {in_sw}/{total} bytes "
        f"({100 * in_sw / max(total, 1):.1f}%); fallbacks: {dict(mix_reasons)}"
    )
    pps_off, _ = run_mix(frames, False)
    print(f"pipeline packets/s on the mix: stage on {pps_on:,.0f}, off {pps_off:,.0f}")
    print("held-segment peak: 0 (nothing held in this version); per-flow memory: 38 bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
