"""finsy 0.30, a real asyncio P4Runtime client, drives softswitch (and BMv2 when installed).

finsy needs protobuf >= 6 and p4runtime-shell (main .venv) protobuf < 3.21, so finsy lives
in its own venv, `.venv-finsy`, which `make setup` creates from requirements-finsy.lock.
The session itself is tests/integration/finsy_client.py, run in that venv as a
subprocess: connect, push the pipeline, insert/read/modify/delete entries, the default
entry, a duplicate insert, packet-out -> packet-in, and the direct counter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_p4runtime_shell import CPU_PORT, PROGRAM, _wait_for_grpc

ROOT = Path(__file__).resolve().parents[2]
FINSY_PYTHON = ROOT / ".venv-finsy" / "bin" / "python"
CLIENT = Path(__file__).resolve().parent / "finsy_client.py"
STEPS = 11  # `ok` lines finsy_client.py prints when every step passes
SOFTSWITCH_ADDR = "127.0.0.1:9560"
BMV2_ADDR = "127.0.0.1:9561"
BMV2_THRIFT_PORT = "9569"


def _run_client(address: str, p4info: Path, config: Path) -> None:
    if not FINSY_PYTHON.exists():
        pytest.fail(
            f"{FINSY_PYTHON.relative_to(ROOT)} is missing: `make setup` creates it from "
            "requirements-finsy.lock"
        )
    done = subprocess.run(
        [str(FINSY_PYTHON), str(CLIENT), address, str(p4info), str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    oks = [line for line in done.stdout.splitlines() if line.startswith("ok ")]
    assert done.returncode == 0 and len(oks) == STEPS, done.stdout + done.stderr


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def softswitch(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    subprocess.run(
        [sys.executable, "-m", "softswitch", "compile", str(PROGRAM), "-o", str(tmp_path)],
        check=True,
    )
    with (tmp_path / "switch.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "softswitch", "run", "--no-p4", "--device-id", "1"),
                *("--cpu-port", str(CPU_PORT), "--grpc-server-addr", SOFTSWITCH_ADDR),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_grpc(SOFTSWITCH_ADDR, proc)
            yield (
                SOFTSWITCH_ADDR,
                tmp_path / "p4rt_basic.p4info.txtpb",
                tmp_path / "p4rt_basic.json",
            )
        finally:
            _stop(proc)


@pytest.fixture
def bmv2(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    p4c, bmv2 = shutil.which("p4c-bm2-ss"), shutil.which("simple_switch_grpc")
    if p4c is None or bmv2 is None:
        pytest.skip("p4c-bm2-ss and simple_switch_grpc are not on PATH: BMv2 leg not run")
    p4info, config = tmp_path / "bm.p4info.txtpb", tmp_path / "bm.json"
    include = Path(p4c).resolve().parent.parent / "p4include"
    cmd = [p4c, "--arch", "v1model", "--p4runtime-files", str(p4info), "-o", str(config)]
    if include.is_dir():
        cmd += ["-I", str(include)]
    subprocess.run([*cmd, str(PROGRAM)], check=True)
    with (tmp_path / "bmv2.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                *(bmv2, "--no-p4", "--device-id", "1", "--thrift-port", BMV2_THRIFT_PORT),
                *("--", "--grpc-server-addr", BMV2_ADDR, "--cpu-port", str(CPU_PORT)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_grpc(BMV2_ADDR, proc)
            yield BMV2_ADDR, p4info, config
        finally:
            _stop(proc)


def test_finsy_session_on_softswitch(softswitch: tuple[str, Path, Path]) -> None:
    _run_client(*softswitch)


def test_finsy_session_on_bmv2(bmv2: tuple[str, Path, Path]) -> None:
    _run_client(*bmv2)
