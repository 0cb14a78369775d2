"""A switch process on the tests' own interfaces: softswitch, or BMv2 when it is on PATH.

The program is ``tests/p4programs/l2fwd.p4`` (a frame entering port N leaves on port N^1);
the pipeline is pushed over P4Runtime on the tests' own address, as a controller would.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "p4programs" / "l2fwd.p4"
GRPC_ADDR = "127.0.0.1:9570"
TARGETS = ("softswitch", "bmv2")


def bmv2_or_skip() -> None:
    """Skip (visibly) unless p4c-bm2-ss and simple_switch_grpc are on PATH."""
    missing = [t for t in ("p4c-bm2-ss", "simple_switch_grpc") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"BMv2 leg: {' and '.join(missing)} not on PATH")


def _compile(target: str, out: Path) -> tuple[Path, Path]:
    p4info = out / "l2fwd.p4info.txtpb"
    config = out / "l2fwd.json"
    if target == "bmv2":
        cmd = ["p4c-bm2-ss", "--p4runtime-files", str(p4info), "-o", str(config), str(PROGRAM)]
    else:
        cmd = [sys.executable, "-m", "softswitch", "compile", str(PROGRAM), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return p4info, config


@contextlib.contextmanager
def live_switch(target: str, ports: dict[int, str], workdir: Path) -> Iterator[Path]:
    """Run `target` with `ports` (number -> interface); yields its log file."""
    if target == "bmv2":
        bmv2_or_skip()
    p4info, config = _compile(target, workdir)
    argv = (
        ["simple_switch_grpc"] if target == "bmv2" else [sys.executable, "-m", "softswitch", "run"]
    )
    for num, ifname in sorted(ports.items()):
        argv += ["-i", f"{num}@{ifname}"]
    argv += ["--device-id", "1", "--no-p4", "--", "--grpc-server-addr", GRPC_ADDR]
    argv += ["--cpu-port", "64"]
    log = workdir / f"{target}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        scripts = ROOT / "scripts"
        wait = [sys.executable, str(scripts / "wait_grpc.py"), "--addr", GRPC_ADDR]
        if subprocess.run([*wait, "--timeout", "60", "--pid", str(proc.pid)]).returncode:
            raise AssertionError(f"{target} never answered P4Runtime:\n{log.read_text()}")
        push = [sys.executable, str(scripts / "push_pipeline.py"), "--addr", GRPC_ADDR]
        push += ["--device-id", "1", "--p4info", str(p4info), "--config", str(config)]
        subprocess.run(push, check=True, capture_output=True)
        yield log
        assert proc.poll() is None, f"{target} died:\n{log.read_text()}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
