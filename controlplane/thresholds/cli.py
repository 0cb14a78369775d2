"""`python -m controlplane thresholds {learn,apply}`: argument parsing and the commands."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

DEFAULT_STORE = Path("run/history.sqlite")
DEFAULT_OUT = Path("run/thresholds")

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


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run `thresholds STEP`; returns the exit status (raises ControllerError)."""
    if args.thresholds_command == "learn":
        return _learn(args, out)
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
