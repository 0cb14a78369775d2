"""The `balance` command: run BLB over the monitor group of a rules file against the switch.

Arbitration (P4Runtime §5.3): digests go to the primary client only, and cluster entries
need Writes, so `balance` is primary, like `install`: it takes the switch over with an
election id above the current one. A later `install` takes over in turn (its Write goes
through); `balance` is then a backup, writes nothing and gets no reports, and becomes
primary again when install leaves, arbitrating at the leaving id + 2, above the + 1 a
waiting `sweep` asks for. So while `balance` runs, `sweep` waits as a backup, and
`balance` does the sweep's job itself: when the rules file enables SYN offload and the
pipeline has the stage, it sends the sweep packets (`syn_offload.Sweeper`, the section's
sweep_rate and sweep_monitor_port) between its digest polls while it is primary.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from controlplane.balance.loop import MAX_MOVES, BalanceLoop, Interval
from controlplane.balance.setup import check, group_port
from controlplane.compile import encode
from controlplane.errors import ControllerError, RulesError, SwitchError
from controlplane.model import RuleSet
from controlplane.p4info import P4Schema
from controlplane.p4rt import P4RuntimeSwitch
from controlplane.rules import load_rules
from controlplane.sweep import packet_out_egress_port
from controlplane.syn_offload import Sweeper, compiled_slots

HELP_EPILOG = """\
examples:
  python -m controlplane install rules.yaml        # the group itself (monitors: section)
  python -m controlplane balance rules.yaml        # then the loop, until Ctrl-C
  python -m controlplane balance rules.yaml --interval 0.5 --duration 60 --keep-entries

One line per interval:
  t=12.0s  flows +37 (1520)  clusters 18  entries 6 (+1 ~0 -2)  load % 12.1 9.8 11.0 10.4  cv 0.08
    t         seconds since the start
    flows     connections the switch reported in this interval (+N) and since the start
    clusters  BLB's clusters now
    entries   cluster-table entries this group should hold now, and what this
              interval's Write added (+), modified (~), deleted (-); ", N rebalanced"
              when the loads' variance exceeded V and N entries were given to a
              less loaded worker (docs/balance.md, rebalancing)
    load %    each worker's packets/s over the last 3 intervals (the switch's
              per-port egress counter), in % of monitors.capacity, in worker order:
              the loads BLB balances
    cv        coefficient of variation of those loads (standard deviation / mean)
  A line ends with "NOT WRITTEN: ..." when the Write was refused (and undone) or this
  controller is a backup at that moment.

With SYN offload enabled in the rules file, balance also sweeps the held SYNs (as
`python -m controlplane sweep` would, at syn_offload.sweep_rate; `sweep` cannot be
primary beside balance); --no-sweep leaves that to a sweep started after balance stops.

On Ctrl-C or SIGTERM the new-flow reports are turned off and the group's cluster
entries are deleted (new connections then follow the symmetric hash; started ones stay
on their worker); --keep-entries leaves them in place instead.
exit status: 0 stopped, 2 rules file, 3 pipeline without the balance stage, 1 other.
"""


@dataclass
class BalanceOptions:
    """Command-line settings of `balance`."""

    rules_path: str
    address: str = "127.0.0.1:9559"
    device_id: int = 1
    election_id: int = 2
    timeout_s: float = 5.0
    interval_s: float = 1.0
    duration_s: float | None = None
    min_flows: int = 2
    seed_flows: int = 200
    rebalance: bool = True
    sweep: bool = True
    keep_entries: bool = False


def cv(loads: list[float]) -> float:
    """Coefficient of variation (0 when the mean is 0)."""
    mean = sum(loads) / len(loads)
    if mean <= 0:
        return 0.0
    var = sum((x - mean) ** 2 for x in loads) / len(loads)
    return float(var**0.5 / mean)


def progress_line(rep: Interval, total_flows: int) -> str:
    """The line printed for one interval (see HELP_EPILOG)."""
    loads = " ".join(f"{x:.1f}" for x in rep.loads)
    line = (
        f"t={rep.t:.1f}s  flows +{rep.new_flows} ({total_flows})  clusters {rep.clusters}  "
        f"entries {rep.entries} (+{rep.added} ~{rep.modified} -{rep.deleted}"
        f"{f', {rep.moved} rebalanced' if rep.moved else ''})  "
        f"load % {loads}  cv {cv(rep.loads):.2f}"
    )
    if rep.write_error:
        line += f"  NOT WRITTEN: {rep.write_error}"
    return line


def sweeper_of(rules: RuleSet, schema: P4Schema, sw: P4RuntimeSwitch) -> Sweeper | None:
    """The sweeper of the rules file's SYN-offload stage (None when it is off or the
    pipeline has no such stage), sending through `sw`'s packet-out."""
    cfg = rules.syn_offload
    have = compiled_slots(schema)
    if cfg is None or not cfg.enabled or have is None:
        return None
    port = cfg.sweep_monitor_port
    if port is None:
        port = rules.monitor[0].monitor_port
    mid, width = packet_out_egress_port(schema)
    meta = {mid: encode(0, width)}  # egress_port 0: through the pipeline
    slots = min(cfg.slots or have, have)
    return Sweeper(lambda p: sw.packet_out(p, meta), slots, cfg.sweep_rate, port)


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def run_balance(
    opts: BalanceOptions,
    out: TextIO = sys.stdout,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """The balance command; returns the exit status, raises ControllerError. SIGINT and
    SIGTERM stop it (when it runs in the main thread), and so does `should_stop()`."""
    for name, value, least in (("--min-flows", opts.min_flows, 1),
                               ("--seed-flows", opts.seed_flows, 0)):  # fmt: skip
        if value < least:
            raise ControllerError(f"balance: {name} must be at least {least} (got {value})")
    rules, problems = load_rules(opts.rules_path)
    if problems:
        raise RulesError(problems)
    group = rules.monitors
    if group is None:
        raise ControllerError(
            f"balance: {opts.rules_path} has no monitors: section (the worker group to balance)"
        )
    port = group_port(rules)
    stop = _Stop()
    old: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with P4RuntimeSwitch(opts.address, opts.device_id, opts.election_id, opts.timeout_s) as sw:
            running = sw.get_p4info()
            if running is None:
                raise SwitchError(f"balance: the switch at {opts.address} has no pipeline")
            schema = P4Schema(running)
            check(rules, schema)
            assert port is not None
            sw.rejoin_margin = 2
            sw.become_primary(take_over=True)
            loop = BalanceLoop(
                sw,
                schema,
                group,
                port,
                min_flows=opts.min_flows,
                seed_flows=opts.seed_flows,
                max_moves=MAX_MOVES if opts.rebalance else 0,
            )
            loop.start()
            sweeper = sweeper_of(rules, schema, sw) if opts.sweep else None
            sweeping = (
                f"; sweeping {sweeper.slots} SYN-offload slots at {sweeper.rate}/s"
                if sweeper is not None
                else ""
            )
            print(
                f"balance: monitor port {port} over workers {list(group.ports)} "
                f"({group.hash} hash where no cluster matches), F={group.balance.f_max}, "
                f"V={group.balance.v_max:g}{sweeping}; a line every {opts.interval_s:g} s; "
                "Ctrl-C stops",
                file=out,
                flush=True,
            )
            t0 = time.monotonic()
            sweep_t0 = 0.0
            loop.tick(0.0, can_write=sw.is_primary)
            next_tick = opts.interval_s
            while not stop.requested and not (should_stop is not None and should_stop()):
                now = time.monotonic() - t0
                if opts.duration_s is not None and now >= opts.duration_s:
                    break
                wait = max(0.0, min(next_tick - now, 0.1))
                if sweeper is not None and sw.is_primary:
                    # one second's worth at most per poll; what fell further behind (a
                    # stall, or seconds as a backup) is skipped, not sent in a burst
                    behind = sweeper.send_due(now - sweep_t0, limit=sweeper.rate)
                    if behind > sweeper.rate:
                        sweep_t0 = now - sweeper.sent / sweeper.rate
                    elif behind:
                        wait = 0.0
                flows = loop.take_new_flows(wait)
                if flows:
                    loop.on_new_flows(flows, time.monotonic() - t0)
                now = time.monotonic() - t0
                if now >= next_tick:
                    rep = loop.tick(now, can_write=sw.is_primary)
                    print(progress_line(rep, loop.stats.flows), file=out, flush=True)
                    next_tick += opts.interval_s
            removed = 0
            if sw.is_primary:
                removed = loop.stop(remove_entries=not opts.keep_entries)
            s = loop.stats
            what = (
                "cluster entries left in place"
                if opts.keep_entries
                else f"{removed} cluster entries removed"
            )
            swept = f", {sweeper.sent} sweep packets" if sweeper is not None else ""
            print(
                f"balance: stopped after {s.flows} new flows, {s.decisions} decisions, "
                f"{s.updates} entry updates in {s.writes} Writes, {s.moved_entries} entries "
                f"rebalanced{swept}; {what}",
                file=out,
                flush=True,
            )
    finally:
        for s_, h in old.items():
            signal.signal(s_, h)
    return 0
