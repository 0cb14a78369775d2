"""Command line: `python -m controlplane {install,clear,check,watch,sweep,status,balance} ...`.

Argument parsing and error reporting only; each command lives in its own module.
User mistakes and an unreachable switch end with a message and an exit status,
never a traceback: 2 rules file, 3 pipeline cannot carry the rules, 4 write refused,
1 anything else (switch unreachable, not primary, no pipeline, bad file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controlplane import state as state_mod
from controlplane.errors import ControllerError

ADDRESS = "127.0.0.1:9559"

INSTALL_EPILOG = """\
examples:
  python -m controlplane install rules.yaml
  python -m controlplane install rules.yaml --dry-run          # show the diff, send nothing
  python -m controlplane install rules.yaml --p4info build/main.p4info.txtpb \\
      --config build/main.json                                 # push the pipeline first
  python -m controlplane install rules.yaml --software-fallback run/software-rules.yaml

A file that would empty the switch by omission (empty, comments only, no monitor:
or no stats: section) is refused with what it would delete; write `monitor: []` or
`stats: []` to mean none, or use `clear` to empty the switch on purpose.

exit status: 0 installed (or nothing to do), 2 mistakes in the rules file,
3 the running pipeline cannot carry the rules, 4 the switch refused the write (undone),
1 switch unreachable or other trouble.
"""

CLEAR_EPILOG = """\
examples:
  python -m controlplane clear --dry-run      # list what would be deleted, send nothing
  python -m controlplane clear

Deletes every entry of the tables install manages (the stats slots' rules and
monitor_ports: the monitor then gets no traffic) in one Write, and turns SYN offload
off. install refuses a rules file that would do this by omission (an empty file, or
one without a monitor: or stats: section); clear is the way to do it on purpose.
exit status: 0 cleared (or nothing to delete), 4 the switch refused (undone), 1 other.
"""

CHECK_EPILOG = """\
examples:
  python -m controlplane check rules.yaml
  python -m controlplane check rules.yaml --p4info build/main.p4info.txtpb --entries
"""

WATCH_EPILOG = """\
examples:
  python -m controlplane watch --interface veth3
  python -m controlplane watch --pcap out/port1.pcap --json-out run/records.jsonl \\
      --strip-pcap run/for-zeek.pcap
  python -m controlplane watch --interface veth3 --software-rules run/software-rules.yaml

Each feedback record becomes one JSON line: the record's fields, "ts" (packet time,
seconds), "rule" (the rule's name, from the last install) and "header" (fixed part).
Software-counted rules add lines with "source": "software".
"""

SWEEP_EPILOG = """\
examples:
  python -m controlplane sweep                       # settings from the last install
  python -m controlplane sweep --rate 5000 --duration 60

A record is summarized at most `timeout + slots / rate` after its first SYN. Run it
in the background while the stage is enabled (scripts/demo.sh shows how): `install`
takes the switch over from it (P4Runtime arbitration), and sweep takes it back when
install is done.
"""

STATUS_EPILOG = """\
examples:
  python -m controlplane status
  python -m controlplane status --json
  python -m controlplane status --all-groups      # also groups with no traffic
"""


def _common_switch(p: argparse.ArgumentParser) -> None:
    p.add_argument("--address", default=ADDRESS, help=f"P4Runtime server (default {ADDRESS})")
    p.add_argument("--device-id", type=int, default=1, help="P4Runtime device id (default 1)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the switch")
    p.add_argument(
        "--state",
        type=Path,
        default=state_mod.DEFAULT_STATE,
        help=f"controller state file (default {state_mod.DEFAULT_STATE})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    fmt = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(
        prog="python -m controlplane",
        description="Controller of the NIDS offload switch: install stats rules and "
        "the SYN-offload settings, sweep held SYNs, decode the feedback header, read counters.",
        formatter_class=fmt,
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "install",
        help="validate rules.yaml and install it on the switch (one batch, as a diff)",
        description="Validate the rules file, check it against the running pipeline, and "
        "install it as a diff in one Write batch (undone if the switch refuses part of it).",
        epilog=INSTALL_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("rules", help="the rules file (rules.yaml)")
    _common_switch(p)
    p.add_argument(
        "--election-id",
        type=int,
        default=2,
        help="first arbitration election id (default 2); raised above the primary's if another "
        "controller is primary (install takes over, e.g. from a running sweep)",
    )
    p.add_argument(
        "--no-take-over",
        dest="take_over",
        action="store_false",
        help="refuse (exit 1) instead of taking the switch over when another controller is primary",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument(
        "--p4info", type=Path, help="push this P4Info (text format) first, with --config"
    )
    p.add_argument("--config", type=Path, help="device config to push with --p4info")
    p.add_argument(
        "--software-fallback",
        type=Path,
        metavar="FILE",
        help="write rules the switch cannot carry to FILE (for watch --software-rules)",
    )

    p = sub.add_parser(
        "clear",
        help="delete every stats rule and monitor port entry (one Write), SYN offload off",
        description="Empty the tables install manages, on purpose, as one batched diff; "
        "prints each entry it deletes.",
        epilog=CLEAR_EPILOG,
        formatter_class=fmt,
    )
    _common_switch(p)
    p.add_argument("--election-id", type=int, default=2, help="arbitration election id (default 2)")
    p.add_argument("--dry-run", action="store_true", help="show what would go; write nothing")

    p = sub.add_parser(
        "check",
        help="validate rules.yaml without a switch",
        description="Validate the rules file and show the slot placement; with --p4info, also "
        "check it against that pipeline and compile it.",
        epilog=CHECK_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("rules")
    p.add_argument("--p4info", type=Path, help="P4Info (text format) to check against")
    p.add_argument("--entries", action="store_true", help="print the compiled entries")

    p = sub.add_parser(
        "watch",
        help="decode feedback headers from an interface or a pcap, one JSON line per record",
        description="Read the monitor's traffic, decode the feedback header of each packet "
        "and print one JSON line per record.",
        epilog=WATCH_EPILOG,
        formatter_class=fmt,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--interface", "-i", metavar="IFACE", help="capture on IFACE (AF_PACKET)")
    src.add_argument("--pcap", "-r", type=Path, metavar="FILE", help="read a pcap/pcapng file")
    p.add_argument(
        "--json-out", type=Path, metavar="FILE", help="write JSON lines to FILE, not stdout"
    )
    p.add_argument(
        "--strip-pcap",
        type=Path,
        metavar="FILE",
        help="write the packets without the header to FILE",
    )
    p.add_argument(
        "--software-rules", type=Path, metavar="FILE", help="count these rules in software too"
    )
    p.add_argument(
        "--conn-log",
        type=Path,
        metavar="FILE",
        help="write Zeek conn.log JSON entries of timed-out SYN attempts to FILE",
    )
    p.add_argument(
        "--store",
        type=Path,
        metavar="FILE",
        help="write the vector rules' interval reports to the history store FILE "
        "(docs/thresholds.md)",
    )
    p.add_argument(
        "--streams",
        type=Path,
        metavar="DIR",
        help="rebuild each TCP connection's streams into DIR (one file per direction, "
        "named orig_h.orig_p-resp_h.resp_p.orig/.resp) with DIR/reassembly.log",
    )
    p.add_argument(
        "--prefilters",
        type=Path,
        metavar="FILE",
        help="rules file whose prefilters: section names the protocol ids in PROTOCOL_MATCH "
        "records and is matched in software on connections the switch left to the monitor "
        "(default: the file install recorded in the state file); adds Zeek's `service` to "
        "the JSON lines, reassembly.log and conn.log (docs/prefilter.md)",
    )
    p.add_argument("--count", "-c", type=int, metavar="N", help="stop after N packets")
    p.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds (interface)")
    p.add_argument(
        "--state",
        type=Path,
        default=state_mod.DEFAULT_STATE,
        help=f"controller state file (default {state_mod.DEFAULT_STATE})",
    )

    p = sub.add_parser(
        "status",
        help="show per-rule and per-group counters read from the switch",
        description="Read the stats stage's counters over P4Runtime: per rule (direct "
        "counters), per group (group_totals) and per slot (outcomes).",
        epilog=STATUS_EPILOG,
        formatter_class=fmt,
    )
    _common_switch(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--all-groups", action="store_true", help="list groups with zero counts too")

    p = sub.add_parser(
        "sweep",
        help="send the SYN-offload stage's sweep packets (expiry of idle records)",
        description="Send sweep packets through packet-out, one record slot each, round "
        "robin, so that held SYNs expire on time even when no traffic reaches their slot "
        "(BMv2 has no timers). Settings come from the last install's syn_offload section.",
        epilog=SWEEP_EPILOG,
        formatter_class=fmt,
    )
    _common_switch(p)
    p.add_argument(
        "--election-id",
        type=int,
        default=1,
        help="first election id (default 1); sweep waits while another controller is primary",
    )
    p.add_argument("--rate", type=int, help="sweep packets per second (default: from install)")
    p.add_argument("--slots", type=int, help="slots to sweep (default: from install)")
    p.add_argument("--monitor-port", type=int, help="port swept SYNs go to (default: install's)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")

    from controlplane.balance.command import HELP_EPILOG as BALANCE_EPILOG

    p = sub.add_parser(
        "balance",
        help="run BLB load balancing over the monitors: group (new-flow digests in, "
        "cluster entries out)",
        description="Feed BLB (docs/balance.md) with the connections the switch reports "
        "(P4Runtime digests, acknowledged) and the workers' load (per-port counters), and "
        "keep the cluster table in line with BLB's clusters (batched Writes of the diff). "
        "Run `install` with the same file first: it writes the group itself.",
        epilog=BALANCE_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("rules", help="the rules file with the monitors: section")
    _common_switch(p)
    p.add_argument(
        "--election-id",
        type=int,
        default=2,
        help="first election id (default 2); raised above the primary's: balance takes over",
    )
    p.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="seconds per line (default 1)"
    )
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--min-flows",
        type=int,
        default=2,
        metavar="N",
        help="a cluster gets an entry once it has N flows (default 2)",
    )
    p.add_argument(
        "--seed-flows",
        type=int,
        default=200,
        metavar="N",
        help="BLB's first clusters: k-medoids over the first N new connections (or those of "
        "the first interval, if fewer), one cluster per worker (default 200; 0: no seeding, "
        "the first connection founds the first cluster)",
    )
    p.add_argument(
        "--no-rebalance",
        action="store_true",
        help="never move entries when the measured loads' variance exceeds V (BLB as the "
        "paper has it; by default the loop moves the entries nearest half the gap from the "
        "most to the least loaded worker: docs/balance.md, rebalancing)",
    )
    p.add_argument(
        "--no-sweep",
        action="store_true",
        help="do not sweep the SYN-offload stage's held SYNs (by default balance sweeps "
        "them when the rules file enables syn_offload: sweep cannot be primary beside it)",
    )
    p.add_argument(
        "--keep-entries",
        action="store_true",
        help="on exit leave the cluster entries (default: delete them)",
    )

    from controlplane.thresholds.cli import add_parser as add_thresholds

    add_thresholds(sub, _common_switch)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "install":
            from controlplane.deploy import InstallOptions, run_install

            if (args.p4info is None) != (args.config is None):
                print("install: --p4info and --config go together", file=sys.stderr)
                return 1
            opts = InstallOptions(
                rules_path=args.rules,
                address=args.address,
                device_id=args.device_id,
                election_id=args.election_id,
                take_over=args.take_over,
                dry_run=args.dry_run,
                p4info=args.p4info,
                config=args.config,
                software_fallback=args.software_fallback,
                state_path=args.state,
                timeout_s=args.timeout,
            )
            return run_install(opts, sys.stdout)
        if args.command == "clear":
            from controlplane.deploy import InstallOptions, run_install

            return run_install(
                InstallOptions(
                    rules_path="",
                    address=args.address,
                    device_id=args.device_id,
                    election_id=args.election_id,
                    dry_run=args.dry_run,
                    state_path=args.state,
                    timeout_s=args.timeout,
                    clear=True,
                ),
                sys.stdout,
            )
        if args.command == "check":
            from controlplane.check import run_check

            return run_check(args.rules, args.p4info, args.entries, sys.stdout)
        if args.command == "watch":
            from controlplane.watch import WatchOptions, run_watch

            return run_watch(
                WatchOptions(
                    interface=args.interface,
                    pcap=args.pcap,
                    json_out=args.json_out,
                    strip_pcap=args.strip_pcap,
                    software_rules=args.software_rules,
                    count=args.count,
                    timeout_s=args.timeout,
                    state_path=args.state,
                    conn_log=args.conn_log,
                    store=args.store,
                    streams=args.streams,
                    prefilters=args.prefilters,
                ),
                sys.stdout,
                sys.stderr,
            )
        if args.command == "sweep":
            from controlplane.sweep import SweepOptions, run_sweep

            return run_sweep(
                SweepOptions(
                    address=args.address,
                    device_id=args.device_id,
                    election_id=args.election_id,
                    timeout_s=args.timeout,
                    state_path=args.state,
                    rate=args.rate,
                    slots=args.slots,
                    monitor_port=args.monitor_port,
                    duration_s=args.duration,
                )
            )
        if args.command == "balance":
            from controlplane.balance.command import BalanceOptions, run_balance

            return run_balance(
                BalanceOptions(
                    rules_path=args.rules,
                    address=args.address,
                    device_id=args.device_id,
                    election_id=args.election_id,
                    timeout_s=args.timeout,
                    interval_s=args.interval,
                    duration_s=args.duration,
                    min_flows=args.min_flows,
                    seed_flows=args.seed_flows,
                    rebalance=not args.no_rebalance,
                    sweep=not args.no_sweep,
                    keep_entries=args.keep_entries,
                ),
                sys.stdout,
            )
        if args.command == "thresholds":
            from controlplane.thresholds.cli import run as run_thresholds

            return run_thresholds(args, sys.stdout)
        if args.command == "status":
            from controlplane.status import run_status

            return run_status(
                args.address,
                args.device_id,
                args.timeout,
                args.state,
                args.json,
                args.all_groups,
                sys.stdout,
            )
    except ControllerError as e:
        print(str(e), file=sys.stderr)
        return e.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader (head, less) went away: not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 1
