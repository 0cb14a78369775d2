"""Undo after a refused Write puts deleted entries back with their direct counters,
or names each counter it could not restore: against the fake switch (both kinds of
server) and against the real softswitch P4Runtime server on a port of its own."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fake_p4rt_switch import FakeSwitch
from google.protobuf import text_format
from google.rpc import code_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from controlplane.cli import main
from controlplane.compile import managed_tables
from controlplane.install import Change, InstallFailed, apply, match_key, snapshot
from controlplane.p4info import P4Schema
from controlplane.p4rt import P4RuntimeSwitch

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]
PORTS = range(9590, 9600)  # this suite's own P4Runtime ports (never the shared 9559)


# --------------------------------------------------------------------------- fake switch


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSwitch]:
    p4info = text_format.Parse((DATA / "stats.p4info.txtpb").read_text(), p4info_pb2.P4Info())
    sw = FakeSwitch(p4info)
    sw.serve()
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    yield sw
    sw.stop()


def _install(sw: FakeSwitch, tmp: Path) -> int:
    return main(
        ["install", str(tmp / "rules.yaml"), "--address", sw.address, "--state", str(tmp / "s")]
    )


def _refused_change(sw: FakeSwitch, tmp: Path) -> None:
    """Install rules.yaml, give every entry counts, then a file that deletes two rules
    and adds one the switch refuses."""
    assert _install(sw, tmp) == 0
    for i, e in enumerate(sw.entries()):
        sw.direct[match_key(e)] = (100 + i, 10_000 + i)
    text = (tmp / "rules.yaml").read_text()
    for name in ("ddos-icmp", "ddos-ntp"):
        start = text.index(f"  - name: {name}")
        end = text.index("  - name:", start + 5)
        text = text[:start] + text[end:]
    (tmp / "rules.yaml").write_text(text + "\n  - name: extra\n    match: {protocol: 47}\n")
    batch = len(sw.write_requests) + 1  # the install's Write; the undo comes after it
    sw.refuse = lambda i, u: (
        (code_pb2.RESOURCE_EXHAUSTED, "Table is full")
        if u.type == p4runtime_pb2.Update.INSERT and len(sw.write_requests) == batch
        else None
    )


def test_undo_restores_direct_counters(
    fake: FakeSwitch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused_change(fake, tmp_path)
    counts = dict(fake.direct)
    capsys.readouterr()
    assert _install(fake, tmp_path) == 4
    err = capsys.readouterr().err
    assert {match_key(e) for e in fake.entries()} == set(counts)
    assert fake.direct == counts  # every count as it was, the re-inserted ones included
    assert "the switch holds exactly the entries it held before" in err
    assert "re-inserted entries have their direct counters back" in err


def test_undo_names_counters_it_could_not_restore(
    fake: FakeSwitch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused_change(fake, tmp_path)
    fake.insert_counter_data = False
    capsys.readouterr()
    assert _install(fake, tmp_path) == 4
    err = capsys.readouterr().err
    assert "the switch holds exactly the entries it held before" in err
    assert "these direct counters could not be restored:" in err
    lost = [line for line in err.splitlines() if "now 0 packets, 0 bytes" in line]
    assert len(lost) == 2, err
    assert any("rule 'ddos-icmp' (id 8): had 1" in line for line in lost), lost
    assert "have their direct counters back" not in err


# --------------------------------------------------------------------------- softswitch


def _free_port(besides: int = 0) -> int:
    for port in PORTS:
        if port == besides:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"none of the ports {PORTS.start}..{PORTS.stop - 1} is free")


def _set_counts(sw: P4RuntimeSwitch, entries: list[p4runtime_pb2.TableEntry]) -> None:
    updates = []
    for i, e in enumerate(entries):
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
        dce = u.entity.direct_counter_entry
        dce.table_entry.CopyFrom(e)
        dce.table_entry.ClearField("counter_data")
        dce.data.packet_count, dce.data.byte_count = 1000 + i, 64_000 + i
        updates.append(u)
    sw.write(updates)


def test_undo_on_softswitch_restores_counters(softswitch: tuple[str, Path], tmp_path: Path) -> None:
    address, build = softswitch
    _undo_restores_counters(address, build, tmp_path)


P4TOOLS = ROOT.parent / "shared" / "p4tools"
P4C = P4TOOLS / "bin" / "p4c-bm2-ss"
BMV2 = P4TOOLS / "bin" / "simple_switch_grpc"


@pytest.mark.skipif(
    not (P4C.exists() and BMV2.exists()),
    reason=f"BMv2 and p4c (the reference target) not present under {P4TOOLS}",
)
def test_undo_on_bmv2_restores_counters(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    subprocess.run(
        [
            str(P4C),
            "--arch",
            "v1model",
            "-I",
            str(P4TOOLS / "p4include"),
            "--p4runtime-files",
            str(build / "main.p4info.txtpb"),
            "-o",
            str(build / "main.json"),
            str(ROOT / "p4src" / "main.p4"),
        ],
        check=True,
        cwd=ROOT,
    )
    port = _free_port()
    thrift = _free_port(besides=port)  # BMv2's Thrift server, also on a port of ours
    address = f"127.0.0.1:{port}"
    log = (build / "switch.log").open("wb")
    proc = subprocess.Popen(
        [
            str(BMV2),
            "--no-p4",
            "--device-id",
            "1",
            "--thrift-port",
            str(thrift),
            "--",
            "--grpc-server-addr",
            address,
            "--cpu-port",
            "64",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with grpc.insecure_channel(address) as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
        _undo_restores_counters(address, build, tmp_path)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _undo_restores_counters(address: str, build: Path, tmp_path: Path) -> None:
    """Install rules.yaml (pushing `build`'s pipeline), give the rules counts, then a
    refused batch that deleted two of them: undo must bring their counts back."""
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    push = ["--p4info", str(build / "main.p4info.txtpb"), "--config", str(build / "main.json")]
    rc = main(
        [
            "install",
            str(tmp_path / "rules.yaml"),
            "--address",
            address,
            "--state",
            str(tmp_path / "s"),
            *push,
        ]
    )
    assert rc == 0
    with P4RuntimeSwitch(address, 1, 2) as sw:
        sw.become_primary()
        p4info = sw.get_p4info()
        assert p4info is not None
        schema = P4Schema(p4info)
        tables = {t: schema.table(t).id for t in managed_tables(schema, 4)}
        plain = [e for es in snapshot(sw, tables).values() for e in es]
        _set_counts(
            sw,
            # (the stats tables have direct counters; monitor and prefilter tables none)
            [e for e in plain if e.table_id in {tables[t] for t in tables if ".stats." in t}],
        )
        before = snapshot(sw, tables, with_counters=True)
        stats = [(t, e) for t, es in before.items() if "stats" in t for e in es]
        assert all(e.counter_data.packet_count >= 1000 for _, e in stats)
        # delete two rules, then insert a copy of a third that is still there: ALREADY_EXISTS
        (t1, a), (t2, b), (t3, c) = stats[0], stats[1], stats[2]
        changes = [
            Change("delete", t1, a, "rule a"),
            Change("delete", t2, b, "rule b"),
            Change("insert", t3, c, "rule c again"),
        ]
        with pytest.raises(InstallFailed) as e:
            apply(sw, changes, before, tables)
        msg = str(e.value)
        assert "ALREADY_EXISTS" in msg
        assert "the switch holds exactly the entries it held before" in msg
        assert "the 2 re-inserted entries have their direct counters back" in msg
        after = snapshot(sw, tables, with_counters=True)

    def counts(snap: dict[str, list[p4runtime_pb2.TableEntry]]) -> dict[object, tuple[int, int]]:
        return {
            match_key(x): (x.counter_data.packet_count, x.counter_data.byte_count)
            for es in snap.values()
            for x in es
        }

    assert counts(after) == counts(before)
