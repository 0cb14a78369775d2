"""Mixes: scenario runs stitched into one longer capture in time chunks, as DetGen does.

A chunk is one or more scenario runs *at the same time*, each on its own site (network,
`scenarios.hosts.Site`), their captures merged in timestamp order: everything inside a
chunk is internally consistent (its packets really were sent together, sharing the
machine). Chunks are stitched one after another: chunk i's timestamps are shifted so
that it starts `GAP_S` after chunk i-1 ended, its labels by the same amount. Separately
captured chunks are never overlapped (that would invent timings that never happened).

`lbnl` is modelled on the LBNL enterprise traces in which most connection attempts go
unanswered (scans): at least half of its TCP connection attempts get no reply, which
`build` checks.
"""

from __future__ import annotations

import heapq
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pktio.pcap import PcapRecord, PcapWriter, open_capture
from scenarios.catalog import SCENARIOS
from scenarios.hosts import SITES, Site
from scenarios.run import run_scenario

Chunk = tuple[tuple[str, int], ...]  # (scenario, seed) runs at the same time

GAP_S = 1.0


@dataclass(frozen=True)
class MixSpec:
    """Named list of chunks and the least unanswered share of TCP attempts it must reach."""

    name: str
    chunks: tuple[Chunk, ...]
    min_unanswered: float = 0.0


def _groups(runs: list[tuple[str, int]], size: int) -> tuple[Chunk, ...]:
    return tuple(tuple(runs[i : i + size]) for i in range(0, len(runs), size))


MIXES = {
    "lbnl": MixSpec(
        "lbnl",
        (
            (("http", 11), ("syn-scan", 11)),
            (("dns", 11), ("tls", 11), ("connect-scan", 11)),
            (("ssh", 11), ("syn-scan", 12)),
            (("smtp", 11), ("ftp", 11), ("ssh-brute-force", 11)),
            (("syn-scan", 13),),
        ),
        min_unanswered=0.5,
    ),
    "small": MixSpec("small", ((("http", 21), ("syn-scan", 21)), (("dns", 21),))),
    # every scenario once, three at a time, floods included
    "all": MixSpec("all", _groups([(name, 31) for name in SCENARIOS], 3)),
}


def unanswered_share(connections: list[dict[str, Any]]) -> tuple[int, int]:
    """(unanswered, all) TCP connection attempts."""
    tcp = [c for c in connections if c["proto"] == "tcp"]
    return sum(1 for c in tcp if not c["answered"]), len(tcp)


def _records(label_file: Path) -> tuple[dict[str, Any], list[PcapRecord]]:
    doc = json.loads(label_file.read_text(encoding="utf-8"))
    with open_capture(label_file.parent / doc["pcap"]) as cap:
        return doc, list(cap)


def stitch(chunks: list[list[Path]], out_stem: Path, name: str) -> Path:
    """Merge each chunk's runs (label files, pcap beside each) and stitch the chunks into
    OUT.pcap + OUT.labels.json."""
    pcap_out, labels_out = out_stem.with_suffix(".pcap"), out_stem.with_suffix(".labels.json")
    chunk_docs: list[dict[str, Any]] = []
    conns: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    t_next: int | None = None  # ns
    with PcapWriter(pcap_out, nanosecond=True) as w:
        for n, files in enumerate(chunks):
            loaded = [_records(f) for f in files]
            streams = [recs for _, recs in loaded if recs]
            if not streams:
                continue
            first = min(recs[0].ts_ns for recs in streams)
            last = max(recs[-1].ts_ns for recs in streams)
            shift_ns = 0 if t_next is None else t_next - first
            for rec in heapq.merge(*streams, key=lambda r: r.ts_ns):
                w.write(rec.data, rec.ts_ns + shift_ns, rec.orig_len)
            shift = shift_ns / 1e9
            runs = [f"{d['scenario']}-{d['seed']}" for d, _ in loaded]
            chunk = f"chunk{n + 1}"
            chunk_docs.append(
                {
                    "chunk": chunk,
                    "runs": runs,
                    "shift": shift,
                    "start": (first + shift_ns) / 1e9,
                    "end": (last + shift_ns) / 1e9,
                }
            )
            for doc, _ in loaded:
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
            t_next = last + shift_ns + int(GAP_S * 1e9)
    conns.sort(key=lambda c: c["start"])
    unanswered, attempts = unanswered_share(conns)
    out = {
        "scenario": f"mix:{name}",
        "pcap": pcap_out.name,
        "chunks": chunk_docs,
        "subscenarios": subs,
        "connections": conns,
        "tcp_attempts": attempts,
        "tcp_unanswered": unanswered,
    }
    labels_out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return labels_out


def run_chunk(chunk: Chunk, runs: Path) -> list[Path]:
    """Run the chunk's scenarios at the same time, one site each (reusing runs already in
    `runs`); their label files."""
    if len(chunk) > len(SITES):
        raise ValueError(f"a chunk runs at most {len(SITES)} scenarios at once")
    files = [runs / f"{sc}-{seed}.labels.json" for sc, seed in chunk]
    errors: list[BaseException] = []

    def one(i: int) -> None:
        sc, seed = chunk[i]
        try:
            run_scenario(SCENARIOS[sc], seed, runs, site=Site(i + 1))
        except BaseException as e:  # reported below, in the caller's thread
            errors.append(e)

    threads = [
        threading.Thread(target=one, args=(i,)) for i, f in enumerate(files) if not f.exists()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return files


def build(spec: MixSpec, out: Path) -> Path:
    """Run (or reuse, when already in OUT/runs) every chunk, then stitch them."""
    runs = out / "runs"
    chunks = [run_chunk(chunk, runs) for chunk in spec.chunks]
    labels = stitch(chunks, out / f"mix-{spec.name}", spec.name)
    doc = json.loads(labels.read_text(encoding="utf-8"))
    share = doc["tcp_unanswered"] / max(doc["tcp_attempts"], 1)
    if share < spec.min_unanswered:
        raise SystemExit(
            f"mix {spec.name}: {share:.0%} of TCP attempts unanswered, "
            f"below the {spec.min_unanswered:.0%} it is defined by"
        )
    return labels
