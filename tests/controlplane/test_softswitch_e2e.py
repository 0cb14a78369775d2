"""install and status against the real softswitch running p4src/main.p4 over gRPC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from controlplane.cli import main
from controlplane.prefilter import compile_section
from controlplane.rules import load_rules

ROOT = Path(__file__).resolve().parents[2]


def test_install_idempotent_and_status(
    softswitch: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address, build = softswitch
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    common = ["--address", address, "--state", str(tmp_path / "state.json")]
    rc = main(
        [
            "install",
            str(tmp_path / "rules.yaml"),
            *common,
            "--p4info",
            str(build / "main.p4info.txtpb"),
            "--config",
            str(build / "main.json"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    # 9 stats rules, 1 monitor port, and the prefilter set's entries if it is enabled.
    prefilters = load_rules(ROOT / "rules.yaml")[0].prefilters
    assert prefilters is not None
    c = compile_section(prefilters.rules)
    n = 10 + (len(c.entries) + len(c.pairs) if prefilters.enabled else 0)
    assert f"installed in one Write: {n} added, 0 modified, 0 deleted" in out
    assert main(["install", str(tmp_path / "rules.yaml"), *common]) == 0
    assert "no changes: the switch already holds these rules" in capsys.readouterr().out
    assert main(["status", "--json", *common]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(r["rule"] for r in data["rules"]) == sorted(
        [
            "ssh-by-source",
            "syn-from-10-by-source-port",
            "ddos-syn",
            "ddos-udp",
            "ddos-dns-response",
            "ddos-ntp",
            "ddos-ssdp",
            "ddos-icmp",
            "ipv4-fragments",
        ]
    )
    assert [o["slot"] for o in data["outcomes"]] == [0, 1, 2, 3]
