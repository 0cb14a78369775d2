"""BLB vs symmetric 5-tuple and 2-tuple hashing over a monitor cluster (the BLB paper's test).

A flow-level simulation, one-second steps (packets are not built: tens of thousands of
flows over 160 s are far more than the in-process switch runs in a benchmark):

- background: 2,000 internal clients (10.0.0.0/16) open ~150 flows/s to 300 servers
  (40 /24s of 198.18.0.0/15, Zipf popularity, ports 80/443/22/25/8080 TCP, 53/123 UDP),
  1-30 s long (exponential, mean 4 s), log-normal packet rates (mean ~17 packets/s);
- a scan: from 40 s to 100 s one scanner probes 20 random internal addresses per second
  (one SYN each, ports 22/23/80/443/445/3389);
- a UDP flood: from 60 s to 160 s, 10,000 distinct sources (100 new per second), 10
  packets of 1 KB each in their first second, random source and destination ports, on
  one victim (the 21st most popular server): ~1,000 packets/s, a tenth of the traffic.

Balancers (every flow is sticky: it stays on the workers it was given):

- hash5 / hash2: a symmetric hash (CRC32 of the sorted endpoints, with ports for hash5)
  modulo the number of workers, as Zeek cluster front-ends do;
- blb: `controlplane.balance` per new flow, F = 1, V = 9 (%^2 of a worker's capacity),
  lambda 1.02 (per second), m_max 64, th_w 0.05, alphas 0.6/0.3/0.1, seeded by k-medoids
  on the flows of the first second. Loads are what the switch's per-port counters give:
  each second, the packets/s each worker received over the last 3 seconds, in % of its
  capacity (20,000 packets/s per worker, and 5,000 for a loaded cluster); between two
  readings each assignment adds the predicted flow load (the current load per active
  flow). A cluster whose flows sent packets in a second is touched (it does not decay).

Detector, per worker (Peng, Leckie and Kotagiri's CUSUM on new source addresses, as the
paper's evaluation uses): per second X_n = (sources not seen by this worker before) / 100,
Y_n = max(0, Y_{n-1} + X_n - beta), alarm when Y_n > th_y = 20. beta is each worker's own:
mean + 3 standard deviations of X_n over seconds 10-60 (normal traffic; the first 10 s
fill the address database). A worker alarm before the flood starts is a false alarm.

Information loss: for the scanner and the victim, the share of their flows that went to
workers other than the one that received most of them.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.machine import describe as describe_machine
from controlplane.balance.blb import BalanceConfig, Balancer
from controlplane.balance.distance import DistanceConfig
from controlplane.balance.flow import TCP, UDP, Flow

DURATION = 160
TRAIN = (10, 60)
SCAN = (40, 100)
FLOOD = (60, 160)
TH_Y = 20.0
VICTIM_RANK = 20  # the victim is the 21st most popular server (a Zipf rank)
X_SCALE = 100.0
SCANNER = Flow.of("203.0.113.66", "10.0.0.1", 0, 0, TCP).src
SERVICES = ((80, TCP), (443, TCP), (22, TCP), (25, TCP), (8080, TCP), (53, UDP), (123, UDP))


@dataclass(frozen=True, slots=True)
class SimFlow:
    flow: Flow
    start: float
    seconds: int  # active in seconds floor(start) .. floor(start) + seconds - 1
    rate: int  # packets per second
    kind: str  # "bg", "scan", "flood"


def generate(seed: int) -> list[SimFlow]:
    rng = random.Random(seed)
    base = Flow.of("10.0.0.0", "198.18.0.0", 0, 0, TCP)
    clients = rng.sample(range(base.src + 1, base.src + 65535), 2000)
    subnets = rng.sample(range(512), 40)
    servers = [
        (base.dst + (s << 8) + rng.randrange(1, 255), *rng.choice(SERVICES))
        for s in (rng.choice(subnets) for _ in range(300))
    ]
    zipf = [1.0 / (i + 1) for i in range(len(servers))]
    out: list[SimFlow] = []
    t = 0.0
    while True:
        t += rng.expovariate(150.0)
        if t >= DURATION:
            break
        dst, port, proto = rng.choices(servers, zipf)[0]
        src = rng.choice(clients)
        f = Flow(src, dst, rng.randrange(1024, 65536), port, proto)
        secs = min(30, 1 + int(rng.expovariate(1 / 4.0)))
        rate = max(1, round(rng.lognormvariate(2.5, 0.8)))
        out.append(SimFlow(f, t, secs, rate, "bg"))
    for s in range(*SCAN):
        for _ in range(20):
            f = Flow(SCANNER, rng.randrange(base.src + 1, base.src + 65535), 40000, 0, TCP)
            port = rng.choice((22, 23, 80, 443, 445, 3389))
            f = Flow(f.src, f.dst, rng.randrange(1024, 65536), port, TCP)
            out.append(SimFlow(f, s + rng.random(), 1, 1, "scan"))
    victim = servers[VICTIM_RANK][0]
    flood_src = rng.sample(range(1 << 24, 0xDF000000), 10_000)
    for i, src in enumerate(flood_src):
        s = FLOOD[0] + i / 100.0
        f = Flow(src, victim, rng.randrange(1024, 65536), rng.randrange(1, 65536), UDP)
        out.append(SimFlow(f, s, 1, 10, "flood"))
    out.sort(key=lambda x: x.start)
    return out


def symmetric_hash(f: Flow, with_ports: bool) -> int:
    a = (f.src, f.sport if with_ports else 0)
    b = (f.dst, f.dport if with_ports else 0)
    lo, hi = sorted((a, b))
    data = b"".join(x.to_bytes(16, "big") + p.to_bytes(2, "big") for x, p in (lo, hi))
    return zlib.crc32(data + (f.proto if with_ports else 0).to_bytes(1, "big"))


@dataclass
class Outcome:
    method: str
    workers: int
    load: list[list[float]]  # per second, per worker, % of capacity
    assigned: list[tuple[int, ...]]  # per flow, in generate() order
    decisions_per_s: float = 0.0
    clusters_max: int = 0
    alarms: list[int | None] = field(default_factory=list)  # first alarm second per worker
    false_alarms: int = 0


def window_loads(
    pkts: Sequence[Sequence[float]], sec: int, window: int, capacity: float
) -> list[float]:
    """Each worker's load in % of capacity: packets/s over the `window` seconds before
    `sec` (what the controller reads from the per-port counters)."""
    rows = pkts[max(0, sec - window) : sec]
    n = len(pkts[0])
    if not rows:
        return [0.0] * n
    return [100.0 * sum(r[w] for r in rows) / len(rows) / capacity for w in range(n)]


def simulate(
    flows: Sequence[SimFlow],
    n: int,
    method: str,
    capacity: float,
    cfg: BalanceConfig | None = None,
    window: int = 3,
) -> Outcome:
    pkts = [[0.0] * n for _ in range(DURATION + 30)]
    srcs: list[list[set[int]]] = [[set() for _ in range(n)] for _ in range(DURATION + 30)]
    assigned: list[tuple[int, ...]] = []
    bal = Balancer(cfg) if cfg is not None else None
    flow_clusters: list[tuple[int, ...]] = []
    active_by_sec: list[list[int]] = [[] for _ in range(DURATION + 30)]
    spent = 0.0
    i = 0
    for sec in range(DURATION):
        if bal is not None:
            loads = window_loads(pkts, sec, window, capacity)
            bal.set_loads(loads)
            live = len(active_by_sec[sec - 1]) if sec > 0 else 0
            flow_load = sum(loads) / live if live else 0.1
            touched: set[int] = set()
            for k in active_by_sec[sec - 1] if sec > 0 else []:
                touched.update(flow_clusters[k])
            bal.touch(touched, float(sec))
        while i < len(flows) and flows[i].start < sec + 1:
            sf = flows[i]
            if bal is None:
                ws: tuple[int, ...] = (symmetric_hash(sf.flow, method == "hash5") % n,)
                flow_clusters.append(())
            else:
                if sec == 0 and not bal.clusters:
                    first = [x.flow for x in flows if x.start < 1.0][:200]
                    bal.seed(first, 0.0)
                t0 = time.perf_counter()
                d = bal.assign(sf.flow, sf.start, flow_load)
                spent += time.perf_counter() - t0
                ws = d.workers
                flow_clusters.append(d.clusters)
            assigned.append(ws)
            for s in range(sec, sec + sf.seconds):
                active_by_sec[s].append(i)
                for w in ws:
                    pkts[s][w] += sf.rate
                    srcs[s][w].add(sf.flow.src)
            i += 1
    load = [[100.0 * p / capacity for p in row] for row in pkts[:DURATION]]
    out = Outcome(method, n, load, assigned)
    if bal is not None:
        out.decisions_per_s = bal.decisions / spent if spent else 0.0
        out.clusters_max = len(bal.clusters)
    out.alarms, out.false_alarms = detect(srcs[:DURATION], n)
    return out


def detect(srcs: Sequence[Sequence[set[int]]], n: int) -> tuple[list[int | None], int]:
    first: list[int | None] = []
    false_alarms = 0
    for w in range(n):
        seen: set[int] = set()
        xs: list[float] = []
        for sec in range(DURATION):
            cur = srcs[sec][w]
            xs.append(len(cur - seen) / X_SCALE)
            seen |= cur
        train = xs[TRAIN[0] : TRAIN[1]]
        beta = statistics.fmean(train) + 3 * statistics.pstdev(train)
        y = 0.0
        alarm: int | None = None
        for sec in range(TRAIN[1], DURATION):
            y = max(0.0, y + xs[sec] - beta)
            if y > TH_Y and alarm is None:
                alarm = sec
        y = 0.0
        for sec in range(TRAIN[0], FLOOD[0]):
            y = max(0.0, y + xs[sec] - beta)
            if y > TH_Y:
                false_alarms += 1
                break
        first.append(alarm)
    return first, false_alarms


def info_loss(flows: Sequence[SimFlow], out: Outcome, pick: Callable[[SimFlow], bool]) -> float:
    counts = [0] * out.workers
    total = 0
    for sf, ws in zip(flows, out.assigned, strict=True):
        if pick(sf):
            total += 1
            for w in set(ws):
                counts[w] += 1
    return 1.0 - max(counts) / total if total else 0.0


def spread(out: Outcome, window: int) -> tuple[float, float, float]:
    """Mean coefficient of variation, mean and 95th-percentile variance (%^2) of the
    worker loads averaged over `window` seconds (the controller's reading), from 5 s on."""
    cvs, vs = [], []
    for sec in range(5, DURATION):
        row = window_loads(out.load, sec, window, 100.0)
        mu = statistics.fmean(row)
        v = statistics.pvariance(row)
        vs.append(v)
        cvs.append(math.sqrt(v) / mu if mu else 0.0)
    vs.sort()
    return statistics.fmean(cvs), statistics.fmean(vs), vs[int(0.95 * (len(vs) - 1))]


def plot(outs: Sequence[Outcome], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ns = sorted({o.workers for o in outs})
    methods = list(dict.fromkeys(o.method for o in outs))
    fig = Figure(figsize=(5 * len(methods), 3.2 * len(ns)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(ns), len(methods), squeeze=False, sharey=True)
    for o in outs:
        ax = axes[ns.index(o.workers)][methods.index(o.method)]
        for w in range(o.workers):
            ax.plot(range(DURATION), [row[w] for row in o.load], linewidth=0.8)
        ax.axvspan(*FLOOD, color="red", alpha=0.08)
        ax.axvspan(*SCAN, color="blue", alpha=0.06)
        ax.set_title(f"{o.method}, {o.workers} workers")
        ax.set_xlabel("s")
        ax.set_ylabel("load, % of capacity")
    fig.suptitle("Per-worker load (scan: blue, flood: red)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, nargs="+", default=[4, 10])
    ap.add_argument("--png", type=Path, default=Path("bench/blb_eval.png"))
    ap.add_argument(
        "--capacity", type=float, nargs="+", default=[20000.0, 5000.0], help="packets/s per worker"
    )
    ap.add_argument("--window", type=int, default=3, help="seconds of counters per load")
    ap.add_argument("--f", type=int, default=1)
    ap.add_argument("--v", type=float, default=9.0)
    ap.add_argument("--lam", type=float, default=1.02)
    ap.add_argument("--m-max", type=int, default=64)
    ap.add_argument("--th-w", type=float, default=0.05)
    ap.add_argument("--alpha", type=float, nargs=3, default=[0.6, 0.3, 0.1])
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    flows = generate(args.seed)
    kinds = {k: sum(1 for f in flows if f.kind == k) for k in ("bg", "scan", "flood")}
    victim = next(f.flow.dst for f in flows if f.kind == "flood")
    outs: list[tuple[float, Outcome]] = []
    for capacity, n in ((c, n) for c in args.capacity for n in args.workers):
        cfg = BalanceConfig(
            workers=n,
            f_max=args.f,
            v_max=args.v,
            lam=args.lam,
            m_max=args.m_max,
            th_w=args.th_w,
            dist=DistanceConfig(args.alpha[0], args.alpha[1], args.alpha[2]),
        )
        for m in ("hash5", "hash2", "blb"):
            out = simulate(flows, n, m, capacity, cfg if m == "blb" else None, args.window)
            outs.append((capacity, out))
    print("## BLB vs symmetric hashing over a monitor cluster (`python -m bench.blb_eval`)\n")
    print(
        f"{len(flows):,} flows ({kinds['bg']:,} background, {kinds['scan']:,} scan probes, "
        f"{kinds['flood']:,} flood sources) over {DURATION} s, seed {args.seed}. "
        f"Detector threshold th_y = {TH_Y:g}; flood from {FLOOD[0]} s. BLB: F = {args.f}, "
        f"V = {args.v:g}, lambda = {args.lam:g}, m_max = {args.m_max}, th_w = {args.th_w:g}, "
        f"alphas {'/'.join(f'{a:g}' for a in args.alpha)}; loads over {args.window} s.\n"
    )
    print(
        "| capacity (packets/s per worker) | workers | balancer | load CV (mean) "
        "| load variance %² mean / p95 | scanner flows elsewhere | victim flows elsewhere "
        "| workers alarmed (first, after flood start) | false alarms | decisions/s "
        "| clusters at end |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for capacity, o in outs:
        cv, vmean, v95 = spread(o, args.window)
        scan_loss = info_loss(flows, o, lambda f: f.flow.src == SCANNER)
        vic_loss = info_loss(flows, o, lambda f: f.flow.dst == victim)
        hits = [a for a in o.alarms if a is not None]
        when = f"{len(hits)} ({min(hits) - FLOOD[0]} s)" if hits else "0 (missed)"
        dps = f"{o.decisions_per_s:,.0f}" if o.method == "blb" else "-"
        cl = str(o.clusters_max) if o.method == "blb" else "-"
        print(
            f"| {capacity:,.0f} | {o.workers} | {o.method} | {cv:.3f} | {vmean:.1f} / {v95:.1f} | "
            f"{100 * scan_loss:.1f}% | {100 * vic_loss:.1f}% | {when} | {o.false_alarms} | "
            f"{dps} | {cl} |"
        )
    plot([o for c, o in outs if c == args.capacity[0]], args.png)
    print(f"\n![per-worker load over time]({args.png.name})\n")
    print(f"Machine: {describe_machine()}. {time.perf_counter() - t_start:.0f} s for the run.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
