"""The targets a conformance test runs on: the softswitch and BMv2.

Each target compiles the program with its own compiler (so each is driven through
the P4Info that compiler wrote), starts a switch with a P4Runtime server, and gives
the runner a packet path into its ports:

- ``softswitch`` (default ``inprocess``): `softswitch compile` in a subprocess, then a
  `softswitch.device.Switch` with its P4Runtime gRPC server in the runner's process;
  every entry goes over gRPC through the server's request conversion, and frames
  enter through in-process ports served by the same packet loop as on veths.
  ``--softswitch-ports veth`` runs `softswitch run` as a process on veths instead,
  exactly as a user does (root needed).
- ``bmv2``: `p4c-bm2-ss --arch v1model --p4runtime-files`, then `simple_switch_grpc
  --no-p4` on veth pairs (root needed), pipeline pushed over P4Runtime.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from conformance import ports
from conformance.p4rt import Client

DEVICE_ID = 1
GRPC_BASE = 9580  # slot w: BMv2 on 9580+w, softswitch on 9583+w
MAX_SLOTS = 3


class Refused(Exception):
    """The target's compiler rejected the program (message as the compiler printed it)."""


class CompilerCrash(Exception):
    """The compiler died with a traceback or a signal instead of a diagnostic."""


class StartError(Exception):
    """The switch could not be started or did not accept the pipeline."""


@dataclass
class Slot:
    """Resources of one worker: its P4Runtime ports and its share of the veth names."""

    index: int
    veths: list[int]

    @property
    def bmv2_grpc(self) -> int:
        return GRPC_BASE + self.index

    @property
    def softswitch_grpc(self) -> int:
        return GRPC_BASE + MAX_SLOTS + self.index


# veth pairs per slot: slot 0 has room for tests with many ports (multicast, clones)
SLOT_VETHS = (range(0, 9), range(9, 12), range(12, 16))


def slot(index: int) -> Slot:
    """Slot `index` (0..MAX_SLOTS-1): fixed ports and veths, so runs on other slots
    (in parallel workers or other runner processes) never share them."""
    if not 0 <= index < MAX_SLOTS:
        raise ValueError(f"slot must be 0..{MAX_SLOTS - 1}")
    return Slot(index, list(SLOT_VETHS[index]))


def hold_slot(index: int, wait_message: str = "") -> Slot:
    """Take slot `index` for the rest of this process: an exclusive lock file in the
    temp dir, so that other runner processes on the machine (other checkouts too) wait
    instead of recreating the same veths or sharing the same ports."""
    import fcntl
    import tempfile

    s = slot(index)
    if index in _HELD_SLOTS:
        return s
    path = Path(tempfile.gettempdir()) / f"conformance-slot-{index}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if wait_message:
            print(wait_message.format(slot=index, path=path), file=sys.stderr, flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    _HELD_SLOTS[index] = fd  # released when the process exits
    return s


_HELD_SLOTS: dict[int, int] = {}


@dataclass
class Compiled:
    program: Path
    p4info: p4info_pb2.P4Info
    p4info_path: Path
    config: bytes


@dataclass
class Running:
    client: Client
    path: ports.PacketPath
    stop_fns: list[Any] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    logged_errors: list[str] = field(default_factory=list)  # in-process switch's log
    # frames the switch sent, read after it stopped (BMv2's own capture), when the packet
    # path cannot see them all: a veth drops frames shorter than an Ethernet header
    final_outputs: Any = None

    def seen(self) -> int:
        """How many frames the switch has sent so far, as far as can be seen now."""
        n = len(self.path.received())
        if self.final_outputs is not None:
            n = max(n, len(self.final_outputs()))
        return n

    def outputs_so_far(self) -> list[tuple[int, bytes]]:
        """The frames seen until now (while the switch runs)."""
        if self.final_outputs is not None:
            got = list(self.final_outputs())
            if len(got) >= len(self.path.received()):
                return got
        return self.path.received()

    def outputs(self) -> list[tuple[int, bytes]]:
        if self.final_outputs is not None:
            return list(self.final_outputs())
        return self.path.received()

    def died(self) -> str | None:
        """Why the switch process is gone (None while it runs or when in-process)."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return f"switch process exited with status {self.proc.returncode}{self.log_tail()}"

    def log_tail(self, lines: int = 3) -> str:
        if self.log is None or not self.log.exists():
            return ""
        tail = self.log.read_text(errors="replace").strip().splitlines()[-lines:]
        return (": " + " | ".join(t.strip() for t in tail)) if tail else ""

    def stop(self) -> None:
        for fn in reversed(self.stop_fns):
            with contextlib.suppress(Exception):  # best-effort teardown
                fn()
        self.stop_fns.clear()


def _first_lines(text: str, n: int = 3) -> str:
    """The compiler's first error (with its context lines), skipping warnings before it."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    errors = [i for i, ln in enumerate(lines) if "error" in ln.lower()]
    start = errors[0] if errors else 0
    return " | ".join(lines[start : start + n]) if lines else "(no message)"


def _load_p4info(path: Path) -> p4info_pb2.P4Info:
    return text_format.Parse(path.read_text(), p4info_pb2.P4Info())


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _check_port_free(port: int) -> None:
    """Refuse a slot whose P4Runtime port someone already listens on: gRPC servers bind
    with SO_REUSEPORT, so a second server would silently share the port with the first
    and connections would land on either."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        raise StartError(
            f"127.0.0.1:{port} is already in use by another process; use another --slot"
        ) from None
    finally:
        sock.close()


def _connect_and_push(address: str, compiled: Compiled, running: Running) -> None:
    client = Client(address, DEVICE_ID)
    running.client = client
    running.stop_fns.insert(0, client.close)
    try:
        client.connect()
        client.set_pipeline(compiled.p4info, compiled.config)
    except Exception as e:
        why = running.died() or str(e)
        raise StartError(why) from None


class Target:
    name = ""

    def unavailable(self) -> str | None:
        """Why this target cannot run here, or None."""
        return None

    def compile(self, program: Path, out: Path) -> Compiled:
        raise NotImplementedError

    def start(self, compiled: Compiled, stf_ports: list[int], slot: Slot, work: Path) -> Running:
        raise NotImplementedError


class Softswitch(Target):
    name = "softswitch"

    def __init__(self, mode: str = "inprocess") -> None:
        if mode not in ("inprocess", "veth"):
            raise ValueError(f"softswitch ports must be inprocess or veth, not {mode!r}")
        self.mode = mode

    def unavailable(self) -> str | None:
        try:
            import softswitch  # noqa: F401
        except ImportError as e:
            return f"the softswitch package is not installed in this Python ({e})"
        if self.mode == "veth" and os.geteuid() != 0:
            return "softswitch on veths needs root"
        return None

    def compile(self, program: Path, out: Path) -> Compiled:
        out.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(
            [sys.executable, "-m", "softswitch", "compile", str(program), "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        text = (r.stderr + r.stdout).strip()
        if "Traceback (most recent call last)" in text:
            raise CompilerCrash(text.strip().splitlines()[-1])
        if r.returncode != 0:
            raise Refused(_first_lines(text))
        stem = program.name.removesuffix(".p4")
        p4info_path = out / f"{stem}.p4info.txtpb"
        return Compiled(
            program, _load_p4info(p4info_path), p4info_path, (out / f"{stem}.json").read_bytes()
        )

    def start(self, compiled: Compiled, stf_ports: list[int], slot: Slot, work: Path) -> Running:
        address = f"127.0.0.1:{slot.softswitch_grpc}"
        if self.mode == "veth":
            return _start_process(
                [
                    sys.executable,
                    "-m",
                    "softswitch",
                    "run",
                    "--no-p4",
                    "--device-id",
                    str(DEVICE_ID),
                ],
                ["--", "--grpc-server-addr", address],
                compiled,
                stf_ports,
                slot,
                work,
                address,
                log_flag=None,
            )
        from softswitch.device import Switch
        from softswitch.ports.inproc import InProcessPort
        from softswitch.server import P4RuntimeServer

        _check_port_free(slot.softswitch_grpc)
        running = Running(client=None, path=None)  # type: ignore[arg-type]
        _capture_log(running)
        switch = Switch(device_id=DEVICE_ID)
        io: dict[int, object] = {}
        for p in stf_ports:
            port = InProcessPort(f"port{p}")
            switch.add_port(p, port)
            io[p] = port
        server = P4RuntimeServer(switch, address)
        try:
            server.start()
        except RuntimeError as e:
            switch.close()
            raise StartError(str(e)) from None
        switch.serve_ports()
        path = ports.InProcessPath(io)
        running.path = path
        running.stop_fns += [switch.close, server.stop, path.close]
        try:
            _connect_and_push(address, compiled, running)
        except StartError:
            running.stop()
            raise
        return running


class _ErrorCollector(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            e = record.exc_info[1]
            text += f" ({type(e).__name__}: {e})"
        self.sink.append(text.splitlines()[0] if text else record.levelname)


def _capture_log(running: Running) -> None:
    """Keep the in-process switch's warnings for the report instead of stderr."""
    logger = logging.getLogger("softswitch")
    handler = _ErrorCollector(running.logged_errors)
    logger.addHandler(handler)
    old = logger.propagate
    logger.propagate = False

    def restore() -> None:
        logger.removeHandler(handler)
        logger.propagate = old

    running.stop_fns.insert(0, restore)


def _start_process(
    head: list[str],
    tail: list[str],
    compiled: Compiled,
    stf_ports: list[int],
    slot: Slot,
    work: Path,
    address: str,
    log_flag: list[str] | None,
    pcap_dir: Path | None = None,
) -> Running:
    if len(stf_ports) > len(slot.veths):
        raise StartError(
            f"the test uses {len(stf_ports)} ports; slot {slot.index} has {len(slot.veths)} veth "
            f"pairs (slot 0 has {len(SLOT_VETHS[0])}: run it with --slot 0)"
        )
    _check_port_free(int(address.rsplit(":", 1)[1]))
    mapping = dict(zip(stf_ports, slot.veths, strict=False))
    ports.create_veths(mapping.values())
    cmd = list(head)
    for p, idx in mapping.items():
        cmd += ["-i", f"{p}@{ports.veth_names(idx)[0]}"]
    log = work / "switch.log"
    if log_flag:
        cmd += log_flag
    cmd += tail
    try:
        with log.open("wb") as logf:
            proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=work)
    except OSError as e:
        ports.delete_veths(mapping.values())
        raise StartError(f"cannot start {cmd[0]}: {e.strerror or e}") from None
    running = Running(client=None, path=None, proc=proc, log=log)  # type: ignore[arg-type]
    if pcap_dir is not None:

        def from_pcap() -> list[tuple[int, bytes]]:
            out: list[tuple[int, bytes]] = []
            for p, idx in mapping.items():
                f = pcap_dir / f"{ports.veth_names(idx)[0]}_out.pcap"
                if f.exists():
                    out += [(p, d) for d in ports.read_pcap(str(f))]
            return out

        running.final_outputs = from_pcap
    running.stop_fns += [lambda: ports.delete_veths(mapping.values()), lambda: _stop_process(proc)]
    try:
        path = ports.VethPath(mapping)
    except OSError as e:
        running.stop()
        raise StartError(f"cannot open veths: {e}") from None
    running.path = path
    running.stop_fns.append(path.close)
    try:
        _connect_and_push(address, compiled, running)
    except StartError:
        running.stop()
        raise
    return running


def find_p4tools(option: str | None) -> tuple[Path | None, Path | None, str | None]:
    """(p4c-bm2-ss, simple_switch_grpc, reason if missing) from an option, env, or PATH."""
    candidates: list[Path] = []
    for given in (option, os.environ.get("P4TOOLS")):
        if given:
            candidates += [Path(given) / "bin", Path(given)]
    for d in candidates:
        p4c, ss = d / "p4c-bm2-ss", d / "simple_switch_grpc"
        if p4c.is_file() and ss.is_file():
            return p4c.resolve(), ss.resolve(), None
    p4c_w, ss_w = shutil.which("p4c-bm2-ss"), shutil.which("simple_switch_grpc")
    if p4c_w and ss_w:
        return Path(p4c_w), Path(ss_w), None
    where = f" in {option}" if option else ""
    return (
        None,
        None,
        f"p4c-bm2-ss and simple_switch_grpc not found{where} (--p4tools DIR, $P4TOOLS or PATH)",
    )


class Bmv2(Target):
    name = "bmv2"

    def __init__(self, p4tools: str | None = None, log_level: str = "info") -> None:
        self.p4c, self.switch, self.missing = find_p4tools(p4tools)
        self.log_level = log_level

    def unavailable(self) -> str | None:
        if self.missing:
            return self.missing
        if os.geteuid() != 0:
            return "BMv2 runs on veths, which needs root"
        return None

    def compile(self, program: Path, out: Path) -> Compiled:
        assert self.p4c is not None
        out.mkdir(parents=True, exist_ok=True)
        stem = program.name.removesuffix(".p4")
        p4info_path = out / f"{stem}.p4info.txtpb"
        config = out / f"{stem}.json"
        r = subprocess.run(
            [
                str(self.p4c),
                "--arch",
                "v1model",
                "--p4runtime-files",
                str(p4info_path),
                "-o",
                str(config),
                str(program),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if r.returncode < 0:
            raise CompilerCrash(f"p4c-bm2-ss killed by signal {-r.returncode}")
        if r.returncode != 0 or not config.exists():
            raise Refused(_first_lines(r.stderr + r.stdout))
        return Compiled(program, _load_p4info(p4info_path), p4info_path, config.read_bytes())

    def start(self, compiled: Compiled, stf_ports: list[int], slot: Slot, work: Path) -> Running:
        assert self.switch is not None
        address = f"127.0.0.1:{slot.bmv2_grpc}"
        head = [
            str(self.switch),
            "--device-id",
            str(DEVICE_ID),
            "--no-p4",
            "--notifications-addr",
            f"ipc://{work}/notifications.ipc",
            f"--pcap={work / 'pcap'}",
        ]
        (work / "pcap").mkdir(parents=True, exist_ok=True)
        return _start_process(
            head,
            ["--", "--grpc-server-addr", address],
            compiled,
            stf_ports,
            slot,
            work,
            address,
            log_flag=["--log-file", str(work / "bmv2"), "--log-flush", "-L", self.log_level],
            pcap_dir=work / "pcap",
        )
