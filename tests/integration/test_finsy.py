"""finsy 0.30, a real asyncio P4Runtime client, drives softswitch (and BMv2 when installed).

finsy needs protobuf >= 6 and p4runtime-shell (main .venv) protobuf < 3.21, so finsy lives
in its own venv, `.venv-finsy`, which `make setup` creates from requirements-finsy.lock.
The session itself is tests/integration/finsy_client.py, run in that venv as a
subprocess: connect, push the pipeline, insert/read/modify/delete entries, the default
entry, a duplicate insert, packet-out -> packet-in, and the direct counter.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import targets
from test_p4runtime_shell import PROGRAM

ROOT = Path(__file__).resolve().parents[2]
# scripts/setup.sh makes it; FINSY_VENV names another place, as it does for setup.sh
FINSY_PYTHON = ROOT / os.environ.get("FINSY_VENV", ".venv-finsy") / "bin" / "python"
CLIENT = Path(__file__).resolve().parent / "finsy_client.py"
STEPS = 11  # `ok` lines finsy_client.py prints when every step passes
SOFTSWITCH_ADDR = "127.0.0.1:9560"
BMV2_ADDR = "127.0.0.1:9561"
BMV2_THRIFT_PORT = 9569


def _run_client(address: str, p4info: Path, config: Path) -> None:
    if not FINSY_PYTHON.exists():
        pytest.fail(
            f"{FINSY_PYTHON} is missing: `make setup` creates it from requirements-finsy.lock"
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


@pytest.fixture
def softswitch(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    with targets.softswitch(PROGRAM, SOFTSWITCH_ADDR, tmp_path) as target:
        yield target


@pytest.fixture
def bmv2(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    with targets.bmv2(PROGRAM, BMV2_ADDR, BMV2_THRIFT_PORT, tmp_path) as target:
        yield target


def test_finsy_session_on_softswitch(softswitch: tuple[str, Path, Path]) -> None:
    _run_client(*softswitch)


def test_finsy_session_on_bmv2(bmv2: tuple[str, Path, Path]) -> None:
    _run_client(*bmv2)
