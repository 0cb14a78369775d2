"""From generated traffic through the switch to installed per-address thresholds.

Traffic of three hosts runs through p4src/main.p4 on the in-process switch; the monitor
port's frames are decoded by `watch`'s Watcher and stored by the Collector; `learn`
proposes thresholds; `apply`'s plan becomes a rules file that the controller's install
path writes; the entries read back over P4Runtime carry the learned thresholds.
"""

from __future__ import annotations

import math
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from controlplane.rules import load_rules
from controlplane.thresholds.apply import Wanted, plan
from controlplane.thresholds.collect import Collector
from controlplane.thresholds.learn import learn
from controlplane.thresholds.store import Store
from controlplane.watch import Watcher
from testbed.history import diurnal
from testbed.nids_switch import NidsSwitch

BASE = """\
monitor: {port: 1, ingress_ports: [0]}
stats:
  - name: ddos-udp
    match: {protocol: udp}
    group_by: {dst_addr: /32}
    interval: 1s
    thresholds: {packets: 50k, bytes: 50MB}
  - name: ddos-dns-response
    match: {protocol: udp, src_port: 53}
    group_by: {dst_addr: /32}
    interval: 1s
    thresholds: {packets: 5k, bytes: 5MB}
"""
HOSTS = {"10.0.0.1": 40, "10.0.0.2": 16, "10.0.0.3": 4}  # UDP packets in a peak second
STEP = 3600
NO_LIMITS = {("PT_UDP", m): (0.0, math.inf) for m in ("PPS", "BW")}


def _param(entry: object, schema_action: object, name: str) -> int:
    pid = schema_action.param(name).id  # type: ignore[attr-defined]
    for p in entry.action.action.params:  # type: ignore[attr-defined]
        if p.param_id == pid:
            return int.from_bytes(p.value, "big")
    return 0


def test_traffic_to_store_to_learn_to_installed_thresholds(tmp_path: Path) -> None:
    base = tmp_path / "rules.yaml"
    base.write_text(BASE, encoding="utf-8")
    rules, problems = load_rules(base)
    assert not problems
    store = Store(tmp_path / "history.sqlite", step_s=STEP)
    collector = Collector(store, rules.stats)
    watcher = Watcher(collector.observe, {r.rule_id: r.name for r in rules.stats})
    frames = {
        a: bytes(Ether() / IP(src="203.0.113.9", dst=a) / UDP(sport=999, dport=7) / (b"u" * 82))
        for a in HOSTS
    }  # 124-byte frames
    with NidsSwitch() as sw:
        sw.install(base)
        # two days; in each hour one busy second per host (diurnal), idle otherwise
        for hour in range(48):
            t0 = hour * STEP
            for a, peak in HOSTS.items():
                n = max(1, round(peak * diurnal(t0)))
                for i in range(n):
                    now_us = t0 * 1_000_000 + i * (1_000_000 // n)
                    for _, out in sw.run(0, frames[a], now_us):
                        watcher.feed(now_us * 1000, out)
        collector.close()
        assert collector.reports > 0 and not watcher.errors

        with Store(tmp_path / "history.sqlite") as st:
            assert st.series() == [(a, "PT_UDP") for a in HOSTS]
            heavy = st.points("10.0.0.1", "PT_UDP")
            # every hour but the last one reported: its second ended with no later packet
            assert len([p for p in heavy if p.pps > 0]) == 47
            assert max(p.pps for p in heavy) == 40.0  # the 16:00 peak
            proposals = learn(st, limits=NO_LIMITS)
        by = {(p.address, p.metric): p for p in proposals}
        assert by[("10.0.0.1", "PPS")].method == "rule"
        q90 = by[("10.0.0.1", "PPS")].features["daily_max_q90"]
        assert q90 == 40.0  # both days peak at 40 packets in a second
        assert by[("10.0.0.1", "PPS")].threshold == 120.0
        assert by[("10.0.0.1", "BW")].threshold == 3 * 40 * 124 * 8

        wanted = [
            Wanted(
                a,
                "PT_UDP",
                {m: by[(a, m)].threshold for m in ("PPS", "BW")},
                by[(a, "PPS")].features["daily_max_q90"],
            )
            for a in HOSTS
        ]
        p = plan(str(base), wanted, max_rules=2)
        assert p.own == [("10.0.0.1", "PT_UDP"), ("10.0.0.2", "PT_UDP")]
        out = tmp_path / "thresholds-rules.yaml"
        out.write_text(p.text, encoding="utf-8")
        assert sw.install(out) > 0
        assert sw.install(out) == 0  # the switch holds exactly the generated file

        got: dict[str, tuple[int, int]] = {}
        new_rules, _ = load_rules(out)
        names = {r.rule_id: r.name for r in new_rules.stats}
        for s in range(4):
            table = sw.schema.table(f"NidsIngress.stats.slot{s}.rules")
            action = sw.schema.action(f"NidsIngress.stats.slot{s}.count_group")
            for e in sw.p4rt.read_table(table.id):
                rid = _param(e, action, "rule_id")
                got[names[rid]] = (
                    _param(e, action, "packet_threshold"),
                    _param(e, action, "byte_threshold"),
                )
    assert got["ddos-udp:10.0.0.1"] == (120, 3 * 40 * 124)
    q2 = by[("10.0.0.2", "PPS")].threshold
    assert got["ddos-udp:10.0.0.2"] == (
        math.ceil(q2),
        math.ceil(by[("10.0.0.2", "BW")].threshold / 8),
    )
    # the default now fits the one host left to it, 10.0.0.3
    assert got["ddos-udp"] == (
        math.ceil(by[("10.0.0.3", "PPS")].threshold),
        math.ceil(by[("10.0.0.3", "BW")].threshold / 8),
    )
    assert got["ddos-dns-response"] == (5000, 5_000_000)  # no proposal: as in the base
