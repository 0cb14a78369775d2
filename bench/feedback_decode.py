"""Feedback header decode rate: records/s and frames/s of `feedback_header.codec.decode`.

    python -m bench.feedback_decode [--seconds 2]

A measurement, not a test: prints one line per frame mix. `make bench` runs it.
"""

from __future__ import annotations

import argparse
import time

from feedback_header import codec
from feedback_header.golden_vectors import load


def _rate(frames: list[bytes], seconds: float) -> tuple[float, float]:
    """(frames/s, records/s) decoding `frames` round-robin for about `seconds`."""
    per_round = sum(len(codec.decode(f).records) for f in frames)
    rounds = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            for f in frames:
                codec.decode(f)
        rounds += 50
    elapsed = time.perf_counter() - start
    return rounds * len(frames) / elapsed, rounds * per_round / elapsed


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    ap = argparse.ArgumentParser(prog="python -m bench.feedback_decode", description=__doc__)
    ap.add_argument("--seconds", type=float, default=2.0, help="time per mix (default 2)")
    args = ap.parse_args(argv)
    good, _ = load()
    by_name = {v.name: v for v in good}
    report = by_name["counter_report_on_tcp_syn"].frame
    original = by_name["counter_report_on_tcp_syn"].original
    assert original is not None
    rec = codec.decode(report).records[0]
    mixes = {
        "golden vectors (all 10)": [v.frame for v in good],
        "1 counter report on a TCP SYN": [report],
        "16 counter reports, records-only": [codec.encode(original[:12], [rec] * 16)],
    }
    for name, frames in mixes.items():
        fps, rps = _rate(frames, args.seconds)
        print(f"feedback decode, {name}: {rps:,.0f} records/s, {fps:,.0f} frames/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
