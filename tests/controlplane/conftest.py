"""Fixtures shared by the controller tests: a real softswitch running p4src/main.p4."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def softswitch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "softswitch",
            "compile",
            str(ROOT / "p4src" / "main.p4"),
            "-o",
            str(build),
        ],
        check=True,
        cwd=ROOT,
    )
    address = f"127.0.0.1:{_free_port()}"
    log = (build / "switch.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "softswitch",
            "run",
            "--no-p4",
            "--device-id",
            "1",
            "--cpu-port",
            "64",
            "--grpc-server-addr",
            address,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        with grpc.insecure_channel(address) as ch:
            while True:
                assert proc.poll() is None, "softswitch exited early"
                try:
                    grpc.channel_ready_future(ch).result(timeout=0.5)
                    break
                except grpc.FutureTimeoutError:
                    assert time.monotonic() < deadline, "softswitch did not answer"
        yield address, build
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
