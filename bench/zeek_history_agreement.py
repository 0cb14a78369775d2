"""Agreement of the stats stage's connection history with Zeek's conn.log `history`.

    python -m bench.zeek_history_agreement [--markdown] [TRACE ...]

Replays the Zeek test captures listed in tests/traces/test_zeek_history.py (or the
TRACEs given, paths under ../shared/traces/zeek) through p4src/main.p4 on softswitch and
prints, per trace, the TCP connections compared, exact agreements and explained
differences, then every difference with its reason and the totals. The method
(normalisation of Zeek's letters, orientation, explanations) is documented in
tests/traces/zeek_replay.py; the test asserts the same figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

_TRACES_DIR = Path(__file__).resolve().parents[1] / "tests" / "traces"
sys.path.insert(0, str(_TRACES_DIR))

import test_zeek_history as listed  # noqa: E402 - lives in tests/traces, put on the path above
import zeek_replay as z  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Replay, compare and print the table; 1 if any difference is unexplained."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.zeek_history_agreement", description=__doc__.splitlines()[0]
    )
    ap.add_argument("traces", nargs="*", help="traces to replay (default: the test's list)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args(argv)
    if not z.TRACES.is_dir() or not z.BASELINES.is_dir():
        print(f"Zeek traces or baselines not found under {z.SHARED}", file=sys.stderr)
        return 2
    traces = args.traces or sorted(listed.CONNECTIONS)
    md = args.markdown
    start = time.perf_counter()
    results = [z.compare(rel) for rel in traces]
    elapsed = time.perf_counter() - start

    def row(*cells: object) -> str:
        return (
            "| " + " | ".join(str(c) for c in cells) + " |"
            if md
            else "  ".join(f"{c!s:>8}" if i else f"{c!s:<52}" for i, c in enumerate(cells))
        )

    print(row("trace", "5-tuples", "Zeek conns", "exact", "explained", "unexplained"))
    if md:
        print("|---|---:|---:|---:|---:|---:|")
    reasons: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    diffs: list[z.Comparison] = []
    for res in results:
        cs = res.comparisons
        n_exact = sum(c.exact for c in cs)
        n_unexpl = sum(c.reason == "unexplained" for c in cs)
        n_rows = sum(len(c.uids) for c in cs)
        print(row(res.trace, len(cs), n_rows, n_exact, len(cs) - n_exact - n_unexpl, n_unexpl))
        totals.update(
            tuples=len(cs),
            rows=n_rows,
            exact=n_exact,
            unexplained=n_unexpl,
            normalised=sum(c.exact and c.normalised for c in cs),
            packets=res.replay.frames_in,
        )
        for c in cs:
            if not c.exact:
                diffs.append(c)
                reasons[c.reason] += 1
    explained = totals["tuples"] - totals["exact"] - totals["unexplained"]
    print(
        row(
            f"total ({len(results)} traces)",
            totals["tuples"],
            totals["rows"],
            totals["exact"],
            explained,
            totals["unexplained"],
        )
    )
    print()
    print("Differences:")
    for c in diffs:
        print(f"- {c.describe()}")
    print()
    share = 100 * totals["exact"] / max(totals["tuples"], 1)
    print(
        f"{totals['tuples']} TCP 5-tuples ({totals['rows']} Zeek connections) in "
        f"{len(results)} traces; exact agreement {totals['exact']} ({share:.1f}%), of which "
        f"{totals['normalised']} after reducing Zeek's history (repeated, flipped or "
        f"unimplemented letters); explained differences {explained} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))}); unexplained "
        f"{totals['unexplained']}. {totals['packets']:,} frames replayed in {elapsed:.1f} s."
    )
    return 1 if totals["unexplained"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
