"""`python -m controlplane thresholds {learn,apply,block}`: argument parsing, the commands."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

DEFAULT_STORE = Path("run/history.sqlite")
DEFAULT_OUT = Path("run/thresholds")
DEFAULT_RULES_OUT = Path("run/thresholds-rules.yaml")

EPILOG = """\
examples:
  python -m controlplane watch --interface veth3 --store run/history.sqlite
  python -m controlplane thresholds learn                      # run/thresholds/proposal.csv
  python -m controlplane thresholds learn --labels analysts.csv  # regression to your thresholds
  python -m controlplane thresholds apply run/thresholds/proposal.csv --dry-run
  python -m controlplane thresholds apply run/thresholds/proposal.csv

docs/thresholds.md describes the features, the rule, the regression and the files.
"""


def add_parser(sub: Any, common_switch: Any) -> None:
    """Register `thresholds` and its subcommands on the controller's subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "thresholds",
        help="learn per-address, per-vector DDoS thresholds from the history and install them",
        description="Learn a threshold per protected address, attack vector and metric from "
        "the history `watch --store` collected, and install them as stats rules.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    tsub = p.add_subparsers(dest="thresholds_command", required=True, metavar="STEP")
    lp = tsub.add_parser(
        "learn",
        help="features per series and a proposed threshold each (CSV + PNG per address)",
        description="Compute the notebook's features of every series of the store and "
        "propose a threshold per address, vector and metric.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    lp.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help=f"history store ({DEFAULT_STORE})"
    )
    lp.add_argument(
        "--labels",
        type=Path,
        metavar="CSV",
        help="thresholds chosen for some addresses: learn the others by regression",
    )
    lp.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory ({DEFAULT_OUT})"
    )
    lp.add_argument("--no-plots", action="store_true", help="write the CSV only")

    mp = tsub.add_parser(
        "block",
        help="mark a time range of a series as blocked (mitigated): learn leaves it out",
        description="Mark the steps of ADDRESS's VECTOR series between --from and --to as "
        "BLOCKED, as the notebook's blocked intervals: learn leaves them out.",
        epilog="example:\n  python -m controlplane thresholds block 192.0.2.10 PT_NTP "
        "--from 2026-03-01T10:00 --to 2026-03-01T12:30\n\nTimes: ISO 8601 (UTC unless an "
        "offset is given) or seconds since the epoch.",
        formatter_class=fmt,
    )
    mp.add_argument("address")
    mp.add_argument("vector")
    mp.add_argument("--from", dest="start", required=True, metavar="TIME")
    mp.add_argument("--to", dest="end", required=True, metavar="TIME")
    mp.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help=f"history store ({DEFAULT_STORE})"
    )

    ap = tsub.add_parser(
        "apply",
        help="install the proposal as stats rules (per-address rules + per-vector defaults)",
        description="Turn a proposal CSV into stats rules on top of the base rules file: the "
        "busiest addresses get their own rules within the switch's rule budget, the others "
        "a per-vector default; install them as one batched diff.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    ap.add_argument("proposal", type=Path, help="the proposal CSV (learn's proposal.csv)")
    ap.add_argument("--rules", default="rules.yaml", help="the base rules file (rules.yaml)")
    ap.add_argument(
        "--rules-out",
        type=Path,
        default=DEFAULT_RULES_OUT,
        help=f"where the generated rules file goes ({DEFAULT_RULES_OUT})",
    )
    ap.add_argument(
        "--max-rules",
        type=int,
        metavar="N",
        help="at most N per-address rules (default: as many as the slots hold)",
    )
    common_switch(ap)
    ap.add_argument(
        "--election-id", type=int, default=2, help="arbitration election id (default 2)"
    )
    ap.add_argument("--dry-run", action="store_true", help="show the diff; write nothing")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run `thresholds STEP`; returns the exit status (raises ControllerError)."""
    if args.thresholds_command == "learn":
        return _learn(args, out)
    if args.thresholds_command == "block":
        return _block(args, out)
    if args.thresholds_command == "apply":
        from controlplane.deploy import InstallOptions
        from controlplane.thresholds.apply import ApplyOptions, run_apply

        install = InstallOptions(
            rules_path="",
            address=args.address,
            device_id=args.device_id,
            election_id=args.election_id,
            dry_run=args.dry_run,
            state_path=args.state,
            timeout_s=args.timeout,
        )
        opts = ApplyOptions(args.proposal, args.rules, args.rules_out, args.max_rules, install)
        return run_apply(opts, out)
    return 1


def _learn(args: argparse.Namespace, out: TextIO) -> int:
    from controlplane.errors import ControllerError
    from controlplane.thresholds.learn import learn, read_labels, write_proposal
    from controlplane.thresholds.store import Store

    if not args.store.exists():
        raise ControllerError(
            f"thresholds learn: no store {args.store}: collect with "
            f"`python -m controlplane watch ... --store {args.store}` first"
        )
    labels = read_labels(args.labels) if args.labels is not None else []
    with Store(args.store) as store:
        rows = learn(store, labels)
        csv_path = args.out / "proposal.csv"
        write_proposal(rows, csv_path)
        addresses = sorted({p.address for p in rows})
        print(
            f"{len(rows)} proposals for {len(addresses)} addresses "
            f"({', '.join(f'{n} {m}' for m, n in sorted(Counter(p.method for p in rows).items()))})"
            f": {csv_path}",
            file=out,
        )
        if not args.no_plots:
            from controlplane.thresholds.plot import plot_address

            for a in addresses:
                plot_address(store, a, [p for p in rows if p.address == a], args.out / "plots")
            print(f"{len(addresses)} plots in {args.out / 'plots'}", file=out)
    return 0


def parse_time(text: str) -> float:
    """Seconds since the epoch from ISO 8601 (UTC without an offset) or a number."""
    import datetime as dt

    from controlplane.errors import ControllerError

    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ControllerError(
            f"'{text}' is no time (ISO 8601 such as 2026-03-01T10:00, or epoch seconds)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _block(args: argparse.Namespace, out: TextIO) -> int:
    from controlplane.errors import ControllerError
    from controlplane.thresholds.store import BLOCKED, Store, canonical_address
    from controlplane.thresholds.vectors import BY_NAME

    try:
        address = canonical_address(args.address)
    except ValueError:
        raise ControllerError(f"'{args.address}' is not an IP address") from None
    if args.vector not in BY_NAME:
        raise ControllerError(f"unknown vector '{args.vector}' (see docs/thresholds.md)")
    start, end = parse_time(args.start), parse_time(args.end)
    if end <= start:
        raise ControllerError(f"--to {args.end} is not after --from {args.start}")
    if not args.store.exists():
        raise ControllerError(f"thresholds block: no store {args.store}")
    with Store(args.store) as store:
        n = store.mark_range(address, args.vector, start, end, BLOCKED)
    print(f"{n} steps of {address} {args.vector} marked blocked in {args.store}", file=out)
    return 0
