"""`watch --pcap FILE --store DB`: the vector rules' reports of real switch output stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from controlplane import state as state_mod
from controlplane.cli import main
from controlplane.thresholds.store import ALERTED, Store
from pktio.pcap import PcapWriter
from testbed.nids_switch import NidsSwitch

RULES = """\
monitor: {port: 1, ingress_ports: [0]}
stats:
  - name: ssh
    match: {protocol: tcp, dst_port: 22}
    group_by: {dst_addr: /32}
    interval: 1s
  - name: ddos-udp
    match: {protocol: udp}
    group_by: {dst_addr: /32}
    interval: 1s
    thresholds: {packets: 8}
"""
EPOCH_S = 1_800_000_000  # capture clock; the switch's own clock starts at 0


def _frame(dst: str, udp: bool) -> bytes:
    l4 = UDP(sport=4000, dport=9) if udp else TCP(sport=4000, dport=22, flags="A")
    return bytes(Ether() / IP(src="198.51.100.7", dst=dst) / l4 / (b"x" * 58))  # 100 bytes


def test_watch_store_writes_the_vector_rules_reports(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    pcap = tmp_path / "monitor.pcap"
    # 10.0.0.2: 5 UDP packets a second; 10.0.0.3: 10 a second (alerts at the 8th);
    # both get SSH packets, which are no vector rule's and stay out of the store.
    with NidsSwitch() as sw, PcapWriter(pcap) as w:
        sw.install(rules)
        for sec in range(4):
            for i in range(10):
                now_us = sec * 1_000_000 + i * 100_000
                sends = [("10.0.0.3", True), ("10.0.0.2", False)]
                if i % 2 == 0:
                    sends.append(("10.0.0.2", True))
                for dst, udp in sends:
                    for port, out in sw.run(0, _frame(dst, udp), now_us):
                        assert port == 1
                        w.write(out, (EPOCH_S * 1_000_000 + now_us) * 1000)
    state = tmp_path / "state.json"
    state_mod.save(state_mod.State(rules_file=str(rules)), state)
    db = tmp_path / "history.sqlite"
    args = ["watch", "--pcap", str(pcap), "--state", str(state), "--store", str(db)]
    args += ["--json-out", str(tmp_path / "events.jsonl")]
    assert main(args) == 0
    with Store(db) as st:
        assert st.step_s == 60
        assert st.series() == [("10.0.0.2", "PT_UDP"), ("10.0.0.3", "PT_UDP")]
        (low,) = st.points("10.0.0.2", "PT_UDP")
        (high,) = st.points("10.0.0.3", "PT_UDP")
    # 3 complete seconds reported per host (the 4th is still open at the end)
    assert low.t == high.t == EPOCH_S - EPOCH_S % 60
    assert (low.pps, low.bps, low.flags) == (5.0, 5 * 100 * 8.0, 0)
    assert (high.pps, high.bps, high.flags) == (10.0, 10 * 100 * 8.0, ALERTED)


def test_watch_store_needs_an_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pcap = tmp_path / "empty.pcap"
    PcapWriter(pcap).close()
    args = ["watch", "--pcap", str(pcap), "--state", str(tmp_path / "none.json")]
    assert main([*args, "--store", str(tmp_path / "h.sqlite")]) == 1
    assert "run `python -m controlplane install rules.yaml` first" in capsys.readouterr().err
