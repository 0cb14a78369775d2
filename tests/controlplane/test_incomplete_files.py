"""A rules file that would empty the switch by omission is refused (install, check);
emptying it on purpose is `clear`, one batched Write that lists what it deletes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_p4rt_switch import FakeSwitch
from google.protobuf import text_format
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from controlplane.cli import main
from controlplane.install import action_key, match_key

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]
MONITOR = "monitor:\n  port: 1\n  ingress_ports: [0]\n"
STATS = "stats:\n  - name: a\n    match: {protocol: tcp}\n"


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    p4info = text_format.Parse((DATA / "stats.p4info.txtpb").read_text(), p4info_pb2.P4Info())
    sw = FakeSwitch(p4info)
    sw.serve()
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    assert _cli("install", tmp_path / "rules.yaml", sw, tmp_path) == 0
    yield sw
    sw.stop()


def _cli(cmd: str, rules: Path | None, sw: FakeSwitch, tmp: Path, *extra: str) -> int:
    args = [cmd] + ([str(rules)] if rules is not None else [])
    return main([*args, "--address", sw.address, "--state", str(tmp / "state.json"), *extra])


def _held(sw: FakeSwitch) -> set[tuple[object, ...]]:
    return {(match_key(e), action_key(e)) for e in sw.entries()}


INCOMPLETE = [
    ("", "1:1", "the file has no rules"),
    ("# all commented out\n# - name: x\n\n", "1:1", "the file has no rules"),
    ("{}\n", "1:1", "the file has no rules"),
    ("stats:\nmonitor:\n", "1:1", "the file has no rules"),
    (STATS, "3:27", "without a 'monitor:' section"),
    (MONITOR, "3:21", "without a 'stats:' section"),
    (MONITOR + "stats:\n", "4:7", "without a 'stats:' section"),
    (MONITOR + "syn_offload: {enabled: false}\n", "4:30", "without a 'stats:' section"),
]


@pytest.mark.parametrize(("text", "pos", "what"), INCOMPLETE)
def test_install_refuses_and_lists_what_it_would_delete(
    switch: FakeSwitch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    pos: str,
    what: str,
) -> None:
    before = _held(switch)
    writes = len(switch.write_requests)
    f = tmp_path / "cut.yaml"
    f.write_text(text)
    capsys.readouterr()
    assert _cli("install", f, switch, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"{f}:{pos}: " in err and what in err, err
    assert "it would delete" in err
    assert "python -m controlplane clear" in err
    if "monitor" in what or "no rules" in what:
        assert "delete monitor port 0 from NidsIngress.forward.monitor_ports" in err
    if "monitor" not in what:
        assert "delete rule 'ddos-syn' (id 3) from NidsIngress.stats.slot3.rules" in err
    assert _held(switch) == before
    assert len(switch.write_requests) == writes  # nothing written


@pytest.mark.parametrize(("text", "pos", "what"), INCOMPLETE)
def test_check_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, pos: str, what: str
) -> None:
    f = tmp_path / "cut.yaml"
    f.write_text(text)
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:{pos}: " in err and what in err, err
    assert "would delete every" in err
    assert "python -m controlplane clear" in err


def test_explicit_empty_sections_are_accepted(
    switch: FakeSwitch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "none.yaml"
    f.write_text(MONITOR + "stats: []\n")
    assert main(["check", str(f)]) == 0
    assert _cli("install", f, switch, tmp_path) == 0
    assert "0 added, 0 modified, 9 deleted" in capsys.readouterr().out
    assert len(switch.entries()) == 1  # the monitor port stays


def test_unreachable_switch_still_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "empty.yaml"
    f.write_text("")
    rc = main(["install", str(f), "--address", "127.0.0.1:9", "--timeout", "0.2"])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{f}:1:1: the file has no rules" in err
    assert "what it would delete is unknown: cannot reach the switch" in err


def test_clear_dry_run_then_clear_in_one_write(
    switch: FakeSwitch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writes = len(switch.write_requests)
    capsys.readouterr()
    assert _cli("clear", None, switch, tmp_path, "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.count("  would delete ") == 10
    assert "would delete monitor port 0 from NidsIngress.forward.monitor_ports" in out
    assert "would delete rule 'ddos-syn' (id 3) from NidsIngress.stats.slot3.rules" in out
    assert len(switch.write_requests) == writes
    assert _cli("clear", None, switch, tmp_path) == 0
    out = capsys.readouterr().out
    assert "installed in one Write: 0 added, 0 modified, 10 deleted" in out
    assert switch.entries() == []
    assert len(switch.write_requests) == writes + 1
    assert all(u.type == p4runtime_pb2.Update.DELETE for u in switch.write_requests[-1].updates)
    assert _cli("clear", None, switch, tmp_path) == 0
    assert "no changes" in capsys.readouterr().out
