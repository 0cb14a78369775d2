"""Rule-install rate over P4Runtime: table entries/s into a running softswitch.

    python -m bench.install_rate [--entries 2000] [--repeat 3] [--address 127.0.0.1:9661]

Starts `softswitch run --no-p4` on a free loopback port of its own (never 9559, the
shared switch), pushes p4src/main.p4 compiled with `-D STATS_RULES_PER_SLOT=N` so slot 0's
ternary/range `rules` table holds N entries, and installs N stats rules (TCP to N
distinct /32 destinations, a port range, group by source) compiled by the controller
(`controlplane.compile.stats_entry`) three ways, each into an empty table:

- batched: every INSERT in one Write;
- controller: the controller's own install path after validation (`install.snapshot` Read,
  `install.diff`, `install.apply` = one Write, with undo on refusal);
- one per Write: N Writes of one INSERT each.

Between runs the table is emptied with one batched DELETE (not timed). Prints entries/s
(best and median of --repeat runs) and the batched/one-per-Write ratio, then stops the
switch by its PID. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from p4.v1 import p4runtime_pb2

from bench.machine import describe as describe_machine
from controlplane.compile import Desired, stats_entry
from controlplane.fields import Range, Ternary
from controlplane.install import apply, diff, snapshot
from controlplane.model import StatsRule
from controlplane.p4info import P4Schema
from controlplane.p4rt import P4RuntimeSwitch

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "p4src" / "main.p4"
TABLE = "NidsIngress.stats.slot0.rules"
SHARED_SWITCH_PORT = 9559


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pick_address(wanted: str | None) -> str:
    """`wanted`, or 127.0.0.1:9661 if free, or any free loopback port; never :9559."""
    if wanted is not None:
        if wanted.rsplit(":", 1)[1] == str(SHARED_SWITCH_PORT):
            raise SystemExit(f"{wanted}: port {SHARED_SWITCH_PORT} belongs to the shared switch")
        return wanted
    if _port_free(9661):
        return "127.0.0.1:9661"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def rules(n: int) -> list[StatsRule]:
    """`n` pairwise disjoint rules: TCP to 10.a.b.c/32, ports 1024..65535, by source."""
    out = []
    for i in range(n):
        dst = 0x0A000000 + i + 1
        out.append(
            StatsRule(
                index=i,
                name=f"r{i}",
                rule_id=i + 1,
                match=(
                    ("dst_addr", Ternary(dst, 0xFFFFFFFF)),
                    ("protocol", Ternary(6, 0xFF)),
                    ("dst_port", Range(1024, 65535)),
                ),
                group_by=(("src_addr", 0xFFFFFFFF),),
                interval_us=60_000_000,
            )
        )
    return out


def _insert(e: p4runtime_pb2.TableEntry) -> p4runtime_pb2.Update:
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
    u.entity.table_entry.CopyFrom(e)
    return u


def _clear(sw: P4RuntimeSwitch, table_id: int) -> None:
    updates = []
    for e in sw.read_table(table_id):
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.DELETE)
        u.entity.table_entry.CopyFrom(e)
        updates.append(u)
    sw.write(updates)


def start_switch(address: str, log: Path) -> subprocess.Popen[bytes]:
    """`softswitch run --no-p4` on `address`, answering P4Runtime (or SystemExit)."""
    cmd = [sys.executable, "-m", "softswitch", "run", "--no-p4", "--device-id", "1"]
    with log.open("wb") as f:
        proc = subprocess.Popen(
            [*cmd, "--grpc-server-addr", address, "-L", "warn"],
            stdout=f,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"softswitch exited ({proc.returncode}): {log.read_text()}")
        try:
            with P4RuntimeSwitch(address, timeout_s=0.5):
                return proc
        except Exception:
            if time.monotonic() > deadline:
                stop_switch(proc)
                raise SystemExit(f"softswitch on {address} did not answer in 30 s") from None


def stop_switch(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the switch we started (by PID), kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(
    sw: P4RuntimeSwitch, table_id: int, n: int, run: Callable[[], None], repeat: int
) -> list[float]:
    """Entries/s of `run` (which installs `n` entries into an empty table), `repeat` times."""
    rates = []
    for _ in range(repeat):
        _clear(sw, table_id)
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        got = len(sw.read_table(table_id))
        if got != n:
            raise SystemExit(f"expected {n} entries in {TABLE} after the install, read {got}")
        rates.append(n / elapsed)
    _clear(sw, table_id)
    return rates


def main(argv: list[str] | None = None) -> int:
    """Start a switch, measure the three install modes, print, stop the switch."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.install_rate", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--entries", type=int, default=2000, help="entries per install (2000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per mode (3)")
    ap.add_argument("--address", help="loopback HOST:PORT for the switch (default 9661 if free)")
    args = ap.parse_args(argv)
    n = args.entries
    from softswitch.cli import compile_program

    p4info, config = compile_program(PROGRAM, defines={"STATS_RULES_PER_SLOT": str(n)})
    schema = P4Schema(p4info)
    table_id = schema.table(TABLE).id
    entries = [stats_entry(r, 0, 1, schema) for r in rules(n)]
    desired = [Desired(TABLE, e, f"r{i}") for i, e in enumerate(entries)]
    updates = [_insert(e) for e in entries]
    address = pick_address(args.address)
    with tempfile.TemporaryDirectory(prefix="install-rate-") as tmp:
        proc = start_switch(address, Path(tmp) / "switch.log")
        print(f"softswitch pid {proc.pid} on {address}; {describe_machine()}")
        try:
            with P4RuntimeSwitch(address, device_id=1, timeout_s=30) as sw:
                sw.become_primary()
                sw.set_pipeline(p4info, config)

                def controller() -> None:
                    before = snapshot(sw, {TABLE: table_id})
                    apply(sw, diff(desired, before), before, {TABLE: table_id})

                def one_per_write() -> None:
                    for u in updates:
                        sw.write([u])

                modes: dict[str, Callable[[], None]] = {
                    "batched (1 Write)": lambda: sw.write(updates),
                    "controller (Read + diff + 1 Write)": controller,
                    f"one per Write ({n} Writes)": one_per_write,
                }
                results = {
                    name: measure(sw, table_id, n, fn, args.repeat) for name, fn in modes.items()
                }
        finally:
            stop_switch(proc)
    print(f"install rate, {n} entries into {TABLE} (ternary+range, size {n}):")
    for name, rates in results.items():
        print(
            f"  {name:<38} best {max(rates):>9,.0f} entries/s, "
            f"median {statistics.median(rates):>9,.0f} entries/s"
        )
    batched, _, single = (statistics.median(r) for r in results.values())
    print(f"  batched / one per Write: {batched / single:.1f}x (medians)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
