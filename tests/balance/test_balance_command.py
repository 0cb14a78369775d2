"""`python -m controlplane balance` end to end: a softswitch running p4src/main.p4 behind its
P4Runtime gRPC server (loopback, a free port), `install` of a rules file with a
`monitors:` section, then the balance command in a thread while a UDP flood from many
sources on one victim runs through the switch: once BLB's cluster entry is in, every new
source of the flood reaches one worker; on stop the entries go."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from controlplane import pipeline_spec as ps
from controlplane.balance.command import BalanceOptions, progress_line, run_balance
from controlplane.balance.loop import Interval
from controlplane.deploy import InstallOptions, run_install
from controlplane.errors import ControllerError
from controlplane.p4info import P4Schema
from controlplane.p4rt import P4RuntimeSwitch
from softswitch.cli import compile_program
from softswitch.device import Switch
from softswitch.server import P4RuntimeServer

ROOT = Path(__file__).resolve().parents[2]
WORKERS = (1, 2, 3, 4)
VICTIM = "198.51.100.7"
RULES = """\
monitor:
  port: 1
  ingress_ports: [0]
stats: []
monitors:
  ports: [1, 2, 3, 4]
  capacity: 1000
  V: 10000
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[tuple[Switch, str, Path]]:
    p4info, config = compile_program(ROOT / "p4src" / "main.p4")
    (tmp_path / "main.p4info.txtpb").write_text(str(p4info), encoding="utf-8")
    (tmp_path / "main.json").write_bytes(config)
    dev = Switch(device_id=1, cpu_port=64)
    server = P4RuntimeServer(dev, f"127.0.0.1:{_free_port()}")
    server.start()
    try:
        yield dev, server.address, tmp_path
    finally:
        server.stop()
        dev.close()


def flood(dev: Switch, first: int, n: int) -> set[int]:
    ports: set[int] = set()
    for i in range(first, first + n):
        frame = bytes(
            Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
            / IP(src=f"100.{64 + i // 250}.{i % 250}.1", dst=VICTIM)
            / UDP(sport=1024 + i, dport=53)
        )
        ports.update(p for p, _ in dev.inject(0, frame))
    return ports


def cluster_entries(address: str) -> int:
    with P4RuntimeSwitch(address) as sw:
        p4info = sw.get_p4info()
        assert p4info is not None
        return len(sw.read_table(P4Schema(p4info).table(ps.BALANCE_CLUSTERS_TABLE).id))


def install(tmp: Path, address: str, text: str, out: io.StringIO) -> Path:
    """Write `text` as tmp/rules.yaml and install it (pipeline pushed from tmp)."""
    rules = tmp / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    run_install(
        InstallOptions(
            str(rules),
            address=address,
            p4info=tmp / "main.p4info.txtpb",
            config=tmp / "main.json",
            state_path=tmp / "state.json",
        ),
        out,
    )
    return rules


def test_balance_puts_a_flood_on_one_worker(switch: tuple[Switch, str, Path]) -> None:
    dev, address, tmp = switch
    out = io.StringIO()
    rules = install(tmp, address, RULES, out)
    assert len(flood(dev, 0, 40)) > 1  # before balance: the hash spreads the sources
    done = threading.Event()
    log = io.StringIO()
    opts = BalanceOptions(str(rules), address=address, interval_s=0.2)
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(run_balance(opts, log, done.is_set)))
    t.start()
    try:
        deadline = time.monotonic() + 30
        while cluster_entries(address) == 0:
            assert t.is_alive(), log.getvalue()
            assert time.monotonic() < deadline, f"no cluster entry:\n{log.getvalue()}"
            flood(dev, 1000 + int(time.monotonic() * 10) % 1000 * 4, 4)
            time.sleep(0.2)
        assert len(flood(dev, 5000, 200)) == 1  # every new source on one worker
    finally:
        done.set()
        t.join(timeout=30)
    assert result == [0]
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("balance: monitor port 1 over workers [1, 2, 3, 4]")
    assert any(line.startswith("t=") and "load %" in line for line in lines)
    assert "cluster entries removed" in lines[-1]
    assert cluster_entries(address) == 0


def test_the_progress_line_says_what_help_explains() -> None:
    rep = Interval(2.0, 5, [10.0, 30.0], [100.0, 300.0], 3, 2, added=1, deleted=1)
    line = progress_line(rep, 17)
    assert line == (
        "t=2.0s  flows +5 (17)  clusters 3  entries 2 (+1 ~0 -1)  load % 10.0 30.0  cv 0.50"
    )


def test_a_file_without_a_monitor_group_is_refused(tmp_path: Path) -> None:
    from controlplane.cli import main

    rules = tmp_path / "rules.yaml"
    rules.write_text("monitor:\n  port: 1\n  ingress_ports: [0]\nstats: []\n", encoding="utf-8")
    with pytest.raises(ControllerError, match="has no monitors: section"):
        run_balance(BalanceOptions(str(rules), address="127.0.0.1:1"))
    rules.write_text("monitors:\n  ports: [1, 1]\n", encoding="utf-8")
    assert main(["balance", str(rules), "--address", "127.0.0.1:1"]) == 2


def test_counts_below_their_least_are_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("monitors:\n  ports: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ControllerError, match=r"--seed-flows must be at least 0 \(got -1\)"):
        run_balance(BalanceOptions(str(rules), address="127.0.0.1:1", seed_flows=-1))
    with pytest.raises(ControllerError, match=r"--min-flows must be at least 1 \(got 0\)"):
        run_balance(BalanceOptions(str(rules), address="127.0.0.1:1", min_flows=0))


def sweep_count(address: str) -> int:
    """Sweep packets the SYN-offload stage has counted (outcomes[7])."""
    with P4RuntimeSwitch(address) as sw:
        p4info = sw.get_p4info()
        assert p4info is not None
        cid = P4Schema(p4info).counter("NidsIngress.syn_offload.outcomes").id
        cells = {int(c.index.index): int(c.data.packet_count) for c in sw.read_counter(cid)}
        return cells.get(7, 0)


@pytest.mark.parametrize("sweep", [True, False])
def test_balance_sweeps_the_held_syns_unless_told_not_to(
    switch: tuple[Switch, str, Path], sweep: bool
) -> None:
    """`sweep` cannot be primary beside balance, so balance sends the sweep packets
    itself when the rules file enables SYN offload: the stage counts each one."""
    _dev, address, tmp = switch
    syn = "syn_offload:\n  timeout: 1s\n  sweep_rate: 200\n  slots: 16\n"
    rules = install(tmp, address, RULES + syn, io.StringIO())
    start = sweep_count(address)
    log = io.StringIO()
    opts = BalanceOptions(str(rules), address=address, duration_s=0.6, sweep=sweep)
    assert run_balance(opts, log) == 0
    lines = log.getvalue().splitlines()
    if not sweep:
        assert "sweeping" not in lines[0] and "sweep packets" not in lines[-1]
        assert sweep_count(address) == start
        return
    assert "sweeping 16 SYN-offload slots at 200/s" in lines[0]
    sent = int(lines[-1].split(" sweep packets")[0].rsplit(", ", 1)[1])
    assert sent >= 100  # 200/s for 0.6 s
    deadline = 50
    while sweep_count(address) - start < sent and deadline:  # packet-outs run asynchronously
        time.sleep(0.1)
        deadline -= 1
    assert sweep_count(address) - start == sent
