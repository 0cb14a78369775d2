"""Wait until a P4Runtime server answers Capabilities, or fail.

Usage: wait_grpc.py [--addr 127.0.0.1:9559] [--timeout 30] [--pid N | --pid-file F]

Polls with a short per-call deadline instead of sleeping a fixed time, and gives up early
if the switch process (--pid/--pid-file) has died, so a crash shows at once with its log.
Exit 0 when the server answers, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import grpc
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc


def alive(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait(addr: str, timeout: float, pid: int | None = None) -> str | None:
    """Return None once `addr` answers Capabilities, else the reason it did not."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with grpc.insecure_channel(addr) as channel:
        stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
        while time.monotonic() < deadline:
            if pid is not None and not alive(pid):
                return f"switch process {pid} exited"
            try:
                reply = stub.Capabilities(p4runtime_pb2.CapabilitiesRequest(), timeout=1.0)
            except grpc.RpcError as e:
                last = f"{e.code().name}: {e.details()}"  # type: ignore[attr-defined]
                if e.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                    return None  # it answered, even if with an error: the server is up
                time.sleep(0.1)
                continue
            print(f"P4Runtime at {addr} is up (API {reply.p4runtime_api_version})")
            return None
    return f"no P4Runtime answer at {addr} within {timeout:g}s ({last})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--addr", default="127.0.0.1:9559")
    ap.add_argument("--timeout", type=float, default=30.0)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--pid", type=int)
    g.add_argument("--pid-file", type=Path)
    args = ap.parse_args(argv)
    pid = args.pid
    if args.pid_file is not None:
        pid = int(args.pid_file.read_text().strip())
    err = wait(args.addr, args.timeout, pid)
    if err is not None:
        print(f"wait_grpc: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
