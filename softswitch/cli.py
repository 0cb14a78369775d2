"""The `softswitch` command: `softswitch compile` and `softswitch run`.

`run` takes simple_switch_grpc's flags (including the `--` that separates target
options), so Makefiles and scripts can call either target with the same arguments.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from google.protobuf import text_format

if TYPE_CHECKING:
    from p4.config.v1.p4info_pb2 import P4Info

    from softswitch.device import Switch

log = logging.getLogger("softswitch")

COMPILE_EPILOG = """\
examples:
  softswitch compile p4src/main.p4 -o build/
      writes build/main.json (device config for SetForwardingPipelineConfig)
      and build/main.p4info.txtpb (P4Info in protobuf text format, as p4c writes it)
  softswitch compile prog.p4 -o out/ -I include/ -D SIZE=1024 -D WITH_STATS

errors are printed as file:line:col: message; the exit status is then 1.
"""

RUN_EPILOG = """\
examples:
  # as simple_switch_grpc: ports on veths, empty pipeline until a controller pushes one
  softswitch run -i 0@veth0 -i 1@veth2 --no-p4 -- --grpc-server-addr 127.0.0.1:9559 --cpu-port 64
  # start with a compiled program (P4Info next to it: build/main.p4info.txtpb)
  softswitch run -i 0@veth0 -i 1@veth2 build/main.json -- --cpu-port 64
  # offline: port 0 reads in.pcap, outputs go to out/port<N>.pcap, time from the pcap
  softswitch run --pcap-in 0@in.pcap --pcap-out out/ build/main.json

target options (after `--` as for simple_switch_grpc, or anywhere):
  --grpc-server-addr, --cpu-port

in pcap mode the run is deterministic and ends when the inputs are exhausted; tables hold
only their const entries and default actions (no controller is connected).
"""

LOG_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 1,
}


class CliError(Exception):
    """A user error: printed as `softswitch: error: ...`, exit status 1."""


def _port_spec(text: str) -> tuple[int, str]:
    """Parse `PORT@NAME` (simple_switch's -i syntax)."""
    port, sep, name = text.partition("@")
    if not sep or not name or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected PORT@NAME (like 0@veth0), got {text!r}")
    return int(port), name


def _define(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(f"-D needs NAME or NAME=VALUE, got {text!r}")
    return name, value if value else "1"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `softswitch` (exposed for tests and docs)."""
    ap = argparse.ArgumentParser(
        prog="softswitch",
        description="An embedded P4_16 (v1model) target that speaks P4Runtime "
        "like simple_switch_grpc.",
        epilog="run `softswitch compile --help` or `softswitch run --help` for examples",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="{compile,run}")

    c = sub.add_parser(
        "compile",
        help="check a P4 program and write its device config and P4Info",
        description="Check a P4_16 v1model program and write DIR/<name>.json and "
        "DIR/<name>.p4info.txtpb.",
        epilog=COMPILE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("program", type=Path, metavar="PROG.p4")
    c.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="output directory (created if missing; default: .)",
    )
    c.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="add DIR to the #include <...> search path",
    )
    c.add_argument(
        "-D",
        dest="defines",
        action="append",
        type=_define,
        default=[],
        metavar="NAME[=VAL]",
        help="predefine a macro (value 1 if omitted)",
    )

    r = sub.add_parser(
        "run",
        help="run the switch (P4Runtime server, ports on interfaces or pcap files)",
        description="Run the switch like simple_switch_grpc: a P4Runtime server and "
        "ports on Linux interfaces, or offline on pcap files.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument(
        "config",
        nargs="?",
        type=Path,
        metavar="CONFIG.json",
        help="device config from `softswitch compile` to start with",
    )
    r.add_argument(
        "-i",
        "--interface",
        dest="interfaces",
        action="append",
        type=_port_spec,
        default=[],
        metavar="PORT@IFACE",
        help="attach Linux interface IFACE as PORT",
    )
    r.add_argument(
        "--pcap-in",
        action="append",
        type=_port_spec,
        default=[],
        metavar="PORT@FILE",
        help="offline mode: PORT reads its packets from FILE",
    )
    r.add_argument(
        "--pcap-out",
        type=Path,
        metavar="DIR",
        help="offline mode: write port N's output to DIR/portN.pcap",
    )
    r.add_argument(
        "--progress",
        action="store_true",
        help="offline mode: report progress to stderr (default when it is a TTY)",
    )
    r.add_argument(
        "--p4info",
        type=Path,
        metavar="FILE",
        help="P4Info (text) of CONFIG.json; default: <CONFIG>.p4info.txtpb if present",
    )
    r.add_argument(
        "--no-p4", action="store_true", help="start with no program; a controller pushes one"
    )
    r.add_argument("--device-id", type=int, default=0, help="P4Runtime device id (default 0)")
    r.add_argument(
        "--cpu-port",
        type=int,
        default=None,
        help="port number of the CPU (packet-in/packet-out); none by default",
    )
    r.add_argument(
        "--grpc-server-addr",
        default="127.0.0.1:9559",
        metavar="HOST:PORT",
        help="P4Runtime server address (default 127.0.0.1:9559)",
    )
    r.add_argument(
        "-L",
        "--log-level",
        default="info",
        choices=sorted(LOG_LEVELS),
        help="log level (default info)",
    )
    r.add_argument(
        "--log-console",
        action="store_true",
        help="accepted for simple_switch compatibility: logs go to stderr anyway",
    )
    return ap


def _split_target_options(argv: list[str]) -> list[str]:
    # simple_switch_grpc puts target options after a bare `--`; ours are ordinary options,
    # so dropping the first `--` of a `run` command line is all it takes.
    if argv and argv[0] == "run" and "--" in argv:
        i = argv.index("--")
        return argv[:i] + argv[i + 1 :]
    return argv


# --------------------------------------------------------------------------- compile


def compile_program(
    program: Path, include_dirs: Sequence[Path] = (), defines: dict[str, str] | None = None
) -> tuple[P4Info, bytes]:
    """Compile `program`: its P4Info and its device config bytes. Raises P4Error.

    The program is loaded from its preprocessed text, exactly as the switch will load the
    device config, so what compiles here also loads there.
    """
    from softswitch.device import frontend_on_source, make_device_config
    from softswitch.frontend.preprocess import preprocess, render
    from softswitch.p4info.build import build_p4info

    source = render(preprocess(program, include_dirs, defines or {}).tokens)
    elaborated = frontend_on_source(program.name, source)
    p4info = build_p4info(elaborated)
    return p4info, make_device_config(program.name, source, p4info)


def cmd_compile(args: argparse.Namespace) -> int:
    from softswitch.frontend.errors import P4Error
    from softswitch.p4info.text import write_text

    try:
        p4info, config = compile_program(args.program, args.include_dirs, dict(args.defines))
    except P4Error as e:
        print(str(e), file=sys.stderr)
        return 1
    out: Path = args.output_dir
    stem = args.program.stem
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{stem}.json").write_bytes(config)
        write_text(p4info, out / f"{stem}.p4info.txtpb")  # byte for byte as p4c writes it
    except OSError as e:
        raise CliError(f"cannot write to {out}: {e.strerror}") from None
    return 0


# --------------------------------------------------------------------------- run


def _read_p4info(path: Path) -> P4Info:
    from p4.config.v1.p4info_pb2 import P4Info

    p4info = P4Info()
    try:
        text_format.Parse(path.read_text(encoding="utf-8"), p4info)
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None
    except text_format.ParseError as e:
        raise CliError(f"{path}: not a text-format P4Info: {e}") from None
    return p4info


def _load_config(switch: Switch, config: Path, p4info_path: Path | None) -> None:
    from softswitch.device import PipelineConfigError

    if p4info_path is None:
        sibling = config.with_name(config.name.removesuffix(".json") + ".p4info.txtpb")
        p4info_path = sibling if sibling.is_file() else None
    p4info = _read_p4info(p4info_path) if p4info_path is not None else None
    try:
        data = config.read_bytes()
    except OSError as e:
        raise CliError(f"cannot read {config}: {e.strerror}") from None
    try:
        switch.load_device_config(p4info, data)
    except PipelineConfigError as e:
        raise CliError(f"{config}: {e}") from None


def cmd_run(args: argparse.Namespace) -> int:
    from softswitch.device import Switch

    if args.config is not None and args.no_p4:
        raise CliError("give CONFIG.json or --no-p4, not both")
    pcap_mode = bool(args.pcap_in or args.pcap_out)
    if pcap_mode:
        if args.interfaces:
            raise CliError("-i and --pcap-in/--pcap-out cannot be mixed")
        if not args.pcap_in or args.pcap_out is None:
            raise CliError("offline mode needs both --pcap-in PORT@FILE and --pcap-out DIR")
        if args.config is None:
            raise CliError("offline mode needs a CONFIG.json (from softswitch compile)")
    ports = [p for p, _ in args.interfaces + args.pcap_in]
    if len(set(ports)) != len(ports):
        raise CliError(f"a port number is given twice: {sorted(ports)}")
    if args.cpu_port is not None and args.cpu_port in ports:
        raise CliError(f"--cpu-port {args.cpu_port} is also a data port")

    switch = Switch(device_id=args.device_id, cpu_port=args.cpu_port)
    if args.config is not None:
        _load_config(switch, args.config, args.p4info)
    if pcap_mode:
        return _run_pcap(switch, args)
    return _run_live(switch, args)


def _run_pcap(switch: Switch, args: argparse.Namespace) -> int:
    from pktio.pcap import PcapError

    every = 100_000 if (args.progress or sys.stderr.isatty()) else 0
    try:
        result = switch.run_pcap(dict(args.pcap_in), args.pcap_out, progress_every=every)
    except (OSError, PcapError) as e:
        raise CliError(str(e)) from None
    per_port = ", ".join(f"port{p}: {n}" for p, n in result["per_port_out"].items())
    errors = f", {result['packet_errors']} packet errors" if result["packet_errors"] else ""
    print(
        f"softswitch: {result['packets_in']} packets in, {result['packets_out']} out "
        f"({per_port}){errors} in {result['seconds']:.2f}s",
        file=sys.stderr,
    )
    return 0


def _run_live(switch: Switch, args: argparse.Namespace) -> int:
    from softswitch.ports.afpacket import AfPacketPort

    try:
        for port, ifname in args.interfaces:
            switch.add_port(port, AfPacketPort(ifname))
    except PermissionError:
        switch.close()
        raise CliError("opening interfaces needs root (CAP_NET_RAW)") from None
    except OSError as e:
        switch.close()
        raise CliError(f"cannot open interface: {e.strerror or e}") from None
    try:
        from softswitch.server import P4RuntimeServer
    except ImportError as e:
        switch.close()
        raise CliError(f"the P4Runtime server is not available ({e})") from None

    server = P4RuntimeServer(switch, args.grpc_server_addr)
    try:
        server.start()
    except Exception as e:
        switch.close()
        raise CliError(f"cannot serve P4Runtime on {args.grpc_server_addr}: {e}") from None
    switch.serve_ports()
    names = ", ".join(f"{p}@{n}" for p, n in args.interfaces) or "none"
    log.info(
        "device %d: P4Runtime on %s, ports %s, cpu port %s",
        args.device_id,
        args.grpc_server_addr,
        names,
        args.cpu_port,
    )

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(1.0):
        pass
    server.stop()
    switch.close()
    return 0


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `softswitch` console script; returns the exit status."""
    args_list = _split_target_options(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(args_list)
    level = LOG_LEVELS[getattr(args, "log_level", "info")]
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "compile":
            return cmd_compile(args)
        return cmd_run(args)
    except CliError as e:
        print(f"softswitch: error: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"softswitch: error: a softswitch module is missing ({e})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
