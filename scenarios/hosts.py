"""The scenario network: a namespace per host, veths, a path namespace in between.

Site N (1-9; several sites can run at once, one scenario each):

    scn-cN (client side, 10.77.N.1/24, fd77:N::1/64)
       scncN0 ==veth== scncN1
                         scn-pN (path: bridge scnbrN, or the shaping relay)
       scnsN0 ==veth== scnsN1
    scn-sN (server side, 10.77.N.2/24, fd77:N::2/64)

The capture is taken in the path namespace on `scncN1`, the client-facing side of the
path, so it holds what a tap at the client's edge would see: the client's packets before
any shaping, the server's after it. Offloads (checksum, TSO, GSO, GRO) are turned off on
every veth, so the capture holds wire-sized frames with valid checksums.

Routes that make attacks look as they do on a real edge: the client reaches the "dark"
prefix 10.77.(200+N).0/24 through the server, which does not forward (so probes to it are
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

SITES = range(1, 10)  # at most 9 networks at once (names and addresses below)


@dataclass(frozen=True)
class Site:
    """Names and addresses of network `index` (1-9); several can run at once."""

    index: int = 1

    def __post_init__(self) -> None:
        if self.index not in SITES:
            raise ValueError(f"site {self.index}: sites are numbered 1-9")

    @property
    def client_ns(self) -> str:
        return f"scn-c{self.index}"

    @property
    def path_ns(self) -> str:
        return f"scn-p{self.index}"

    @property
    def server_ns(self) -> str:
        return f"scn-s{self.index}"

    @property
    def client_if(self) -> str:
        return f"scnc{self.index}0"

    @property
    def client_path_if(self) -> str:
        return f"scnc{self.index}1"

    @property
    def server_if(self) -> str:
        return f"scns{self.index}0"

    @property
    def server_path_if(self) -> str:
        return f"scns{self.index}1"

    @property
    def bridge(self) -> str:
        return f"scnbr{self.index}"

    @property
    def client_addr(self) -> str:
        return f"10.77.{self.index}.1"

    @property
    def server_addr(self) -> str:
        return f"10.77.{self.index}.2"

    @property
    def client_addr6(self) -> str:
        return f"fd77:{self.index}::1"

    @property
    def server_addr6(self) -> str:
        return f"fd77:{self.index}::2"

    @property
    def dark_prefix(self) -> str:
        """Routed through the server, which never answers."""
        return f"10.77.{200 + self.index}.0/24"

    def dark_host(self, n: int) -> str:
        """Address `n` (1-254) of the dark prefix."""
        return f"10.77.{200 + self.index}.{n}"

    @property
    def client_mac(self) -> str:
        return f"02:77:00:00:{self.index:02x}:01"

    @property
    def server_mac(self) -> str:
        return f"02:77:00:00:{self.index:02x}:02"


PREFIX_LEN = 24
SYN_FLOOD_SOURCES = "10.77.128.0/17"
REFLECTORS = "10.77.64.0/18"

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
    site: Site = field(default_factory=Site)
    procs: list[Background] = field(default_factory=list)

    def up(self) -> None:
        """Create namespaces, veths, bridge, addresses and routes (removing leftovers)."""
        self.down()
        for ns in (self.site.client_ns, self.site.path_ns, self.site.server_ns):
            sh("ip", "netns", "add", ns)
            sh(*in_ns(ns, "ip", "link", "set", "lo", "up"))
        for host_ns, host_if, path_if, mac in (
            (
                self.site.client_ns,
                self.site.client_if,
                self.site.client_path_if,
                self.site.client_mac,
            ),
            (
                self.site.server_ns,
                self.site.server_if,
                self.site.server_path_if,
                self.site.server_mac,
            ),
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
                self.site.path_ns,
            )
            for ns, ifname in ((host_ns, host_if), (self.site.path_ns, path_if)):
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
        sh(*in_ns(self.site.path_ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"))
        self.bridge()
        for ns, ifname, addr, addr6 in (
            (
                self.site.client_ns,
                self.site.client_if,
                self.site.client_addr,
                self.site.client_addr6,
            ),
            (
                self.site.server_ns,
                self.site.server_if,
                self.site.server_addr,
                self.site.server_addr6,
            ),
        ):
            sh(*in_ns(ns, "ip", "addr", "add", f"{addr}/{PREFIX_LEN}", "dev", ifname))
            sh(*in_ns(ns, "ip", "-6", "addr", "add", f"{addr6}/64", "dev", ifname, "nodad"))
        sh(
            *in_ns(
                self.site.client_ns,
                "ip",
                "route",
                "add",
                self.site.dark_prefix,
                "via",
                self.site.server_addr,
            )
        )
        sh(
            *in_ns(
                self.site.server_ns, "ip", "route", "add", "default", "via", self.site.client_addr
            )
        )
        # Static neighbours: no ARP exchange at the start of every scenario.
        sh(
            *in_ns(
                self.site.client_ns,
                "ip",
                "neigh",
                "replace",
                self.site.server_addr,
                "lladdr",
                self.site.server_mac,
                "dev",
                self.site.client_if,
                "nud",
                "permanent",
            )
        )
        sh(
            *in_ns(
                self.site.server_ns,
                "ip",
                "neigh",
                "replace",
                self.site.client_addr,
                "lladdr",
                self.site.client_mac,
                "dev",
                self.site.server_if,
                "nud",
                "permanent",
            )
        )

    def bridge(self) -> None:
        """Join the two path-side veths with a kernel bridge (no shaping)."""
        sh(
            *in_ns(
                self.site.path_ns,
                "ip",
                "link",
                "add",
                self.site.bridge,
                "type",
                "bridge",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
            )
        )
        for ifname in (self.site.client_path_if, self.site.server_path_if):
            sh(*in_ns(self.site.path_ns, "ip", "link", "set", ifname, "master", self.site.bridge))
        sh(*in_ns(self.site.path_ns, "ip", "link", "set", self.site.bridge, "up"))

    def unbridge(self) -> None:
        """Remove the bridge, so that a relay can forward between the path-side veths."""
        sh(*in_ns(self.site.path_ns, "ip", "link", "del", self.site.bridge), check=False)

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
        for ns in (self.site.client_ns, self.site.path_ns, self.site.server_ns):
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
