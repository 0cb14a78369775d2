"""Learned per-host thresholds vs one static threshold per vector (FastNetMon's way).

The traffic is generated directly as the interval series the stats stage reports (the
model of `testbed.history`: per host and vector a diurnal rate with noise and short
bursts), not as packets: weeks of 1-second intervals of dozens of hosts are far more
than the in-process switch can run. `tests/thresholds/test_thresholds_e2e.py` checks
the packet path (switch -> reports -> store -> learn -> installed rules) separately.

1. Training: `--train-days` of history per host and vector, written to a history
   store (step 300 s, MAX consolidation as `watch --store` does), `learn` (rule:
   3 x daily_max_q90 within floor and ceiling).
2. Evaluation: `--eval-days` more days of normal traffic, with one legitimate surge per
   host (a flash crowd: all its traffic x3 for 30 minutes at a random time): a step
   whose peak reaches a host's threshold (packets/s or bits/s) of a vector is a false
   alert.
3. Attacks: for each vector, `--attacks` floods on random hosts at random times, peak
   100 .. 100,000 packets/s (log-uniform), 30 s linear ramp, 300 s long, added to the
   host's normal traffic second by second (in the attacked vector and the vectors that
   contain it: SYN is TCP is total, NTP is UDP is total, ...); detected at the first
   second in which any affected series reaches its threshold.

Methods: learned (per host), static-rules (rules.yaml's ddos-* thresholds, extended to
TCP, DNS and total), static-tuned (per vector the largest learned threshold: one number
raised until no host alerts on its training traffic).
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.machine import describe as describe_machine
from controlplane.thresholds.learn import learn
from controlplane.thresholds.store import Store
from testbed.history import DAY_S, Profile, diurnal, normal_rates

STEP_S = 300
START = 1_800_000_000 - 1_800_000_000 % DAY_S
VECTORS = (
    "PT_SYN",
    "PT_TCP",
    "PT_DNS",
    "PT_DNS_RESPONSE",
    "PT_NTP",
    "PT_SSDP",
    "PT_ICMP",
    "PT_UDP",
    "PT_FRAG",
    "PT_TOTAL",
)
# share of a host's packets and mean packet size of its normal traffic per vector
SHARE = {
    "PT_SYN": 0.02,
    "PT_TCP": 0.70,
    "PT_DNS": 0.01,
    "PT_DNS_RESPONSE": 0.02,
    "PT_NTP": 0.001,
    "PT_SSDP": 0.0005,
    "PT_ICMP": 0.005,
    "PT_UDP": 0.27,
    "PT_FRAG": 0.002,
    "PT_TOTAL": 1.0,
}
SIZE = {
    "PT_SYN": 60,
    "PT_TCP": 800,
    "PT_DNS": 80,
    "PT_DNS_RESPONSE": 250,
    "PT_NTP": 90,
    "PT_SSDP": 300,
    "PT_ICMP": 100,
    "PT_UDP": 500,
    "PT_FRAG": 1200,
    "PT_TOTAL": 700,
}
# which series an attack of a vector raises
CONTAINS = {
    "PT_SYN": ("PT_SYN", "PT_TCP", "PT_TOTAL"),
    "PT_TCP": ("PT_TCP", "PT_TOTAL"),
    "PT_DNS": ("PT_DNS", "PT_UDP", "PT_TOTAL"),
    "PT_DNS_RESPONSE": ("PT_DNS_RESPONSE", "PT_UDP", "PT_TOTAL"),
    "PT_NTP": ("PT_NTP", "PT_UDP", "PT_TOTAL"),
    "PT_SSDP": ("PT_SSDP", "PT_UDP", "PT_TOTAL"),
    "PT_ICMP": ("PT_ICMP", "PT_TOTAL"),
    "PT_UDP": ("PT_UDP", "PT_TOTAL"),
    "PT_FRAG": ("PT_FRAG", "PT_UDP", "PT_TOTAL"),
    "PT_TOTAL": ("PT_TOTAL",),
}
ATTACK_SIZE = {
    "PT_SYN": 60,
    "PT_TCP": 60,
    "PT_DNS": 80,
    "PT_DNS_RESPONSE": 1400,
    "PT_NTP": 468,
    "PT_SSDP": 320,
    "PT_ICMP": 1000,
    "PT_UDP": 1000,
    "PT_FRAG": 1480,
    "PT_TOTAL": 500,
}
# rules.yaml's starting points (packets/s, bytes/s), TCP, DNS and total added alike
STATIC_RULES = {
    "PT_SYN": (5e3, 1e6),
    "PT_TCP": (50e3, 50e6),
    "PT_DNS": (5e3, 5e6),
    "PT_DNS_RESPONSE": (5e3, 5e6),
    "PT_NTP": (1e3, 1e6),
    "PT_SSDP": (1e3, 1e6),
    "PT_ICMP": (2e3, 2e6),
    "PT_UDP": (50e3, 50e6),
    "PT_FRAG": (2e3, 10e6),
    "PT_TOTAL": (100e3, 100e6),
}
RAMP_S = 30
ATTACK_S = 300
FLASH_S = 1800
FLASH_FACTOR = 3.0


@dataclass(frozen=True)
class Host:
    address: str
    profiles: dict[str, Profile]
    heavy: bool


def make_hosts(n: int, n_heavy: int, rng: random.Random) -> list[Host]:
    hosts = []
    for i in range(n):
        heavy = i < n_heavy
        total = 10 ** rng.uniform(4.3, 5.2) if heavy else 10 ** rng.uniform(1.7, 3.5)
        role = rng.choice(["web", "web", "resolver", "game"])
        share = dict(SHARE)
        if role == "resolver":
            share["PT_DNS"] = 0.3
        if role == "game":
            share["PT_UDP"], share["PT_TCP"] = 0.6, 0.35
        profiles = {
            v: Profile(total * share[v] * math.exp(rng.gauss(0, 0.4)), SIZE[v]) for v in VECTORS
        }
        profiles["PT_TOTAL"] = Profile(total, SIZE["PT_TOTAL"])
        hosts.append(Host(f"10.1.{i // 250}.{i % 250 + 1}", profiles, heavy))
    return hosts


def second_rate(p: Profile, t: float, rng: random.Random) -> float:
    """One second's packets/s of normal traffic (the model behind normal_rates)."""
    mean = p.peak_pps * diurnal(t)
    sd = math.sqrt(max(mean, 1.0)) + 0.08 * mean
    return max(0.0, rng.gauss(mean, sd))


Thresholds = dict[tuple[str, str], tuple[float, float]]  # (address, vector) -> (pps, bps)


def evaluate(
    name: str,
    thr: Thresholds,
    hosts: list[Host],
    eval_series: dict[tuple[str, str], list[tuple[int, float, float]]],
    attacks: list[tuple[Host, str, float, float]],
    eval_days: int,
) -> dict[str, object]:
    alert_steps = 0
    host_days: set[tuple[str, int]] = set()
    for (addr, vec), pts in eval_series.items():
        pps_t, bps_t = thr[(addr, vec)]
        for t, pps, bps in pts:
            if pps >= pps_t or bps >= bps_t:
                alert_steps += 1
                host_days.add((addr, t // DAY_S))
    n_host_days = len(hosts) * eval_days
    delays: list[float | None] = []
    for host, vector, t0, peak in attacks:
        rng = random.Random(f"{host.address}|{vector}|{t0:.3f}")
        found = None
        for s in range(ATTACK_S):
            attack = peak * min(1.0, (s + 1) / RAMP_S)
            for v in CONTAINS[vector]:
                prof = host.profiles[v]
                pps = second_rate(prof, t0 + s, rng) + attack
                bps = 8 * (pps - attack) * prof.packet_bytes + 8 * attack * ATTACK_SIZE[vector]
                pps_t, bps_t = thr[(host.address, v)]
                if pps >= pps_t or bps >= bps_t:
                    found = float(s + 1)
                    break
            if found is not None:
                break
        delays.append(found)
    return {
        "name": name,
        "false_per_host_day": alert_steps / n_host_days,
        "host_days_alerted": len(host_days) / n_host_days,
        "delays": delays,
    }


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else math.nan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=30)
    ap.add_argument("--heavy", type=int, default=4)
    ap.add_argument("--train-days", type=int, default=14)
    ap.add_argument("--eval-days", type=int, default=7)
    ap.add_argument("--attacks", type=int, default=8, help="per vector")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--png", type=Path, default=Path("bench/thresholds_eval.png"))
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    hosts = make_hosts(args.hosts, args.heavy, rng)

    with (
        tempfile.TemporaryDirectory(prefix="thresholds-bench-") as tmp,
        Store(Path(tmp) / "history.sqlite", step_s=STEP_S) as st,
    ):
        for hi, h in enumerate(hosts):
            for vi, v in enumerate(VECTORS):
                seed = args.seed * 1000 + hi * 16 + vi
                for t, pps, bps in normal_rates(
                    h.profiles[v], START, args.train_days, STEP_S, seed
                ):
                    st.add_point(h.address, v, t, pps, bps)
        st.commit()
        points = st.count()
        proposals = learn(st)
    learned: Thresholds = {}
    for p in proposals:
        pps_t, bps_t = learned.get((p.address, p.vector), (math.inf, math.inf))
        if p.metric == "PPS":
            pps_t = p.threshold
        else:
            bps_t = p.threshold
        learned[(p.address, p.vector)] = (pps_t, bps_t)
    static_rules: Thresholds = {
        (h.address, v): (STATIC_RULES[v][0], 8 * STATIC_RULES[v][1]) for h in hosts for v in VECTORS
    }
    tuned = {
        v: (
            max(learned[(h.address, v)][0] for h in hosts),
            max(learned[(h.address, v)][1] for h in hosts),
        )
        for v in VECTORS
    }
    static_tuned: Thresholds = {(h.address, v): tuned[v] for h in hosts for v in VECTORS}

    eval_start = START + args.train_days * DAY_S
    eval_series = {
        (h.address, v): list(
            normal_rates(h.profiles[v], eval_start, args.eval_days, STEP_S, 10**6 + hi * 16 + vi)
        )
        for hi, h in enumerate(hosts)
        for vi, v in enumerate(VECTORS)
    }
    # one legitimate surge per host (a flash crowd): x FLASH_FACTOR for FLASH_S
    for h in hosts:
        t_flash = eval_start + rng.uniform(0, args.eval_days * DAY_S - FLASH_S)
        for v in VECTORS:
            series = eval_series[(h.address, v)]
            eval_series[(h.address, v)] = [
                (t, p * FLASH_FACTOR, b * FLASH_FACTOR)
                if t_flash <= t < t_flash + FLASH_S
                else (t, p, b)
                for t, p, b in series
            ]
    attacks = []
    for v in VECTORS:
        for _ in range(args.attacks):
            h = rng.choice(hosts)
            t0 = eval_start + rng.uniform(0, args.eval_days * DAY_S - ATTACK_S)
            attacks.append((h, v, t0, 10 ** rng.uniform(2, 5)))
    results = [
        evaluate(name, thr, hosts, eval_series, attacks, args.eval_days)
        for name, thr in (
            ("learned per host", learned),
            ("static: rules.yaml", static_rules),
            ("static: tuned", static_tuned),
        )
    ]

    print("## Learned vs static DDoS thresholds (`python -m bench.thresholds_eval`)\n")
    print(
        f"{args.hosts} hosts ({args.heavy} heavy: 20k-160k packets/s at peak, the others "
        f"50-3,000), {len(VECTORS)} vectors, {args.train_days} days of training history "
        f"({points:,} store points, step {STEP_S} s), {args.eval_days} days of evaluation, "
        f"one flash crowd per host (x{FLASH_FACTOR:g} for {FLASH_S // 60} min), "
        f"{len(attacks)} attacks ({args.attacks} per vector), seed {args.seed}.\n"
    )
    print(
        "| thresholds | false-alert steps per host-day | host-days with a false alert | "
        "attacks detected | median / p90 time to detect (s) |"
    )
    print("|---|---:|---:|---:|---:|")
    for r in results:
        delays = r["delays"]
        assert isinstance(delays, list)
        got = [d for d in delays if d is not None]
        print(
            f"| {r['name']} | {r['false_per_host_day']:.3f} | {r['host_days_alerted']:.1%} | "
            f"{len(got)}/{len(delays)} | {_pct(got, 0.5):.0f} / {_pct(got, 0.9):.0f} |"
        )
    print("\nDetected per attack size (peak packets/s):\n")
    bands = ((100, 1000), (1000, 10_000), (10_000, 100_001))
    print(
        "| thresholds | "
        + " | ".join(f"{lo:,}-{hi - 1 if hi > 10**5 else hi:,}" for lo, hi in bands)
        + " |"
    )
    print("|---|" + "---:|" * len(bands))
    for r in results:
        delays = r["delays"]
        assert isinstance(delays, list)
        cells = []
        for lo, hi in bands:
            idx = [i for i, a in enumerate(attacks) if lo <= a[3] < hi]
            cells.append(f"{sum(delays[i] is not None for i in idx)}/{len(idx)}")
        print(f"| {r['name']} | " + " | ".join(cells) + " |")
    print("\nDetected per vector (learned / static rules.yaml / static tuned):\n")
    print("| vector | " + " | ".join(VECTORS) + " |")
    print("|---|" + "---:|" * len(VECTORS))
    row = []
    for vi in range(len(VECTORS)):
        cell = []
        for r in results:
            delays = r["delays"]
            assert isinstance(delays, list)
            part = delays[vi * args.attacks : (vi + 1) * args.attacks]
            cell.append(str(sum(d is not None for d in part)))
        row.append("/".join(cell))
    print(f"| of {args.attacks} | " + " | ".join(row) + " |")
    print(f"\nMachine: {describe_machine()}.")
    _plot(results, attacks, args.png)
    print(f"Plot: {args.png}")
    return 0


def _plot(
    results: list[dict[str, object]], attacks: list[tuple[Host, str, float, float]], png: Path
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=[2, 1])
    marks = ("o", "s", "^")
    for r, m in zip(results, marks, strict=True):
        delays = r["delays"]
        assert isinstance(delays, list)
        xs = [a[3] for a in attacks]
        ys = [d if d is not None else ATTACK_S * 1.3 for d in delays]
        left.scatter(xs, ys, marker=m, s=18, alpha=0.6, label=str(r["name"]))
    left.axhline(ATTACK_S, color="grey", lw=0.8, ls=":")
    left.text(110, ATTACK_S * 1.45, "not detected", fontsize=8, color="grey")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("attack peak (packets/s)")
    left.set_ylabel("time to detect (s)")
    left.set_title("attacks: time to the first alert", fontsize=10)
    left.legend(fontsize=8)
    names = [str(r["name"]) for r in results]
    vals = [float(r["false_per_host_day"]) for r in results]  # type: ignore[arg-type]
    right.bar(range(len(vals)), vals, color=["tab:blue", "tab:orange", "tab:green"])
    right.set_xticks(range(len(vals)), names, fontsize=8, rotation=15)
    right.set_ylabel("false-alert steps per host-day")
    right.set_title("normal traffic: false alerts", fontsize=10)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)


if __name__ == "__main__":
    raise SystemExit(main())
