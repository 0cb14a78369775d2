"""Shell glue: wait_grpc.py, push_pipeline.py and switchctl.sh against a fake P4Runtime server."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from google.protobuf import text_format
from p4.config.v1.p4info_pb2 import P4Info
from p4.v1 import p4runtime_pb2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_p4rt_server import serve  # noqa: E402


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wait_grpc_up_and_down():
    wait_grpc = _script("wait_grpc")
    server, _, port = serve("127.0.0.1:0")
    try:
        assert wait_grpc.wait(f"127.0.0.1:{port}", timeout=10) is None
    finally:
        server.stop(0)
    err = wait_grpc.wait(f"127.0.0.1:{_free_port()}", timeout=0.3)
    assert err is not None and err.startswith("no P4Runtime answer at 127.0.0.1:")


def test_wait_grpc_gives_up_when_the_process_died():
    wait_grpc = _script("wait_grpc")
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert wait_grpc.wait(f"127.0.0.1:{_free_port()}", 30, pid=p.pid) == (
        f"switch process {p.pid} exited"
    )


def test_push_pipeline_becomes_primary_and_sends_files(tmp_path: Path):
    push = _script("push_pipeline")
    p4info = P4Info()
    p4info.pkg_info.arch = "v1model"
    (tmp_path / "p.txtpb").write_text(text_format.MessageToString(p4info))
    (tmp_path / "c.json").write_bytes(b'{"format": "x"}')
    server, fake, port = serve("127.0.0.1:0")
    try:
        push.push(f"127.0.0.1:{port}", 7, 5, tmp_path / "p.txtpb", tmp_path / "c.json")
    finally:
        server.stop(0)
    assert [(a.device_id, a.election_id.low) for a in fake.arbitrations] == [(7, 5)]
    (req,) = fake.pipelines
    assert req.device_id == 7
    assert req.election_id.low == 5
    assert req.action == p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
    assert req.config.p4info == p4info
    assert req.config.p4_device_config == b'{"format": "x"}'


def test_switchctl_starts_by_pid_waits_and_stops(tmp_path: Path):
    """switchctl.sh passes simple_switch_grpc's flags and stops the process it started."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    py = venv / "bin" / "python"
    py.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')  # a symlink would lose the venv
    py.chmod(0o755)
    fake = venv / "bin" / "softswitch"
    fake.write_text(
        f"#!/bin/sh\nshift\nexec {sys.executable} {Path(__file__).parent / 'fake_p4rt_server.py'}"
        ' "$@"\n'
    )
    fake.chmod(0o755)
    port = _free_port()
    env = {
        **os.environ,
        "VENV": str(venv),
        "SWITCH_TARGET": "softswitch",
        "GRPC_ADDR": f"127.0.0.1:{port}",
        "DEVICE_ID": "3",
        "CPU_PORT": "99",
        "FAKE_ARGS_FILE": str(tmp_path / "args.json"),
    }
    pidfile, log = tmp_path / "s.pid", tmp_path / "s.log"
    ctl = str(ROOT / "scripts" / "switchctl.sh")
    subprocess.run([ctl, "start", str(pidfile), str(log), "-i", "0@veth0"], env=env, check=True,
                   timeout=60)  # fmt: skip
    pid = int(pidfile.read_text())
    try:
        assert json.loads((tmp_path / "args.json").read_text()) == [
            "--device-id", "3", "-i", "0@veth0", "--no-p4", "--",
            "--grpc-server-addr", f"127.0.0.1:{port}", "--cpu-port", "99",
        ]  # fmt: skip
        second = subprocess.run([ctl, "start", str(pidfile), str(log)], env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert second.returncode == 1
        assert "already running" in second.stderr
    finally:
        subprocess.run([ctl, "stop", str(pidfile)], env=env, check=True, timeout=60)
    assert not pidfile.exists()
    assert not _script("wait_grpc").alive(pid)  # gone, or a zombie nobody reaped yet
