"""install end to end over gRPC against a fake P4Runtime switch: diff, one batch,
idempotency, undo on refusal, capability refusals, software fallback, error messages."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_p4rt_switch import FakeSwitch
from google.protobuf import text_format
from google.rpc import code_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from controlplane import state as state_mod
from controlplane.cli import main
from controlplane.install import action_key, match_key
from controlplane.p4rt import P4RuntimeSwitch
from controlplane.rules import read_rules

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def fixture_p4info() -> p4info_pb2.P4Info:
    return text_format.Parse((DATA / "stats.p4info.txtpb").read_text(), p4info_pb2.P4Info())


@pytest.fixture
def switch() -> Iterator[FakeSwitch]:
    sw = FakeSwitch(fixture_p4info())
    sw.serve()
    yield sw
    sw.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    return tmp_path


def install(sw: FakeSwitch, workdir: Path, *extra: str, rules: str = "rules.yaml") -> int:
    return main(
        [
            "install",
            str(workdir / rules),
            "--address",
            sw.address,
            "--state",
            str(workdir / "state.json"),
            *extra,
        ]
    )


def snapshot(sw: FakeSwitch) -> set[tuple[object, ...]]:
    return {(match_key(e), action_key(e)) for e in sw.entries()}


def test_install_then_idempotent(
    switch: FakeSwitch, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(switch, workdir) == 0
    out = capsys.readouterr().out
    assert len(switch.write_requests) == 1  # one batch
    assert len(switch.write_requests[0].updates) == 10  # 9 rules + 1 monitor port
    assert len(switch.entries()) == 10
    assert "  NidsIngress.stats.slot2.rules: 4 added, 0 modified, 0 deleted" in out
    assert "  NidsIngress.forward.monitor_ports: 1 added, 0 modified, 0 deleted" in out
    assert "installed in one Write: 10 added, 0 modified, 0 deleted" in out
    st = state_mod.load(workdir / "state.json")
    assert {r.name: (r.rule_id, r.slot) for r in st.rules}["ddos-syn"] == (3, 3)

    assert install(switch, workdir) == 0
    out = capsys.readouterr().out
    assert len(switch.write_requests) == 1  # nothing sent the second time
    assert "no changes: the switch already holds these rules" in out


def test_changed_file_is_applied_as_a_diff(
    switch: FakeSwitch, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(switch, workdir) == 0
    text = (workdir / "rules.yaml").read_text()
    text = text.replace(
        "thresholds: {packets: 1k, bytes: 1MB}\n\n  - name: ddos-ssdp",
        "thresholds: {packets: 2k, bytes: 1MB}\n\n  - name: ddos-ssdp",
    )
    start = text.index("  - name: ddos-icmp")
    end = text.index("  - name: ipv4-fragments")
    text = text[:start] + text[end:]  # drop ddos-icmp
    (workdir / "rules.yaml").write_text(text)
    capsys.readouterr()
    assert install(switch, workdir) == 0
    out = capsys.readouterr().out
    assert len(switch.write_requests) == 2
    kinds = [u.type for u in switch.write_requests[1].updates]
    # ids after ddos-icmp shift (ipv4-fragments 9 -> 8): a modify there too
    assert sorted(kinds) == sorted(
        [p4runtime_pb2.Update.DELETE, p4runtime_pb2.Update.MODIFY, p4runtime_pb2.Update.MODIFY]
    )
    assert "installed in one Write: 0 added, 2 modified, 1 deleted" in out
    assert len(switch.entries()) == 9


def test_refused_update_is_undone(
    switch: FakeSwitch, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(switch, workdir) == 0
    before = snapshot(switch)
    # new file: modify one, delete one, add two; the switch refuses the last insert
    text = (workdir / "rules.yaml").read_text()
    text = text.replace("packets: 5k, bytes: 1MB", "packets: 6k, bytes: 1MB")  # ddos-syn
    text = text.replace("protocol: icmp\n", "protocol: icmpv6\n", 1)  # a delete and an insert
    text += "\n  - name: extra\n    match: {protocol: 47}\n  - name: extra2\n    match: {protocol: 50}\n"  # noqa: E501
    (workdir / "rules.yaml").write_text(text)
    n = {"i": 0}

    def refuse(i: int, u: p4runtime_pb2.Update) -> tuple[int, str] | None:
        if u.type == p4runtime_pb2.Update.INSERT:
            n["i"] += 1
            if n["i"] == 3:
                return code_pb2.RESOURCE_EXHAUSTED, "Table is full"
        return None

    switch.refuse = refuse
    capsys.readouterr()
    assert install(switch, workdir) == 4
    err = capsys.readouterr().err
    switch.refuse = None
    assert snapshot(switch) == before  # nothing half-installed
    assert "the switch refused 1 of 5 updates:" in err
    assert "(insert stats[10] 'extra2' into NidsIngress.stats.slot" in err
    assert "RESOURCE_EXHAUSTED: Table is full" in err
    assert (
        "undid the 4 updates that had gone through; the switch holds exactly the entries it "
        "held before" in err
    )
    assert "the 1 re-inserted entries have their direct counters back" in err
    # the undo was one more Write
    assert len(switch.write_requests) == 3


def test_dry_run_sends_nothing(
    switch: FakeSwitch, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(switch, workdir, "--dry-run") == 0
    out = capsys.readouterr().out
    assert switch.write_requests == []
    assert "  would insert stats[8] 'ipv4-fragments' into NidsIngress.stats.slot0.rules" in out
    assert "dry run: 10 updates not sent" in out
    assert not (workdir / "state.json").exists()


def test_validation_errors_exit_2_before_contacting_switch(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "bad.yaml").write_text("stats:\n  - name: a\n    match: {src_addr: 10.0.0.0/33}\n")
    rc = main(
        ["install", str(workdir / "bad.yaml"), "--address", "127.0.0.1:1", "--timeout", "0.2"]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert err == (
        f"{workdir}/bad.yaml:3:23: stats[0].match.src_addr: '10.0.0.0/33' is not an IPv4 prefix "
        f"(/33 > /32)\n1 error in {workdir}/bad.yaml\n"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_switch_message(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    rc = main(
        [
            "install",
            str(workdir / "rules.yaml"),
            "--address",
            f"127.0.0.1:{port}",
            "--timeout",
            "0.3",
            "--state",
            str(workdir / "s.json"),
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert err == (
        f"cannot reach the switch at 127.0.0.1:{port}: no answer within 0.3 s — is it running? "
        "(make run)\n"
    )


def test_no_pipeline_and_push(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sw = FakeSwitch(None)
    sw.serve()
    try:
        assert install(sw, workdir) == 1
        assert "has no pipeline yet: push one with --p4info" in capsys.readouterr().err
        (workdir / "dev.json").write_bytes(b"{}")
        rc = install(
            sw,
            workdir,
            "--p4info",
            str(DATA / "stats.p4info.txtpb"),
            "--config",
            str(workdir / "dev.json"),
        )
        assert rc == 0
        assert "pushed the pipeline" in capsys.readouterr().out
        assert len(sw.entries()) == 10
    finally:
        sw.stop()


def test_not_primary(switch: FakeSwitch, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with P4RuntimeSwitch(switch.address, election_id=10) as other:
        other.become_primary()
        assert install(switch, workdir, "--election-id", "5", "--no-take-over") == 1
    err = capsys.readouterr().err
    assert "another controller is primary for device 1" in err
    assert "(election id 10 is above ours)" in err
    assert switch.entries() == []


def test_install_takes_over_from_another_primary(switch: FakeSwitch, workdir: Path) -> None:
    with P4RuntimeSwitch(switch.address, election_id=10) as other:
        other.become_primary()
        assert install(switch, workdir, "--election-id", "5") == 0
    assert len(switch.entries()) == 10


def test_pipeline_with_fewer_slots_and_software_fallback(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p4info = fixture_p4info()
    keep = [
        t
        for t in p4info.tables
        if "slot2" not in t.preamble.name and "slot3" not in t.preamble.name
    ]
    del p4info.tables[:]
    p4info.tables.extend(keep)
    sw = FakeSwitch(p4info)
    sw.serve()
    try:
        assert install(sw, workdir) == 3
        err = capsys.readouterr().err
        assert err.startswith("the running pipeline cannot carry these rules:\n")
        assert "does not fit: it overlaps a rule in every slot (slot 0:" in err
        assert "--software-fallback FILE" in err
        assert sw.write_requests == []
        fallback = workdir / "run" / "software.yaml"
        assert install(sw, workdir, "--software-fallback", str(fallback)) == 0
        out = capsys.readouterr().out
        assert "the pipeline has 2 slots of 64 rules" in out
        soft, probs = read_rules(fallback.read_text(), str(fallback))
        assert probs == []
        hard = {e.table_id for e in sw.entries()}
        assert len(hard) == 3  # slot0, slot1, monitor_ports
        assert len(sw.entries()) + len(soft.stats) == 10
        full, _ = read_rules((workdir / "rules.yaml").read_text(), "rules.yaml")
        by_name = full.by_name()
        for r in soft.stats:  # written back exactly as validated (ids kept)
            orig = by_name[r.name]
            assert (
                r.rule_id,
                r.match,
                r.group_by,
                r.interval_us,
                r.packet_threshold,
                r.byte_threshold,
            ) == (
                orig.rule_id,
                orig.match,
                orig.group_by,
                orig.interval_us,
                orig.packet_threshold,
                orig.byte_threshold,
            )
    finally:
        sw.stop()


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("install", "check", "watch", "status"):
        with pytest.raises(SystemExit) as e:
            main([cmd, "--help"])
        assert e.value.code == 0
        assert "examples:" in capsys.readouterr().out
