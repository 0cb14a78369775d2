"""BLB with the switch in the loop: `bench.blb_eval`'s mix as packets through p4src/main.p4.

The flows of `bench.blb_eval.generate` (background, a scan, a 10,000-source UDP flood on
one victim; 160 s) run as packets through the in-process switch (`testbed.NidsSwitch`,
the program softswitch runs, installed from a rules file with a `monitors:` section as
`install` does). Each packet sent stands for `--scale` packets of the mix (a flow of r
packets/s sends max(1, round(r / scale)) per second, its first at its start time), and
the workers' capacity is divided by the same factor, so loads in % are the mix's.

Balancers:
- hash5 / hash2: the switch's symmetric hash alone (`monitors.hash`), no controller;
- blb: `controlplane.balance.loop.BalanceLoop` against the switch, as `python -m
  controlplane balance` runs it: new-flow digests taken every 10 ms (of the mix's clock)
  and given to BLB, a tick every second (per-port counters -> loads, cluster hits ->
  touch and per-entry traffic, rebalancing unless `--no-rebalance`, expiry, the cluster
  entries written as a diff). The switch decides each connection's first packet; a
  connection stays where it started.

Where a flow went is read from the switch's output ports; per-worker load, CUSUM
detection and information loss are computed as in `bench.blb_eval` (its docstring), from
what each worker port received.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.blb_eval import (
    DURATION,
    FLOOD,
    SCANNER,
    Outcome,
    SimFlow,
    detect,
    generate,
    info_loss,
    plot,
    spread,
)
from bench.machine import describe as describe_machine
from controlplane.balance.command import progress_line
from controlplane.balance.flow import TCP, Flow
from controlplane.balance.loop import MAX_MOVES, BalanceLoop
from controlplane.balance.setup import group_port
from controlplane.rules import read_rules
from testbed.nids_switch import NidsSwitch

POLL_S = 0.01
INGRESS = 0
MONITOR = 1


def frame_of(f: Flow) -> bytes:
    """An Ethernet/IPv4/TCP-or-UDP frame of flow `f` (originator to responder)."""
    if f.proto == TCP:
        l4 = struct.pack("!HHIIBBHHH", f.sport, f.dport, 1, 0, 0x50, 0x10, 65535, 0, 0)
    else:
        l4 = struct.pack("!HHHH", f.sport, f.dport, 8 + 18, 0) + bytes(18)
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(l4), 0, 0, 64, f.proto, 0, f.src, f.dst)
    eth = bytes.fromhex("020000000002020000000001") + b"\x08\x00"
    return eth + ip + l4


def rules_text(n: int, method: str, capacity: float, v: float, lam: float) -> str:
    ports = ", ".join(str(MONITOR + i) for i in range(n))
    hash_kind = "2-tuple" if method == "hash2" else "5-tuple"
    return (
        f"monitor:\n  port: {MONITOR}\n  ingress_ports: [{INGRESS}]\nstats: []\n"
        f"monitors:\n  ports: [{ports}]\n  hash: {hash_kind}\n  capacity: {capacity:g}\n"
        f"  V: {v:g}\n  lambda: {lam:g}\n  m_max: 64\n  th_w: 0.05\n"
    )


def packets(flows: Sequence[SimFlow], scale: float) -> list[tuple[int, int]]:
    """(time in µs, flow index) of every packet sent, in time order."""
    out: list[tuple[int, int]] = []
    for i, sf in enumerate(flows):
        per_s = max(1, round(sf.rate / scale))
        for s in range(sf.seconds):
            for k in range(per_s):
                t = sf.start + s + k / per_s if s or k else sf.start
                if t < DURATION:
                    out.append((int(t * 1e6), i))
    out.sort()
    return out


def run(
    flows: Sequence[SimFlow],
    frames: Sequence[bytes],
    events: Sequence[tuple[int, int]],
    n: int,
    method: str,
    capacity: float,
    scale: float,
    v: float,
    lam: float,
    ticks: bool = False,
    rebalance: bool = True,
) -> tuple[Outcome, dict[str, float]]:
    text = rules_text(n, method, capacity / scale, v, lam)
    rules, problems = read_rules(text, "rules.yaml")
    assert not problems and rules.monitors is not None
    pkts = [[0.0] * n for _ in range(DURATION)]
    srcs: list[list[set[int]]] = [[set() for _ in range(n)] for _ in range(DURATION)]
    went: list[set[int]] = [set() for _ in flows]
    extra = {"entries_max": 0.0, "updates": 0.0, "writes": 0.0, "decide_s": 0.0, "flows": 0.0}
    with NidsSwitch() as sw:
        sw.install_text(text)
        loop: BalanceLoop | None = None
        if method == "blb":
            port = group_port(rules)
            assert port is not None
            loop = BalanceLoop(
                sw.p4rt,
                sw.schema,
                rules.monitors,
                port,
                digest_timeout_ns=0,
                max_moves=MAX_MOVES if rebalance else 0,
            )
            loop.start()
            loop.tick(0.0)
        next_poll, next_tick = POLL_S, 1.0
        last_sec, wall0 = -1, time.perf_counter()
        for t_us, i in events:
            t = t_us / 1e6
            if loop is not None:
                while t >= min(next_poll, next_tick):
                    if next_poll <= next_tick:
                        new = loop.take_new_flows()
                        t0 = time.perf_counter()
                        loop.on_new_flows(new, next_poll)
                        extra["decide_s"] += time.perf_counter() - t0
                        next_poll += POLL_S
                    else:
                        rep = loop.tick(next_tick)
                        extra["entries_max"] = max(extra["entries_max"], rep.entries)
                        if ticks:
                            print(f"  {progress_line(rep, loop.stats.flows)}", file=sys.stderr)
                        next_tick += 1.0
            sec = int(t)
            if sec != last_sec:
                last_sec = sec
                if sec % 10 == 0:
                    clusters = len(loop.balancer.clusters) if loop is not None else 0
                    print(
                        f"  {method}, {n} workers: {sec}/{DURATION} s of the mix, "
                        f"{time.perf_counter() - wall0:.0f} s, {clusters} clusters, "
                        f"{extra['decide_s']:.1f} s deciding",
                        file=sys.stderr,
                        flush=True,
                    )
            for p, _ in sw.run(INGRESS, frames[i], t_us):
                w = p - MONITOR
                if 0 <= w < n:
                    pkts[sec][w] += scale
                    srcs[sec][w].add(flows[i].flow.src)
                    went[i].add(w)
        if loop is not None:
            extra["updates"] = loop.stats.updates
            extra["writes"] = loop.stats.writes
            extra["flows"] = loop.stats.flows
            extra["moved"] = loop.stats.moved_entries
    load = [[100.0 * p / capacity for p in row] for row in pkts]
    assigned = [tuple(sorted(w)) for w in went]
    out = Outcome(method, n, load, assigned)
    out.alarms, out.false_alarms = detect(srcs, n)
    if extra["decide_s"]:
        out.decisions_per_s = extra["flows"] / extra["decide_s"]
    return out, extra


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, nargs="+", default=[4, 10])
    ap.add_argument("--capacity", type=float, default=20000.0, help="packets/s per worker")
    ap.add_argument("--scale", type=float, default=4.0, help="mix packets per packet sent")
    ap.add_argument("--v", type=float, default=9.0)
    ap.add_argument("--lam", type=float, default=1.02)
    ap.add_argument("--methods", nargs="+", default=["hash5", "hash2", "blb"],
                    choices=["hash5", "hash2", "blb"])  # fmt: skip
    ap.add_argument("--png", type=Path, default=Path("bench/blb_loop.png"))
    ap.add_argument(
        "--no-rebalance", action="store_true", help="BLB without the loop's rebalancing"
    )
    ap.add_argument(
        "--ticks", action="store_true", help="print BLB's progress line every tick, to stderr"
    )
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    flows = generate(args.seed)
    frames = [frame_of(sf.flow) for sf in flows]
    events = packets(flows, args.scale)
    victim = next(f.flow.dst for f in flows if f.kind == "flood")
    outs: list[tuple[Outcome, dict[str, float], float]] = []
    for n in args.workers:
        for m in args.methods:
            t0 = time.perf_counter()
            o, extra = run(
                flows,
                frames,
                events,
                n,
                m,
                args.capacity,
                args.scale,
                args.v,
                args.lam,
                args.ticks,
                not args.no_rebalance,
            )
            outs.append((o, extra, time.perf_counter() - t0))
    print("## BLB with the switch in the loop (`python -m bench.blb_loop`)\n")
    print(
        f"`bench.blb_eval`'s mix (seed {args.seed}, {len(flows):,} flows) as {len(events):,} "
        f"packets through p4src/main.p4 on the in-process softswitch, each standing for "
        f"{args.scale:g}; {args.capacity:,.0f} packets/s per worker; BLB: F = 1, "
        f"V = {args.v:g}, lambda = {args.lam:g}, m_max = 64, th_w = 0.05, digests every "
        f"{POLL_S * 1000:g} ms, a tick (loads, entries) every second, rebalancing "
        f"{'off' if args.no_rebalance else 'on'}.\n"
    )
    print(
        "| workers | balancer | load CV (mean) | load variance %² mean / p95 "
        "| scanner flows elsewhere | victim flows elsewhere "
        "| workers alarmed (first, after flood start) | false alarms | decisions/s "
        "| cluster entries (max) | entry updates/s | Writes | run (s) |"
    )
    print("|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for o, extra, secs in outs:
        cv, vmean, v95 = spread(o, 3)
        scan_loss = info_loss(flows, o, lambda f: f.flow.src == SCANNER)
        vic_loss = info_loss(flows, o, lambda f: f.flow.dst == victim)
        hits = [a for a in o.alarms if a is not None]
        when = f"{len(hits)} ({min(hits) - FLOOD[0]} s)" if hits else "0 (missed)"
        blb = o.method == "blb"
        dps = f"{o.decisions_per_s:,.0f}" if blb else "-"
        ent = f"{extra['entries_max']:.0f}" if blb else "-"
        ups = f"{extra['updates'] / DURATION:.1f}" if blb else "-"
        wr = f"{extra['writes']:.0f}" if blb else "-"
        print(
            f"| {o.workers} | {o.method} | {cv:.3f} | {vmean:.1f} / {v95:.1f} | "
            f"{100 * scan_loss:.1f}% | {100 * vic_loss:.1f}% | {when} | {o.false_alarms} | "
            f"{dps} | {ent} | {ups} | {wr} | {secs:.0f} |"
        )
    plot([o for o, _, _ in outs], args.png)
    print(f"\n![per-worker load over time, switch in the loop]({args.png.name})\n")
    print(f"Machine: {describe_machine()}. {time.perf_counter() - t_start:.0f} s for the run.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
