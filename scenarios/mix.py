"""Mixes: scenario runs stitched into one longer capture in time chunks, as DetGen does.

Each chunk is one scenario run, captured on its own, so everything inside a chunk is
internally consistent (its packets influenced each other's timing for real). Chunks are
stitched one after another: chunk i's timestamps are shifted so that it starts `GAP_S`
after chunk i-1 ended; its labels are shifted by the same amount. Nothing is overlapped
(overlapping separately captured traffic would invent timings that never happened).

A mix file lists the runs; `lbnl` is modelled on the LBNL enterprise traces in which most
connection attempts go unanswered (scans): at least half of its TCP connection attempts
get no reply, which `build` checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pktio.pcap import PcapWriter, open_capture
from scenarios.catalog import SCENARIOS
from scenarios.run import run_scenario

GAP_S = 1.0


@dataclass(frozen=True)
class MixSpec:
    """Named list of (scenario, seed) chunks and the least unanswered share it must reach."""

    name: str
    chunks: tuple[tuple[str, int], ...]
    min_unanswered: float = 0.0


MIXES = {
    "lbnl": MixSpec(
        "lbnl",
        (
            ("http", 11),
            ("syn-scan", 11),
            ("dns", 11),
            ("tls", 11),
            ("connect-scan", 11),
            ("ssh", 11),
            ("syn-scan", 12),
            ("smtp", 11),
            ("ftp", 11),
            ("ssh-brute-force", 11),
            ("syn-scan", 13),
        ),
        min_unanswered=0.5,
    ),
    "small": MixSpec("small", (("http", 21), ("syn-scan", 21), ("dns", 21))),
    # every scenario once, floods included
    "all": MixSpec("all", tuple((name, 31) for name in SCENARIOS)),
}


def unanswered_share(connections: list[dict[str, Any]]) -> tuple[int, int]:
    """(unanswered, all) TCP connection attempts."""
    tcp = [c for c in connections if c["proto"] == "tcp"]
    return sum(1 for c in tcp if not c["answered"]), len(tcp)


def stitch(label_files: list[Path], out_stem: Path, name: str) -> Path:
    """Stitch the runs of `label_files` (pcap beside each) into OUT.pcap + OUT.labels.json."""
    pcap_out, labels_out = out_stem.with_suffix(".pcap"), out_stem.with_suffix(".labels.json")
    chunks, conns, subs = [], [], []
    t_next: float | None = None
    with PcapWriter(pcap_out, nanosecond=True) as w:
        for lf in label_files:
            doc = json.loads(lf.read_text(encoding="utf-8"))
            src = lf.parent / doc["pcap"]
            with open_capture(src) as cap:
                recs = list(cap)
            if not recs:
                continue
            first = recs[0].ts_ns
            shift_ns = 0 if t_next is None else int(t_next * 1e9) - first
            for rec in recs:
                w.write(rec.data, rec.ts_ns + shift_ns, rec.orig_len)
            shift = shift_ns / 1e9
            chunk = f"{doc['scenario']}-{doc['seed']}"
            chunks.append(
                {
                    "chunk": chunk,
                    "shift": shift,
                    "start": (first + shift_ns) / 1e9,
                    "end": (recs[-1].ts_ns + shift_ns) / 1e9,
                }
            )
            for c in doc["connections"]:
                conns.append(
                    c | {"chunk": chunk, "start": c["start"] + shift, "end": c["end"] + shift}
                )
            for s in doc["subscenarios"]:
                subs.append(
                    s
                    | {
                        "scenario": doc["scenario"],
                        "chunk": chunk,
                        "start": s["start"] + shift,
                        "end": s["end"] + shift,
                    }
                )
            t_next = (recs[-1].ts_ns + shift_ns) / 1e9 + GAP_S
    unanswered, attempts = unanswered_share(conns)
    doc = {
        "scenario": f"mix:{name}",
        "pcap": pcap_out.name,
        "chunks": chunks,
        "subscenarios": subs,
        "connections": conns,
        "tcp_attempts": attempts,
        "tcp_unanswered": unanswered,
    }
    labels_out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return labels_out


def build(spec: MixSpec, out: Path) -> Path:
    """Run (or reuse, when already in OUT/runs) every chunk's scenario, then stitch them."""
    runs = out / "runs"
    files = []
    for scenario, seed in spec.chunks:
        lf = runs / f"{scenario}-{seed}.labels.json"
        if not lf.exists():
            lf = run_scenario(SCENARIOS[scenario], seed, runs)
        files.append(lf)
    labels = stitch(files, out / f"mix-{spec.name}", spec.name)
    doc = json.loads(labels.read_text(encoding="utf-8"))
    share = doc["tcp_unanswered"] / max(doc["tcp_attempts"], 1)
    if share < spec.min_unanswered:
        raise SystemExit(
            f"mix {spec.name}: {share:.0%} of TCP attempts unanswered, "
            f"below the {spec.min_unanswered:.0%} it is defined by"
        )
    return labels
