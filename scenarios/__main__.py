"""python -m scenarios: run scenarios, build mixes (docs/scenarios.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scenarios.catalog import SCENARIOS
from scenarios.hosts import require_root
from scenarios.mix import MIXES, build
from scenarios.run import run_scenario
from scenarios.shaping import parse_shaping


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it."""
    ap = argparse.ArgumentParser(prog="python -m scenarios", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ls = sub.add_parser("list", help="the scenarios and what they do")
    ls.set_defaults(cmd="list")
    run = sub.add_parser("run", help="run scenarios, one pcap and label file each")
    run.add_argument("names", nargs="*", help="scenarios (default: all)")
    run.add_argument("--out", type=Path, default=Path("run/scenarios"))
    run.add_argument("--seed", type=int, action="append", help="seed (repeat for several runs)")
    run.add_argument("--shaping", default="", help="e.g. delay=40ms,jitter=10ms,loss=1%%")
    mix = sub.add_parser("mix", help="run a mix's chunks and stitch them into one capture")
    mix.add_argument("mix", choices=sorted(MIXES))
    mix.add_argument("--out", type=Path, default=Path("run/scenarios"))
    args = ap.parse_args(argv)
    if args.cmd == "mix":
        require_root()
        labels = build(MIXES[args.mix], args.out)
        doc = json.loads(labels.read_text(encoding="utf-8"))
        print(
            f"mix {args.mix}: {labels} ({len(doc['chunks'])} chunks, "
            f"{len(doc['connections'])} connections, {doc['tcp_unanswered']} of "
            f"{doc['tcp_attempts']} TCP attempts unanswered)"
        )
        return 0
    if args.cmd == "list":
        for s in SCENARIOS.values():
            print(f"{s.name:12} {s.doc}")
        return 0
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        print(
            f"scenarios: unknown scenario {', '.join(unknown)} (known: {', '.join(SCENARIOS)})",
            file=sys.stderr,
        )
        return 2
    try:
        shaping = parse_shaping(args.shaping)
    except ValueError as e:
        print(f"scenarios: --shaping: {e}", file=sys.stderr)
        return 2
    require_root()
    for name in args.names or list(SCENARIOS):
        for seed in args.seed or [1]:
            labels = run_scenario(SCENARIOS[name], seed, args.out, shaping)
            print(f"{name} seed {seed}: {labels}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
