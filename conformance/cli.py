"""The command-line runner behind `python -m conformance run FILE.stf|DIR ...`."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from conformance import stf
from conformance.report import TestResult, summary, write_json, write_markdown
from conformance.runner import Timing, differential, run_on_target
from conformance.targets import MAX_SLOTS, Bmv2, Slot, Softswitch, Target, hold_slot

EPILOG = """\
examples:
  python -m conformance run conformance/programs/
  python -m conformance run --target both --p4tools ../shared/p4tools t1.stf t2.stf
  python -m conformance run --target bmv2 -j 2 --report out.md --json out.json corpus/

each FILE.stf runs the program FILE.p4 beside it. The exit status is 0 when every test
passed on every target that ran (and, with --target both, both sent the same frames).
"""

_slot: Slot | None = None
WAIT = "conformance: slot {slot} is in use by another run ({path}); waiting for it"


def _init_worker(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    global _slot
    _slot = hold_slot(queue.get(), WAIT)


def _targets(args: argparse.Namespace) -> tuple[list[Target], dict[str, str]]:
    wanted = ["softswitch", "bmv2"] if args.target == "both" else [args.target]
    ready: list[Target] = []
    skipped: dict[str, str] = {}
    for name in wanted:
        t: Target = (
            Softswitch(args.softswitch_ports)
            if name == "softswitch"
            else Bmv2(args.p4tools, args.bmv2_log_level)
        )
        why = t.unavailable()
        if why:
            skipped[name] = why
        else:
            ready.append(t)
    return ready, skipped


def run_test(path: str, args: argparse.Namespace, work_root: str) -> TestResult:
    """Run one STF file on every available target (in this process)."""
    global _slot
    if _slot is None:
        _slot = hold_slot(args.slot, WAIT)
    where = _slot
    res = TestResult(path)
    try:
        test = stf.parse_file(path)
    except (stf.StfError, OSError) as e:
        res.error = str(e)
        return res
    targets, _ = _targets(args)
    timing = Timing(args.timeout, args.grace)
    base = Path(work_root) / Path(path).name.removesuffix(".stf")
    for t in targets:
        res.results[t.name] = run_on_target(test, t, where, base / t.name, timing)
    if len(res.results) == 2:
        a, b = res.results.values()
        if all(r.p4info for r in (a, b)) and a.kind not in ("start",) and b.kind not in ("start",):
            res.differential = differential(a, b)
    return res


def _collect(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(str(f) for f in Path(p).rglob("*.stf"))
        else:
            out.append(p)
    return out


def cmd_run(args: argparse.Namespace) -> int:
    files = _collect(args.files)
    if not files:
        print("conformance: no STF files given", file=sys.stderr)
        return 2
    targets, skipped = _targets(args)
    names = [t.name for t in targets]
    for name, why in skipped.items():
        print(f"conformance: {name} leg skipped: {why}", file=sys.stderr)
    if not targets:
        print("conformance: no target can run here", file=sys.stderr)
        return 2
    jobs = max(1, min(args.jobs, MAX_SLOTS))
    work_root = args.work or tempfile.mkdtemp(prefix="conf-")
    results: list[TestResult] = []
    try:
        if jobs == 1:
            for f in files:
                r = run_test(f, args, work_root)
                results.append(r)
                print(r.line(), flush=True)
        else:
            ctx = multiprocessing.get_context("spawn")
            q = ctx.Queue()
            for i in range(jobs):
                q.put((args.slot + i) % MAX_SLOTS)
            with ProcessPoolExecutor(
                jobs, mp_context=ctx, initializer=_init_worker, initargs=(q,)
            ) as pool:
                futs = [pool.submit(run_test, f, args, work_root) for f in files]
                for fut in futs:
                    r = fut.result()
                    results.append(r)
                    print(r.line(), flush=True)
    finally:
        if not args.work and not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
    for line in summary(results, names):
        print(line)
    if args.report:
        write_markdown(Path(args.report), results, names, skipped)
    if args.json:
        write_json(Path(args.json), results, names, skipped)
    return 0 if all(r.ok() for r in results) else 1


def cmd_p4info(args: argparse.Namespace) -> int:
    """Compile each program with both compilers and print where the P4Infos differ."""
    from conformance.p4info_diff import differences
    from conformance.targets import CompilerCrash, Refused

    bmv2 = Bmv2(args.p4tools)
    if bmv2.missing:
        print(f"conformance: {bmv2.missing}", file=sys.stderr)
        return 2
    soft = Softswitch()
    status = 0
    with tempfile.TemporaryDirectory(prefix="conf-") as tmp:
        for i, prog in enumerate(args.programs):
            out = Path(tmp) / str(i)
            try:
                a = bmv2.compile(Path(prog), out / "bmv2")
                b = soft.compile(Path(prog), out / "softswitch")
            except (Refused, CompilerCrash) as e:
                print(f"SKIP  {prog}: not compiled by both: {e}")
                continue
            diffs = differences(a.p4info, b.p4info)
            print(f"{'SAME' if not diffs else 'DIFF'}  {prog}")
            for d in diffs:
                print(f"    {d}")
            status |= bool(diffs)
    return status


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m conformance", description="STF conformance tests on softswitch and BMv2"
    )
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser(
        "run",
        help="run STF tests",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("files", nargs="+", metavar="FILE.stf|DIR")
    r.add_argument("--target", choices=["softswitch", "bmv2", "both"], default="softswitch")
    r.add_argument(
        "--p4tools",
        metavar="DIR",
        help="directory with p4c-bm2-ss and simple_switch_grpc (or DIR/bin)",
    )
    r.add_argument(
        "--softswitch-ports",
        choices=["inprocess", "veth"],
        default="inprocess",
        help="how frames reach the softswitch (default inprocess)",
    )
    r.add_argument(
        "-j", "--jobs", type=int, default=1, help=f"tests run in parallel (at most {MAX_SLOTS})"
    )
    r.add_argument(
        "--slot",
        type=int,
        default=0,
        choices=range(MAX_SLOTS),
        help="first resource slot (gRPC ports, veth names) to use, so that "
        "several runs can share a machine (default 0)",
    )
    r.add_argument("--report", metavar="OUT.md", help="write a Markdown report")
    r.add_argument("--json", metavar="OUT.json", help="write a JSON report")
    r.add_argument(
        "--timeout", type=float, default=3.0, help="seconds to wait for expected frames (default 3)"
    )
    r.add_argument(
        "--grace", type=float, default=0.3, help="seconds of silence that end a wait (default 0.3)"
    )
    r.add_argument("--work", metavar="DIR", help="keep build outputs and logs in DIR")
    r.add_argument(
        "--bmv2-log-level",
        default="info",
        choices=["trace", "debug", "info", "warn", "error", "off"],
        help="simple_switch_grpc -L level for WORK/TEST/bmv2/bmv2.txt (default info)",
    )
    r.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    p = sub.add_parser(
        "p4info",
        help="compare the P4Info of p4c-bm2-ss and softswitch compile",
        description="Compile each program with p4c-bm2-ss and softswitch compile and list "
        "the differences of the two P4Infos ('first' is p4c's), ignoring order.",
    )
    p.add_argument("programs", nargs="+", metavar="PROG.p4")
    p.add_argument("--p4tools", metavar="DIR", help="directory with p4c-bm2-ss (or DIR/bin)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "p4info":
        return cmd_p4info(args)
    return cmd_run(args)
