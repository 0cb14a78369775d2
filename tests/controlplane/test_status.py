"""status: per-rule direct counters, group_totals with keys learned by watch, outcomes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fake_p4rt_switch import FakeSwitch
from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from controlplane import state as state_mod
from controlplane.cli import main
from controlplane.install import match_key
from controlplane.p4info import P4Schema

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def test_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p4info = text_format.Parse((DATA / "stats.p4info.txtpb").read_text(), p4info_pb2.P4Info())
    schema = P4Schema(p4info)
    sw = FakeSwitch(p4info)
    sw.serve()
    try:
        shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
        state = tmp_path / "state.json"
        args = ["--address", sw.address, "--state", str(state)]
        assert main(["install", str(tmp_path / "rules.yaml"), *args]) == 0
        slot3 = schema.table("NidsIngress.stats.slot3.rules").id
        [syn] = sw.tables[slot3].values()
        sw.direct[match_key(syn)] = (7, 420)
        totals = schema.counter("NidsIngress.stats.slot3.group_totals").id
        outcomes = schema.counter("NidsIngress.stats.slot3.outcomes").id
        sw.counters[totals] = {17: (5, 300), 99: (2, 120)}
        sw.counters[outcomes] = {0: (7, 0), 1: (1, 0), 3: (1, 0)}
        st = state_mod.load(state)
        key = {
            "ingress_port": 0,
            "ip_proto": 0,
            "tcp_flags": 0,
            "ipv4_src": "0.0.0.0",
            "ipv4_dst": "10.0.0.5",
            "l4_src_port": 0,
            "l4_dst_port": 0,
        }
        st.group_keys["3/17"] = {"rule": "ddos-syn", "rule_id": 3, "key": key}
        state_mod.save(st, state)
        capsys.readouterr()
        assert main(["status", "--json", *args]) == 0
        data = json.loads(capsys.readouterr().out)
        syn_row = next(r for r in data["rules"] if r["rule"] == "ddos-syn")
        assert syn_row == {
            "slot": 3,
            "rule_id": 3,
            "rule": "ddos-syn",
            "priority": 1,
            "packets": 7,
            "bytes": 420,
        }
        assert len(data["rules"]) == 9
        assert data["groups"] == [
            {"slot": 3, "index": 17, "rule": "ddos-syn", "key": key, "packets": 5, "bytes": 300},
            {"slot": 3, "index": 99, "rule": None, "key": None, "packets": 2, "bytes": 120},
        ]
        assert data["outcomes"][3] == {
            "slot": 3,
            "counted": 7,
            "collision": 1,
            "report": 0,
            "alert": 1,
        }
        assert main(["status", *args]) == 0
        text = capsys.readouterr().out
        assert (
            "ddos-syn" in text and "ipv4_dst=10.0.0.5" in text and "(not seen by watch yet)" in text
        )
    finally:
        sw.stop()
