"""Start a P4Runtime target for the integration tests: softswitch, or BMv2 when installed.

Each is a separate process on a loopback gRPC address, with the program compiled by the
target's own compiler (`softswitch compile`, or `p4c-bm2-ss` found on PATH), as a user
would run it. Both yield (address, P4Info path, device config path).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

CPU_PORT = 64  # the programs' CPU_PORT
DEVICE_ID = 1


def wait_for_grpc(address: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Until the process answers on `address`; RuntimeError if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the switch exited early with status {proc.returncode}")
        channel = grpc.insecure_channel(address)
        try:
            grpc.channel_ready_future(channel).result(timeout=0.5)
            return
        except grpc.FutureTimeoutError:
            pass
        finally:
            channel.close()
    raise RuntimeError(f"the switch did not answer on {address} within {timeout_s}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def _serving(cmd: list[str], address: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_grpc(address, proc)
            yield
        finally:
            stop(proc)


@contextmanager
def softswitch(program: Path, address: str, workdir: Path) -> Iterator[tuple[str, Path, Path]]:
    """`softswitch run` with no pipeline; the caller pushes the compiled one."""
    subprocess.run(
        [sys.executable, "-m", "softswitch", "compile", str(program), "-o", str(workdir)],
        check=True,
    )
    cmd = [
        *(sys.executable, "-m", "softswitch", "run", "--no-p4", "--device-id", str(DEVICE_ID)),
        *("--cpu-port", str(CPU_PORT), "--grpc-server-addr", address),
    ]
    with _serving(cmd, address, workdir / "softswitch.log"):
        name = program.stem
        yield address, workdir / f"{name}.p4info.txtpb", workdir / f"{name}.json"


@contextmanager
def bmv2(
    program: Path, address: str, thrift_port: int, workdir: Path
) -> Iterator[tuple[str, Path, Path]]:
    """simple_switch_grpc with no pipeline; skips (saying why) when BMv2 is not on PATH."""
    p4c, switch = shutil.which("p4c-bm2-ss"), shutil.which("simple_switch_grpc")
    if p4c is None or switch is None:
        pytest.skip("p4c-bm2-ss and simple_switch_grpc are not on PATH: BMv2 leg not run")
    p4info, config = workdir / "bmv2.p4info.txtpb", workdir / "bmv2.json"
    cmd = [p4c, "--arch", "v1model", "--p4runtime-files", str(p4info), "-o", str(config)]
    include = Path(p4c).resolve().parent.parent / "p4include"
    if include.is_dir():  # a relocated p4c keeps its includes beside bin/
        cmd += ["-I", str(include)]
    subprocess.run([*cmd, str(program)], check=True)
    run = [
        *(switch, "--no-p4", "--device-id", str(DEVICE_ID), "--thrift-port", str(thrift_port)),
        *("--", "--grpc-server-addr", address, "--cpu-port", str(CPU_PORT)),
    ]
    with _serving(run, address, workdir / "bmv2.log"):
        yield address, p4info, config
