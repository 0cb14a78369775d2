"""Packets per second of the two-port L2 forwarding program on the softswitch
engine, pcap mode: `Pipeline.process()` over a list of packets in a loop, one core.

    python -m bench.l2fwd [--pcap FILE] [--seconds S] [--profile]

Without --pcap it uses 1,000 Ethernet frames of mixed sizes (64-1500 bytes)
arriving alternately on ports 0 and 1, with a 1,024-entry `dmac` table of
which half the destinations hit. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import random
import sys
import time
from pathlib import Path

from bench.machine import cpu_model
from softswitch.engine import build_pipeline
from softswitch.frontend import load_program
from softswitch.p4info import build_p4info
from softswitch.runtime import ActionCall, DeviceState, ExactMatch

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "p4programs" / "l2fwd.p4"


def synthetic(n: int = 1000, seed: int = 1) -> list[tuple[int, bytes]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        dst = (0x020000000000 + rng.randrange(2048)).to_bytes(6, "big")
        src = (0x020000100000 + i).to_bytes(6, "big")
        size = rng.choice((64, 128, 512, 1500))
        out.append((i & 1, dst + src + b"\x08\x00" + bytes(size - 14)))
    return out


def from_pcap(path: str) -> list[tuple[int, bytes]]:
    from scapy.utils import PcapReader

    with PcapReader(path) as r:
        return [(i & 1, bytes(p)) for i, p in enumerate(r)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", help="input packets (default: synthetic frames)")
    ap.add_argument("--seconds", type=float, default=3.0, help="measurement time")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    args = ap.parse_args(argv)

    e = load_program(str(PROGRAM))
    state = DeviceState(build_p4info(e))
    pipeline = build_pipeline(e, state, None)
    dmac = state.tables["L2Ingress.dmac"]
    set_port = state.action_ids["L2Ingress.set_egress_port"]
    for i in range(1024):
        dmac.insert((ExactMatch(0x020000000000 + i),), 0, ActionCall(set_port, (i & 1,)))
    pkts = from_pcap(args.pcap) if args.pcap else synthetic()
    process = pipeline.process

    def run(rounds: int) -> int:
        n = 0
        now = 0
        for _ in range(rounds):
            for port, data in pkts:
                now += 1
                process(port, data, now)
                n += 1
        return n

    run(1)  # warm up (specialization of the generated code)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run(5)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    rounds = 1
    while True:
        t0 = time.perf_counter()
        n = run(rounds)
        dt = time.perf_counter() - t0
        if dt >= args.seconds:
            break
        rounds = max(rounds * 2, int(rounds * args.seconds / max(dt, 1e-3)) + 1)
    pps = n / dt
    print(f"program:  {PROGRAM.relative_to(ROOT)} (pcap mode, one core)")
    source = f"pcap {args.pcap}" if args.pcap else "synthetic"
    print(f"packets:  {n} in {dt:.2f} s ({len(pkts)} distinct, {source})")
    print(f"rate:     {pps:,.0f} packets/s")
    print(
        f"machine:  {cpu_model()}, {platform.machine()}, {platform.system()} {platform.release()}"
    )
    print(f"python:   {platform.python_implementation()} {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
