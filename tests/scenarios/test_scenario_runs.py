"""Every scenario run for real (namespaces, real programs): its label file against the
capture it wrote. Needs root and the scenario programs (`make setup`); skips otherwise,
saying which is missing."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.utils import rdpcap

from scenarios.catalog import SCENARIOS
from scenarios.expect import check
from scenarios.hosts import REQUIRED_PROGRAMS, missing_programs, require_root
from scenarios.run import run_scenario

SEED = 7


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "scenarios need root (network namespaces, tcpdump)"
    programs = set(REQUIRED_PROGRAMS)
    for s in SCENARIOS.values():
        programs.update(s.programs)
    missing = missing_programs(sorted(programs))
    return f"missing programs (make setup installs them): {', '.join(missing)}" if missing else None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("scenarios")
    docs = {}
    for name, sc in SCENARIOS.items():
        labels = run_scenario(sc, SEED, out)
        docs[name] = json.loads(labels.read_text()) | {"_dir": str(out)}
    return docs


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_has_expected_connections(runs: dict[str, dict[str, Any]], name: str) -> None:
    doc = runs[name]
    assert doc["connections"], f"{name}: no connections"
    assert check(doc) == []
    labels = {c["label"] for c in doc["connections"]}
    assert labels == ({"attack"} if name in _ATTACKS else {"benign"})


_ATTACKS = {"syn-scan", "connect-scan", "ssh-brute-force", "syn-flood", "udp-amplification"}


def _tuple(pkt: Any) -> tuple[str, frozenset[tuple[str, int]]] | None:
    ip = pkt.getlayer(IP)
    if ip is None:
        ip6 = pkt.getlayer(IPv6)
        if ip6 is None or ip6.nh != 17:  # the scenarios' IPv6 traffic is DNS over UDP
            return None
        return "udp", frozenset(((ip6.src, ip6[UDP].sport), (ip6.dst, ip6[UDP].dport)))
    if ip.frag or ip.flags.MF:
        return None
    for layer, name in ((TCP, "tcp"), (UDP, "udp")):
        seg = pkt.getlayer(layer)
        if seg is not None:
            return name, frozenset(((ip.src, seg.sport), (ip.dst, seg.dport)))
    icmp = pkt.getlayer(ICMP)
    if icmp is not None:
        return "icmp", frozenset(((ip.src, -1), (ip.dst, -2)))
    return None


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_labels_cover_the_capture(runs: dict[str, dict[str, Any]], name: str) -> None:
    """Read back with Scapy (not the labeller's parser): every IPv4 TCP/UDP/ICMP and IPv6
    UDP packet of the capture lies within a labelled connection of its 5-tuple, the packet
    counts add up, and every TCP connection's first packet is a SYN from its originator."""
    doc = runs[name]
    pkts = rdpcap(str(Path(doc["_dir"]) / doc["pcap"]))
    spans: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for c in doc["connections"]:
        if c["proto"] == "icmp":
            key = ("icmp", frozenset(((c["orig_h"], -1), (c["resp_h"], -2))))
        else:
            key = (c["proto"], frozenset(((c["orig_h"], c["orig_p"]), (c["resp_h"], c["resp_p"]))))
        spans[key].append(c)
    counted = 0
    first: dict[int, Any] = {}
    for pkt in pkts:
        key = _tuple(pkt)
        if key is None:
            continue
        t = float(pkt.time)
        owners = [c for c in spans.get(key, []) if c["start"] - 2e-5 <= t <= c["end"] + 2e-5]
        assert owners, f"{name}: packet at {t} {pkt.summary()} is in no labelled connection"
        first.setdefault(id(max(owners, key=lambda c: c["start"])), pkt)
        counted += 1
    labelled = sum(c["orig_pkts"] + c["resp_pkts"] for c in doc["connections"])
    assert counted == labelled
    for c in doc["connections"]:
        if c["proto"] == "tcp":
            pkt = first[id(c)]
            assert pkt[TCP].flags & 0x12 == 0x02 and pkt[IP].src == c["orig_h"], (name, c)


def test_refuses_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit, match="must run as root"):
        require_root()


def test_small_mix_report(runs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """The report on a small mix of real runs (http, syn-scan, dns): every benign
    connection is rebuilt with its packet counts, and every unanswered probe of the scan
    reaches the monitor as a summary it logs without state."""
    import argparse

    from bench.offload_report import build_report
    from scenarios.mix import stitch

    names = ("http", "syn-scan", "dns")
    chunks = [[Path(runs[n]["_dir"]) / f"{n}-{SEED}.labels.json"] for n in names]
    labels = stitch(chunks, tmp_path / "mix-small", "small")
    doc = json.loads(labels.read_text())
    assert [c["runs"] for c in doc["chunks"]] == [[f"{n}-{SEED}"] for n in names]
    starts = [c["start"] for c in doc["chunks"]]
    ends = [c["end"] for c in doc["chunks"]]
    assert all(abs(s - (e + 1.0)) < 1e-6 for s, e in zip(starts[1:], ends, strict=False))
    args = argparse.Namespace(slots=4096, timeout=3.0, sweep_rate=4096, quiet=True)
    _text, data = build_report(tmp_path / "mix-small.pcap", labels, args)
    want = {n: len(runs[n]["connections"]) for n in ("http", "syn-scan", "dns")}
    assert {n: data["input"][n]["connections"] for n in want} == want
    fid = data["fidelity"]
    for n in ("http", "dns"):
        assert fid[n]["found"] == fid[n]["same_packets"] == want[n], n
    unanswered = sum(1 for c in runs["syn-scan"]["connections"] if not c["answered"])
    final = data["stages"][-1]["per_scenario"]["syn-scan"]
    assert final["summarized"] == unanswered
    assert final["connections"] == want["syn-scan"] - unanswered


def test_shaped_path_delays_and_counts(tmp_path: Path) -> None:
    """dns through the relay with 30 ms +- 5 ms each way: every answer comes at least
    50 ms after its query, and the relay forwarded every frame it did not drop."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from scenarios.shaping import parse_shaping

    shaping = parse_shaping("delay=30ms,jitter=5ms,rate=50mbit")
    labels = run_scenario(SCENARIOS["dns"], SEED, tmp_path, shaping)
    doc = json.loads(labels.read_text())
    assert check(doc) == []
    udp = [c for c in doc["connections"] if c["proto"] == "udp"]
    assert udp and all(c["end"] - c["start"] >= 0.050 for c in udp)
    relay = doc["relay"]
    assert relay is not None and all(d["lost"] == d["tail_dropped"] == 0 for d in relay.values())
    assert sum(d["forwarded"] for d in relay.values()) > 2 * len(udp)


def test_a_chunk_runs_its_scenarios_at_once(tmp_path: Path) -> None:
    """Two scenarios of one chunk run at the same time on sites 1 and 2; the merged chunk
    holds both, their windows overlapping, each with its expected connections."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from scenarios.flows import packets
    from scenarios.mix import run_chunk, stitch

    files = run_chunk((("dns", SEED), ("smtp", SEED)), tmp_path / "runs")
    docs = [json.loads(f.read_text()) for f in files]
    assert [d["site"] for d in docs] == [1, 2]
    assert all(check(d) == [] for d in docs)
    (a0, a1), (b0, b1) = (
        (d["subscenarios"][0]["start"], d["subscenarios"][-1]["end"]) for d in docs
    )
    assert a0 < b1 and b0 < a1  # they ran at the same time
    labels = stitch([files], tmp_path / "mix-chunk", "chunk")
    doc = json.loads(labels.read_text())
    assert len(doc["connections"]) == sum(len(d["connections"]) for d in docs)
    times = [p.ts_ns for p in packets(tmp_path / "mix-chunk.pcap")]
    assert times == sorted(times)
    hosts = {p.src for p in packets(tmp_path / "mix-chunk.pcap")}
    assert {"10.77.1.1", "10.77.2.1"} <= hosts
