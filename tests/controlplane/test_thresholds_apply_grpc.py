"""`thresholds apply` against the real softswitch over gRPC: dry run, one batch, read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from controlplane.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROPOSAL = """\
address,vector,metric,daily_max_q90,method,threshold
10.0.0.5,PT_SYN,PPS,300,rule,900
10.0.0.5,PT_SYN,BW,,rule,4.8e6
10.0.0.6,PT_SYN,PPS,20,rule,150
10.0.0.6,PT_SYN,BW,,rule,800000
10.0.0.5,PT_NTP,PPS,1,floor,50
10.0.0.7,PT_TCP,PPS,5,rule,100
"""


def test_apply_dry_run_then_one_batch(
    softswitch: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address, build = softswitch
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    common = ["--address", address, "--state", str(tmp_path / "state.json")]
    pipeline = ["--p4info", str(build / "main.p4info.txtpb"), "--config", str(build / "main.json")]
    assert main(["install", str(tmp_path / "rules.yaml"), *common, *pipeline]) == 0
    capsys.readouterr()
    (tmp_path / "proposal.csv").write_text(PROPOSAL)
    apply = ["thresholds", "apply", str(tmp_path / "proposal.csv"), *common]
    apply += ["--rules", str(tmp_path / "rules.yaml"), "--max-rules", "2"]
    apply += ["--rules-out", str(tmp_path / "generated.yaml")]

    assert main([*apply, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 addresses x vectors get their own rules (2/2 allowed)" in out
    assert "default PT_NTP: packets 50, bytes" not in out  # its only address has a rule
    assert "default PT_SYN: packets 150, bytes 100000 per interval" in out
    assert "no vector rule for PT_TCP" in out
    assert "would insert stats[1] 'ddos-syn:10.0.0.5' into NidsIngress.stats.slot3.rules" in out
    assert "would insert stats[0] 'ddos-ntp:10.0.0.5' into NidsIngress.stats.slot2.rules" in out
    assert "would modify stats[4] 'ddos-syn' in NidsIngress.stats.slot3.rules" in out
    assert "dry run: 3 updates not sent" in out  # 2 inserts, 1 modify (ddos-syn)
    assert "(2 per-address rules sit above their default in its slot)" in out

    assert main(apply) == 0
    out = capsys.readouterr().out
    assert "installed in one Write: 2 added, 1 modified, 0 deleted" in out
    assert main(["install", str(tmp_path / "generated.yaml"), *common]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["status", "--json", *common]) == 0
    rules = {r["rule"] for r in json.loads(capsys.readouterr().out)["rules"]}
    assert {"ddos-syn:10.0.0.5", "ddos-ntp:10.0.0.5", "ddos-syn"} <= rules


def test_apply_reports_a_bad_proposal_at_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.csv").write_text("address,vector,metric,threshold\n10.0.0.1,PT_NETFLOW,PPS,5\n")
    assert main(["thresholds", "apply", str(tmp_path / "p.csv"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "p.csv:2:10: vector 'PT_NETFLOW' has no stats rule (the series come from" in err
