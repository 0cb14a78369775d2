"""The scenario network: a namespace per host, veths, a path namespace in between.

    scn-c (client side, 10.77.1.1/24, fd77:1::1/64)
       scnc0 ==veth== scnc1
                        scn-p (path: bridge scnbr0, or the shaping relay)
       scns0 ==veth== scns1
    scn-s (server side, 10.77.1.2/24, fd77:1::2/64)

The capture is taken in the path namespace on `scnc1`, the client-facing side of the
path, so it holds what a tap at the client's edge would see: the client's packets before
any shaping, the server's after it. Offloads (checksum, TSO, GSO, GRO) are turned off on
every veth, so the capture holds wire-sized frames with valid checksums.

Routes that make attacks look as they do on a real edge: the client reaches the "dark"
prefix 10.77.200.0/24 through the server, which does not forward (so probes to it are
never answered and never ARPed for); the server's default route points at the client,
which does not forward either (so replies to spoofed sources show up on the path and go
no further).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLIENT_NS = "scn-c"
PATH_NS = "scn-p"
SERVER_NS = "scn-s"
CLIENT_IF, CLIENT_PATH_IF = "scnc0", "scnc1"
SERVER_IF, SERVER_PATH_IF = "scns0", "scns1"
BRIDGE = "scnbr0"
CLIENT_ADDR, SERVER_ADDR = "10.77.1.1", "10.77.1.2"
CLIENT_ADDR6, SERVER_ADDR6 = "fd77:1::1", "fd77:1::2"
PREFIX_LEN = 24
DARK_PREFIX = "10.77.200.0/24"
CLIENT_MAC, SERVER_MAC = "02:77:00:00:01:01", "02:77:00:00:01:02"

REQUIRED_PROGRAMS = ("ip", "ethtool", "tcpdump")


class NotRoot(SystemExit):
    """Raised (and printed, exit status 2) when the scenarios are run without root."""


def require_root() -> None:
    """Refuse clearly unless running as root (namespaces, veths and captures need it)."""
    if os.geteuid() != 0:
        raise NotRoot(
            "scenarios: must run as root (network namespaces, veths and tcpdump need it); "
            "try: sudo make scenarios"
        )


def missing_programs(programs: Sequence[str]) -> list[str]:
    """The programs in `programs` that are not on PATH."""
    return [p for p in programs if shutil.which(p) is None]


def sh(*cmd: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run a command on the host, capturing its output; raise with its stderr on failure."""
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {res.returncode}: {res.stderr.strip()}")
    return res


def in_ns(ns: str, *cmd: str) -> list[str]:
    """`cmd` as run inside namespace `ns`."""
    return ["ip", "netns", "exec", ns, *cmd]


@dataclass
class Background:
    """A process started in a namespace; stopped by its PID."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, wait: float = 5.0) -> int:
        """Send `sig`, wait up to `wait` s (then SIGKILL); the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(wait)
        return self.proc.returncode


@dataclass
class Network:
    """The three namespaces; `up()` creates them, `down()` removes all it created."""

    workdir: Path
    procs: list[Background] = field(default_factory=list)

    def up(self) -> None:
        """Create namespaces, veths, bridge, addresses and routes (removing leftovers)."""
        self.down()
        for ns in (CLIENT_NS, PATH_NS, SERVER_NS):
            sh("ip", "netns", "add", ns)
            sh(*in_ns(ns, "ip", "link", "set", "lo", "up"))
        for host_ns, host_if, path_if, mac in (
            (CLIENT_NS, CLIENT_IF, CLIENT_PATH_IF, CLIENT_MAC),
            (SERVER_NS, SERVER_IF, SERVER_PATH_IF, SERVER_MAC),
        ):
            sh(
                "ip",
                "link",
                "add",
                host_if,
                "netns",
                host_ns,
                "address",
                mac,
                "type",
                "veth",
                "peer",
                "name",
                path_if,
                "netns",
                PATH_NS,
            )
            for ns, ifname in ((host_ns, host_if), (PATH_NS, path_if)):
                sh(
                    *in_ns(
                        ns,
                        "ethtool",
                        "-K",
                        ifname,
                        "tx",
                        "off",
                        "rx",
                        "off",
                        "tso",
                        "off",
                        "gso",
                        "off",
                        "gro",
                        "off",
                    ),
                    check=False,
                )
                sh(*in_ns(ns, "ip", "link", "set", ifname, "up"))
            sh(*in_ns(host_ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"))
            sh(*in_ns(host_ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{host_if}.accept_dad=0"))
        sh(*in_ns(PATH_NS, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"))
        self.bridge()
        for ns, ifname, addr, addr6 in (
            (CLIENT_NS, CLIENT_IF, CLIENT_ADDR, CLIENT_ADDR6),
            (SERVER_NS, SERVER_IF, SERVER_ADDR, SERVER_ADDR6),
        ):
            sh(*in_ns(ns, "ip", "addr", "add", f"{addr}/{PREFIX_LEN}", "dev", ifname))
            sh(*in_ns(ns, "ip", "-6", "addr", "add", f"{addr6}/64", "dev", ifname, "nodad"))
        sh(*in_ns(CLIENT_NS, "ip", "route", "add", DARK_PREFIX, "via", SERVER_ADDR))
        sh(*in_ns(SERVER_NS, "ip", "route", "add", "default", "via", CLIENT_ADDR))
        # Static neighbours: no ARP exchange at the start of every scenario.
        sh(
            *in_ns(
                CLIENT_NS,
                "ip",
                "neigh",
                "replace",
                SERVER_ADDR,
                "lladdr",
                SERVER_MAC,
                "dev",
                CLIENT_IF,
                "nud",
                "permanent",
            )
        )
        sh(
            *in_ns(
                SERVER_NS,
                "ip",
                "neigh",
                "replace",
                CLIENT_ADDR,
                "lladdr",
                CLIENT_MAC,
                "dev",
                SERVER_IF,
                "nud",
                "permanent",
            )
        )

    def bridge(self) -> None:
        """Join the two path-side veths with a kernel bridge (no shaping)."""
        sh(
            *in_ns(
                PATH_NS,
                "ip",
                "link",
                "add",
                BRIDGE,
                "type",
                "bridge",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
            )
        )
        for ifname in (CLIENT_PATH_IF, SERVER_PATH_IF):
            sh(*in_ns(PATH_NS, "ip", "link", "set", ifname, "master", BRIDGE))
        sh(*in_ns(PATH_NS, "ip", "link", "set", BRIDGE, "up"))

    def unbridge(self) -> None:
        """Remove the bridge, so that a relay can forward between the path-side veths."""
        sh(*in_ns(PATH_NS, "ip", "link", "del", BRIDGE), check=False)

    def start(
        self, name: str, ns: str, cmd: Sequence[str], env: dict[str, str] | None = None
    ) -> Background:
        """Start `cmd` in namespace `ns` in the background, output to workdir/name.log."""
        log = self.workdir / f"{name}.log"
        with log.open("wb") as f:
            proc = subprocess.Popen(
                in_ns(ns, *cmd),
                stdout=f,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
            )
        bg = Background(name, proc, log)
        self.procs.append(bg)
        return bg

    def run(
        self,
        ns: str,
        *cmd: str,
        check: bool = False,
        timeout: float = 120.0,
        input_text: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` in namespace `ns` to completion (a client step)."""
        res = subprocess.run(
            in_ns(ns, *cmd),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            input=input_text if input_text is not None else "",
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {res.returncode}: {res.stderr.strip()}")
        return res

    def stop_all(self) -> None:
        """Stop every background process started here, newest first, by PID."""
        while self.procs:
            self.procs.pop().stop()

    def down(self) -> None:
        """Stop what was started and delete the namespaces (their veths go with them)."""
        self.stop_all()
        for ns in (CLIENT_NS, PATH_NS, SERVER_NS):
            sh("ip", "netns", "del", ns, check=False)


def wait_listening(
    net: Network, ns: str, port: int, proto: str = "tcp", timeout: float = 10.0
) -> None:
    """Wait until something in `ns` listens on `port` (ss), or raise."""
    flag = "-ltn" if proto == "tcp" else "-lun"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = net.run(ns, "ss", "-H", flag, f"sport = :{port}").stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {proto} port {port} in {ns} after {timeout:g} s")
