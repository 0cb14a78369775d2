"""install and status against the real softswitch running p4src/main.p4 over gRPC."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from controlplane.cli import main

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


def test_install_idempotent_and_status(
    softswitch: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address, build = softswitch
    shutil.copy(ROOT / "rules.yaml", tmp_path / "rules.yaml")
    common = ["--address", address, "--state", str(tmp_path / "state.json")]
    rc = main(
        [
            "install",
            str(tmp_path / "rules.yaml"),
            *common,
            "--p4info",
            str(build / "main.p4info.txtpb"),
            "--config",
            str(build / "main.json"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "installed in one Write: 10 added, 0 modified, 0 deleted" in out
    assert main(["install", str(tmp_path / "rules.yaml"), *common]) == 0
    assert "no changes: the switch already holds these rules" in capsys.readouterr().out
    assert main(["status", "--json", *common]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(r["rule"] for r in data["rules"]) == sorted(
        [
            "ssh-by-source",
            "syn-from-10-by-source-port",
            "ddos-syn",
            "ddos-udp",
            "ddos-dns-response",
            "ddos-ntp",
            "ddos-ssdp",
            "ddos-icmp",
            "ipv4-fragments",
        ]
    )
    assert [o["slot"] for o in data["outcomes"]] == [0, 1, 2, 3]
