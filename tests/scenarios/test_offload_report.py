"""The offload report on a small hand-made mix: its figures equal the ones worked out by
hand below (no root needed: the capture is built here, the switch runs in process)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from bench.offload_report import build_report
from scenarios.flows import connections, packets

T = 1_700_000_000.0
C, S, D = "10.77.1.1", "10.77.1.2", "10.77.200.9"


def _eth() -> Ether:
    return Ether(src="02:77:00:00:01:01", dst="02:77:00:00:01:02")


def _mix(path: Path) -> None:
    """- web: handshake, request, response, FIN both ways, last ACK (8 packets);
    - scan-a: one SYN to a dark host, never answered;
    - scan-b: a SYN to a dark host and its retransmission 0.3 s later (same ISN);
    - dns: a query and its answer (UDP).
    All within 0.9 s, so no stats interval ends (no reports)."""
    w = lambda t, p: p.__setattr__("time", T + t) or p  # noqa: E731
    tcp = lambda src, dst, sp, dp, fl, sq, ak, data=b"": (  # noqa: E731
        _eth() / IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=fl, seq=sq, ack=ak) / data
    )
    pk = [
        w(0.00, tcp(C, S, 40000, 80, "S", 100, 0)),
        w(0.01, tcp(S, C, 80, 40000, "SA", 500, 101)),
        w(0.02, tcp(C, S, 40000, 80, "A", 101, 501)),
        w(0.03, tcp(C, S, 40000, 80, "PA", 101, 501, b"GET / HTTP/1.0\r\n\r\n")),
        w(0.04, tcp(S, C, 80, 40000, "PA", 501, 119, b"x" * 300)),
        w(0.05, tcp(C, S, 40000, 80, "FA", 119, 801)),
        w(0.06, tcp(S, C, 80, 40000, "FA", 801, 120)),
        w(0.07, tcp(C, S, 40000, 80, "A", 120, 802)),
        w(0.10, tcp(C, D, 41000, 22, "S", 7000, 0)),
        w(0.20, tcp(C, D, 41001, 23, "S", 9000, 0)),
        w(0.50, tcp(C, D, 41001, 23, "S", 9000, 0)),
        w(0.60, _eth() / IP(src=C, dst=S) / UDP(sport=50000, dport=53) / (b"q" * 30)),
        w(0.61, _eth() / IP(src=S, dst=C) / UDP(sport=53, dport=50000) / (b"a" * 60)),
    ]
    wrpcap(str(path), pk)


def _labels(pcap: Path, out: Path) -> None:
    conns = []
    for c in connections(packets(pcap)):
        scen = {80: "web", 22: "scan-a", 23: "scan-b", 53: "dns"}[c.resp_p]
        conns.append(c.to_dict() | {"scenario": scen, "subscenario": scen, "label": "", "role": ""})
    out.write_text(json.dumps({"scenario": "mix:test", "connections": conns}))


def test_report_figures_equal_hand_checked_values(tmp_path: Path) -> None:
    pcap, labels = tmp_path / "mix.pcap", tmp_path / "mix.labels.json"
    _mix(pcap)
    _labels(pcap, labels)
    args = argparse.Namespace(slots=64, timeout=1.0, sweep_rate=64, quiet=True)
    text, data = build_report(pcap, labels, args)
    assert data["frames"] == 13
    assert data["input"]["web"] == {
        "packets": 8,
        "bytes": data["input"]["web"]["bytes"],
        "connections": 1,
        "summarized": 0,
    }
    assert data["input_total"]["connections"] == 4
    none, stats, syn = data["stages"]
    assert [s["stages"] for s in data["stages"]] == [[], ["stats"], ["stats", "syn_offload"]]
    # forwarding only: the monitor gets all 13 frames and tracks all 4 connections
    assert none["monitor"]["packets"] == 13 and none["monitor"]["connections"] == 4
    # stats: counts, but no interval ends within 0.9 s and no threshold is crossed
    assert stats["monitor"]["packets"] == 13 and stats["records"] == {}
    # SYN offload: web's SYN is held and regenerated before the SYN-ACK (8 packets still);
    # scan-a's SYN and scan-b's two SYNs come back as 2 regenerated SYNs with summaries
    # (13 - 1 = 12 frames); the monitor tracks web and dns, logs 2 attempts from summaries
    assert syn["monitor"] == {
        "packets": 12,
        "bytes": syn["monitor"]["bytes"],
        "connections": 2,
        "summarized": 2,
    }
    assert syn["records"] == {"syn_summary": 3}
    assert syn["fallbacks"] == {}
    assert syn["per_scenario"]["scan-b"]["packets"] == 1
    assert syn["per_scenario"]["web"]["packets"] == 8
    # fidelity: every labelled connection is rebuilt, with its packet counts (scan-b's
    # summary says 2 SYNs)
    fid = data["fidelity"]
    for scen in ("web", "scan-a", "scan-b", "dns"):
        assert fid[scen] == {
            "labelled": 1,
            "found": 1,
            "same_packets": 1,
            "other_packets": 0,
            "missing": 0,
        }, scen
    assert "(unlabelled)" not in fid
    assert "| **total** | 13 | 12 (92.3%) |" in text
