"""The shaping relay: frames between two interfaces with delay, jitter, loss, reordering
and a rate limit (docs/scenarios.md, "Microstructure"; semantics in scenarios/shaping.py).

    python -m scenarios.relay --a IF --b IF [--delay-ms D] [--jitter-ms J] [--loss P]
                              [--reorder P] [--rate-kbit R] [--queue N] --seed S [--stats F]

Runs until SIGTERM/SIGINT; then writes to --stats how many frames it forwarded, dropped
and reordered per direction and how late frames left against their schedule.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import select
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from pktio.afpacket import RawSocket


@dataclass
class Direction:
    """One direction's RNG, queue tail and counters."""

    rng: random.Random
    tail: float = 0.0  # when the last queued frame leaves
    link_free: float = 0.0  # when the rate-limited link is free again
    queued: int = 0
    forwarded: int = 0
    lost: int = 0
    reordered: int = 0
    tail_dropped: int = 0
    late: list[float] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    """Forward until told to stop."""
    ap = argparse.ArgumentParser(prog="python -m scenarios.relay", description=__doc__)
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--jitter-ms", type=float, default=0.0)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--rate-kbit", type=float, default=0.0)
    ap.add_argument("--queue", type=int, default=1000)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--stats", type=Path)
    args = ap.parse_args(argv)
    socks = {name: RawSocket(name) for name in (args.a, args.b)}
    peer = {args.a: args.b, args.b: args.a}
    dirs = {name: Direction(random.Random(f"{args.seed}/{name}")) for name in socks}
    heap: list[tuple[float, int, str, bytes]] = []
    seq = 0
    stop = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    delay, jitter = args.delay_ms / 1e3, args.jitter_ms / 1e3
    by_fd = {s.fileno(): name for name, s in socks.items()}
    print("relay ready", flush=True)
    while not stop:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            due, _, out, queued = heapq.heappop(heap)
            d = dirs[peer[out]]
            d.queued -= 1
            try:
                socks[out].send(queued)
                d.forwarded += 1
                d.late.append(time.monotonic() - due)
            except OSError:
                d.lost += 1
        timeout = max(0.0, heap[0][0] - time.monotonic()) if heap else 0.2
        try:
            ready, _, _ = select.select(list(by_fd), [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            name = by_fd[fd]
            d = dirs[name]
            while (frame := socks[name].recv()) is not None:
                # Draw every decision for every frame, so frame i's fate depends on the
                # seed and i alone.
                lose = d.rng.random() < args.loss
                skip = d.rng.random() < args.reorder
                wait = max(0.0, delay + d.rng.uniform(-jitter, jitter)) if jitter else delay
                if lose:
                    d.lost += 1
                    continue
                if d.queued >= args.queue:
                    d.tail_dropped += 1
                    continue
                due = now if skip else max(now + wait, d.tail)
                if args.rate_kbit:
                    start = max(due, d.link_free)
                    d.link_free = start + len(frame) * 8 / (args.rate_kbit * 1e3)
                    due = d.link_free
                if skip:
                    d.reordered += 1 if heap else 0
                else:
                    d.tail = due
                d.queued += 1
                seq += 1
                heapq.heappush(heap, (due, seq, peer[name], frame))
    if args.stats is not None:
        report = {}
        for name, d in dirs.items():
            late = sorted(d.late)
            report[name] = {
                "forwarded": d.forwarded,
                "lost": d.lost,
                "reordered": d.reordered,
                "tail_dropped": d.tail_dropped,
                "late_median_us": late[len(late) // 2] * 1e6 if late else 0.0,
                "late_p99_us": late[int(len(late) * 0.99)] * 1e6 if late else 0.0,
            }
        args.stats.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
