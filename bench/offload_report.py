"""The offload report: what the switch takes off the monitor, and what the monitor still sees.

    python -m bench.offload_report PCAP [LABELS] [--out DIR] [--slots N] [--timeout S]
                                   [--sweep-rate R] [--quiet]

PCAP (e.g. a scenario run or a mix from `python -m scenarios`) is replayed in pcap time
into port 0 of `p4src/main.p4` on the in-process softswitch (`testbed.nids_switch`; rules
installed by the controller's own path), monitor on port 1, once per *stage prefix*: no
offload stage, then each stage of `STAGES` added in pipeline order. What a stage
contributes is the difference it makes to what reaches the monitor; adding a stage to
`STAGES` (its rules.yaml snippet) adds it to every table.

Per scenario (from LABELS; else the whole capture as one) and in total: input vs monitor
packets, bytes and connections (connections the monitor must keep state for, vs attempts
it can log from a switch summary alone); per-stage contribution; records by type; fallbacks
(NOT_OFFLOADED) by stage and reason; fidelity: the conn.log rebuilt from the monitor's
stream (connections of the stripped frames, plus `watch --conn-log`'s entries for the
summarized attempts) against the labels: connections found, found with the same packet
counts, missing, extra. Written as OUT/report.md, OUT/report.json and OUT/*.png; progress
on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import describe as describe_machine
from controlplane.syn_offload import conn_log_entry, sweep_packet
from feedback_header import codec
from feedback_header.records import NotOffloaded, NotOffloadedReason, Stage, SynSummary
from pktio.pcap import open_capture
from scenarios import flows
from testbed.nids_switch import CPU_PORT, NidsSwitch

MONITOR = 1
T0 = 1_000_000_000  # µs on the switch clock at the capture's first frame (48-bit clock)
MONITOR_RULES = f"monitor: {{port: {MONITOR}, ingress_ports: [0]}}\n"
# The stats rules every prefix has: connection history per 5-tuple-ish group and one
# vector rule, so the stats stage attaches records as in deployment.
STATS_RULES = """stats:
  - name: tcp-by-source
    match: {protocol: tcp}
    group_by: {src_addr: /32}
    interval: 1s
  - name: udp-by-destination
    match: {protocol: udp}
    group_by: {dst_addr: /32}
    interval: 1s
    thresholds: {packets: 1000}
"""


@dataclass(frozen=True)
class StageSpec:
    """One offload stage: its name and the rules.yaml text that turns it on."""

    name: str
    rules: Callable[[argparse.Namespace], str]


STAGES: tuple[StageSpec, ...] = (
    StageSpec("stats", lambda a: STATS_RULES),
    StageSpec(
        "syn_offload",
        lambda a: (
            f"syn_offload: {{slots: {a.slots}, timeout: {int(a.timeout * 1e6)}us, "
            f"sweep_rate: {a.sweep_rate}}}\n"
        ),
    ),
)
RECORD_STAGE = {
    "counter_report": "stats",
    "threshold_alert": "stats",
    "collision": "stats",
    "syn_summary": "syn_offload",
}


@dataclass
class Figures:
    """Input or monitor figures of one scenario."""

    packets: int = 0
    bytes: int = 0
    connections: int = 0  # the monitor keeps state for these
    summarized: int = 0  # attempts logged from a SYN_SUMMARY alone

    def as_dict(self) -> dict[str, int]:
        """JSON form."""
        return dict(vars(self))


@dataclass
class Replay:
    """What one replay produced."""

    stages: tuple[str, ...]
    monitor: dict[str, Figures] = field(default_factory=lambda: defaultdict(Figures))
    records: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    records_only_frames: int = 0
    rebuilt: list[dict[str, Any]] = field(default_factory=list)  # conn.log, labels' keys
    seconds: float = 0.0
    sweeps: int = 0


def _owner(labels: dict[Any, list[dict[str, Any]]], key: Any, t: float) -> dict[str, Any] | None:
    """The labelled connection of `key` that had started by `t` (the latest such; label
    times are floats, so 20 µs of rounding are allowed)."""
    best = None
    for c in labels.get(key, ()):
        if c["start"] <= t + 2e-5 and (best is None or c["start"] > best["start"]):
            best = c
    return best


def _canon(proto: str, a: str, ap: int, b: str, bp: int) -> tuple[Any, ...]:
    return (proto, frozenset(((a, ap), (b, bp))))


def _label_index(conns: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    idx: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for c in conns:
        idx[_canon(c["proto"], c["orig_h"], c["orig_p"], c["resp_h"], c["resp_p"])].append(c)
    return idx


def _pkey(p: flows.Packet) -> tuple[Any, ...]:
    return _canon(flows.PROTO_NAMES.get(p.proto, str(p.proto)), p.src, p.sport, p.dst, p.dport)


def replay(
    frames: list[tuple[int, bytes]],
    stages: tuple[StageSpec, ...],
    args: argparse.Namespace,
    labels: dict[Any, list[dict[str, Any]]],
    progress: Callable[[str], None],
) -> Replay:
    """`frames` (µs, bytes) through main.p4 with `stages` on; the monitor's view."""
    res = Replay(tuple(s.name for s in stages))
    sw = NidsSwitch()
    text = MONITOR_RULES + "".join(s.rules(args) for s in stages)
    if not any(s.name == "stats" for s in stages):
        text += "stats: []\n"  # no stats rules, said explicitly (a file without it is refused)
    sw.install_text(text)
    syn_on = any(s.name == "syn_offload" for s in stages)
    process = sw.pipeline.process
    out: list[tuple[int, int, bytes]] = []
    step = 1e6 / args.sweep_rate
    sweep_frames = [sw.packet_out(sweep_packet(i, MONITOR)) for i in range(args.slots)]
    base = frames[0][0] - T0 if frames else 0
    next_sweep, index = float(T0), 0
    start = time.perf_counter()
    last_note = start

    def sweep_until(now: float) -> None:
        nonlocal next_sweep, index
        while syn_on and next_sweep <= now:
            t = int(next_sweep)
            out.extend((t, port, f) for port, f in process(CPU_PORT, sweep_frames[index], t))
            index = (index + 1) % args.slots
            next_sweep += step
            res.sweeps += 1

    for i, (now, frame) in enumerate(frames):
        now -= base
        sweep_until(now)
        out.extend((now, port, f) for port, f in process(0, frame, now))
        if time.perf_counter() - last_note > 2.0:
            last_note = time.perf_counter()
            progress(f"  [{'+'.join(res.stages) or 'none'}] {i + 1:,}/{len(frames):,} frames")
    if frames:
        sweep_until(frames[-1][0] - base + args.timeout * 1e6 + args.slots * step + 1)
    res.seconds = time.perf_counter() - start
    sw.close()

    table = flows.FlowTable()
    counted: set[int] = set()
    for t_sw, port, frame in out:
        t_us = t_sw + base
        if port != MONITOR:
            raise RuntimeError(f"frame left on port {port}")
        dec = codec.try_decode(frame) if frame[12:14] != b"\x08\x00" else None
        summary_expired = False
        if dec is not None:
            for rec in dec.records:
                name = getattr(rec, "NAME", "unknown")
                res.records[name] += 1
                if isinstance(rec, NotOffloaded):
                    stage = (
                        Stage(rec.stage).name.lower()
                        if rec.stage in Stage._value2member_map_
                        else str(rec.stage)
                    )
                    reason = (
                        NotOffloadedReason(rec.reason).name
                        if rec.reason in NotOffloadedReason._value2member_map_
                        else str(rec.reason)
                    )
                    res.fallbacks[f"{stage}: {reason}"] += 1
                if isinstance(rec, SynSummary):
                    entry = conn_log_entry(rec)
                    if entry is not None:
                        summary_expired = True
                        entry["ts"] = (rec.first_seen + base) / 1e6
                        res.rebuilt.append(entry)
            if not dec.has_original:
                res.records_only_frames += 1
                res.monitor["(records only)"].packets += 1
                res.monitor["(records only)"].bytes += len(frame)
                continue
            inner = codec.strip(frame)
        else:
            inner = frame
        p = flows.parse(inner, t_us * 1000, len(frame))
        owner = _owner(labels, _pkey(p), t_us / 1e6) if p is not None else None
        scen = (
            owner["scenario"]
            if owner is not None
            else "(not a connection)"
            if p is None
            else "(unlabelled)"
        )
        fig = res.monitor[scen]
        fig.packets += 1
        fig.bytes += len(frame)
        if p is None:
            continue
        if summary_expired:
            fig.summarized += 1
            continue
        c = table.add(p)
        if id(c) not in counted:
            counted.add(id(c))
            fig.connections += 1
    for c in table.connections:
        d = c.to_dict()
        res.rebuilt.append(
            {
                "_path": "conn",
                "ts": d["start"],
                "id.orig_h": c.orig_h,
                "id.orig_p": c.orig_p,
                "id.resp_h": c.resp_h,
                "id.resp_p": c.resp_p,
                "proto": d["proto"],
                "orig_pkts": c.orig_pkts,
                "resp_pkts": c.resp_pkts,
            }
        )
    return res


def fidelity(
    rebuilt: list[dict[str, Any]], labels: list[dict[str, Any]]
) -> dict[str, Counter[str]]:
    """Per scenario: labelled connections found in the rebuilt conn.log (same 5-tuple, start
    within 1 s), found with the same packet counts, missing; and rebuilt entries that match
    no label (extra)."""
    idx = _label_index(labels)
    out: dict[str, Counter[str]] = defaultdict(Counter)
    matched: set[int] = set()
    for e in rebuilt:
        key = _canon(e["proto"], e["id.orig_h"], e["id.orig_p"], e["id.resp_h"], e["id.resp_p"])
        cands = [
            c for c in idx.get(key, ()) if id(c) not in matched and abs(c["start"] - e["ts"]) < 1.0
        ]
        if not cands:
            out["(unlabelled)"]["extra"] += 1
            continue
        c = min(cands, key=lambda c: abs(c["start"] - e["ts"]))
        matched.add(id(c))
        same = (c["orig_pkts"], c["resp_pkts"]) == (e["orig_pkts"], e["resp_pkts"])
        out[c["scenario"]]["found"] += 1
        out[c["scenario"]]["same_packets" if same else "other_packets"] += 1
    for c in labels:
        f = out[c["scenario"]]
        f["labelled"] += 1
        f["missing"] += id(c) not in matched
        for k in ("found", "same_packets", "other_packets"):
            f[k] += 0
    return out


def _input_figures(
    frames: list[tuple[int, bytes]], labels: list[dict[str, Any]]
) -> dict[str, Figures]:
    out: dict[str, Figures] = defaultdict(Figures)
    for c in labels:
        f = out[c["scenario"]]
        f.packets += c["orig_pkts"] + c["resp_pkts"]
        f.bytes += c["orig_bytes"] + c["resp_bytes"]
        f.connections += 1
    other = len(frames) - sum(f.packets for f in out.values())
    if other:
        out["(not a connection)"].packets = other
        out["(not a connection)"].bytes = sum(len(b) for _, b in frames) - sum(
            f.bytes for f in out.values()
        )
    return out


def _total(figs: dict[str, Figures]) -> Figures:
    t = Figures()
    for f in figs.values():
        for k, v in vars(f).items():
            setattr(t, k, getattr(t, k) + v)
    return t


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def build_report(
    pcap: Path, labels_path: Path | None, args: argparse.Namespace
) -> tuple[str, dict[str, Any]]:
    """Replay, compare; the Markdown text and the JSON document."""

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    with open_capture(pcap) as cap:
        frames = [(rec.ts_ns // 1000, rec.data) for rec in cap]
    if labels_path is not None:
        doc = json.loads(labels_path.read_text(encoding="utf-8"))
        labels = list(doc["connections"])
    else:
        labels = [
            c.to_dict() | {"scenario": pcap.stem, "subscenario": "", "label": "", "role": ""}
            for c in flows.connections(flows.packets(pcap))
        ]
    idx = _label_index(labels)
    inputs = _input_figures(frames, labels)
    runs = []
    for n in range(len(STAGES) + 1):
        stages = STAGES[:n]
        progress(
            f"replay {n + 1}/{len(STAGES) + 1}: stages {'+'.join(s.name for s in stages) or 'none'}"
        )
        runs.append(replay(frames, stages, args, idx, progress))
    final = runs[-1]
    fid = fidelity(final.rebuilt, labels)
    scen_names = sorted(set(inputs) | set(final.monitor))
    lines = [
        f"Capture `{pcap.name}`: {len(frames):,} frames, {len(labels):,} labelled connections"
        + (f" (labels `{labels_path.name}`)." if labels_path else " (no labels: one scenario)."),
        f"Switch: `p4src/main.p4` on the in-process softswitch, port 0 -> monitor port 1; "
        f"SYN offload {args.slots:,} slots, timeout {args.timeout:g} s, "
        f"{args.sweep_rate:,} sweeps/s of pcap time.",
        "",
        "### Input vs monitor (all stages)",
        "",
        "| scenario | input packets | monitor packets | input bytes | monitor bytes | "
        "input connections | monitor keeps state | logged from a summary |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [*scen_names, "total"]:
        i = _total(inputs) if name == "total" else inputs.get(name, Figures())
        m = _total(final.monitor) if name == "total" else final.monitor.get(name, Figures())
        b = "**" if name == "total" else ""
        lines.append(
            f"| {b}{name}{b} | {i.packets:,} | {m.packets:,} ({_pct(m.packets, i.packets)}) | "
            f"{i.bytes:,} | {m.bytes:,} ({_pct(m.bytes, i.bytes)}) | {i.connections:,} | "
            f"{m.connections:,} ({_pct(m.connections, i.connections)}) | {m.summarized:,} |"
        )
    lines += [
        "",
        "### Per-stage contribution",
        "",
        "Each row adds one stage to the pipeline; the change is against the row above.",
        "",
        "| stages | monitor packets | change | monitor bytes | change | monitor keeps state "
        "| change | records |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    prev: Figures | None = None
    stage_rows = []
    for r in runs:
        m = _total(r.monitor)
        p = prev or m
        first = prev is None

        def d(a: int, b: int, first: bool = first) -> str:
            return "" if first else f"{a - b:+,}"

        lines.append(
            f"| {'+'.join(r.stages) or 'none (forwarding only)'} | {m.packets:,} | "
            f"{d(m.packets, p.packets)} | {m.bytes:,} | {d(m.bytes, p.bytes)} | "
            f"{m.connections:,} | {d(m.connections, p.connections)} | {sum(r.records.values()):,} |"
        )
        stage_rows.append(
            {
                "stages": list(r.stages),
                "monitor": m.as_dict(),
                "records": dict(r.records),
                "fallbacks": dict(r.fallbacks),
                "replay_seconds": round(r.seconds, 2),
                "sweeps": r.sweeps,
                "per_scenario": {k: v.as_dict() for k, v in r.monitor.items()},
            }
        )
        prev = m
    lines += [
        "",
        "Per scenario, monitor packets with each stage prefix:",
        "",
        "| scenario | " + " | ".join("+".join(r.stages) or "none" for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    for name in scen_names:
        lines.append(
            f"| {name} | "
            + " | ".join(f"{r.monitor.get(name, Figures()).packets:,}" for r in runs)
            + " |"
        )
    lines += [
        "",
        "### Records and fallbacks (all stages)",
        "",
        "| record | stage | count |",
        "|---|---|---:|",
    ]
    for name, n in sorted(final.records.items()):
        lines.append(f"| {name} | {RECORD_STAGE.get(name, 'named in each record')} | {n:,} |")
    lines += ["", "| fallback (NOT_OFFLOADED): stage: reason | count |", "|---|---:|"]
    lines += [f"| {k} | {n:,} |" for k, n in sorted(final.fallbacks.items())] or ["| none | 0 |"]
    lines += [
        "",
        f"Frames carrying only records (no packet): {final.records_only_frames:,}.",
        "",
        "### Fidelity: conn.log rebuilt from the monitor stream vs the labels",
        "",
        "| scenario | labelled | found | same packet counts | other counts | missing |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(fid):
        f = fid[name]
        if name == "(unlabelled)":
            continue
        lines.append(
            f"| {name} | {f['labelled']:,} | {f['found']:,} | {f['same_packets']:,} | "
            f"{f['other_packets']:,} | {f['missing']:,} |"
        )
    tot = sum(fid.values(), Counter())
    lines += [
        f"| **total** | {tot['labelled']:,} | {tot['found']:,} | {tot['same_packets']:,} "
        f"| {tot['other_packets']:,} | {tot['missing']:,} |",
        "",
        f"Rebuilt entries matching no label: {fid.get('(unlabelled)', Counter())['extra']:,}.",
        "",
        f"Machine: {describe_machine()}; replays took "
        + ", ".join(f"{r.seconds:.1f} s" for r in runs)
        + ".",
    ]
    data = {
        "pcap": pcap.name,
        "labels": labels_path.name if labels_path else None,
        "frames": len(frames),
        "settings": {"slots": args.slots, "timeout_s": args.timeout, "sweep_rate": args.sweep_rate},
        "input": {k: v.as_dict() for k, v in inputs.items()},
        "input_total": _total(inputs).as_dict(),
        "stages": stage_rows,
        "fidelity": {k: dict(v) for k, v in fid.items()},
        "records_only_frames": final.records_only_frames,
    }
    return "\n".join(lines) + "\n", data


def plot(data: dict[str, Any], out: Path) -> list[Path]:
    """Two PNGs: input vs monitor per scenario; monitor totals per stage prefix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    final = data["stages"][-1]["per_scenario"]
    names = sorted(set(data["input"]) | set(final))
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.45 * len(names) + 2))
    for ax, key, title in (
        (axes[0], "packets", "packets"),
        (axes[1], "connections", "connections (monitor: with state)"),
    ):
        ys = range(len(names))
        ax.barh(
            [y + 0.2 for y in ys],
            [data["input"].get(n, {}).get(key, 0) for n in names],
            height=0.4,
            label="input",
        )
        ax.barh(
            [y - 0.2 for y in ys],
            [final.get(n, {}).get(key, 0) for n in names],
            height=0.4,
            label="monitor",
        )
        ax.set_yticks(list(ys), names)
        ax.set_xscale("symlog")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    p1 = out / "offload-per-scenario.png"
    fig.savefig(p1, dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels = ["+".join(s["stages"]) or "none" for s in data["stages"]]
    base = data["input_total"]
    for i, key in enumerate(("packets", "bytes", "connections")):
        vals = [s["monitor"][key] / max(base[key], 1) for s in data["stages"]]
        ax.bar([x + (i - 1) * 0.25 for x in range(len(labels))], vals, width=0.25, label=key)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("monitor / input")
    ax.set_title("what reaches the monitor, per stage prefix")
    ax.set_ylim(0, 1.25)
    ax.legend(loc="upper center", ncols=3)
    fig.tight_layout()
    p2 = out / "offload-per-stage.png"
    fig.savefig(p2, dpi=90)
    plt.close(fig)
    return [p1, p2]


def main(argv: list[str] | None = None) -> int:
    """Replay PCAP, write report.md/json and the plots, print the Markdown."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.offload_report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("pcap", type=Path)
    ap.add_argument("labels", type=Path, nargs="?")
    ap.add_argument("--out", type=Path, default=Path("run/report"))
    ap.add_argument("--slots", type=int, default=4096)
    ap.add_argument("--timeout", type=float, default=3.0, help="SYN-offload timeout, s")
    ap.add_argument("--sweep-rate", type=int, default=4096, help="sweeps per pcap second")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    for p in (args.pcap, args.labels):
        if p is not None and not p.exists():
            print(f"{p}: no such file", file=sys.stderr)
            return 2
    text, data = build_report(args.pcap, args.labels, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(text, encoding="utf-8")
    (args.out / "report.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    if not args.no_plots:
        for p in plot(data, args.out):
            print(f"wrote {p}", file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
