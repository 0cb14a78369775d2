"""Attack scenarios: scans, an SSH brute force, spoofed-source floods."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from scenarios.benign import _nginx, _ssh_opts, _sshd
from scenarios.hosts import REFLECTORS, SYN_FLOOD_SOURCES
from scenarios.run import Run, Scenario

ROOT = Path(__file__).resolve().parents[1]
COMMON_PORTS = (21, 22, 23, 25, 53, 80, 110, 143, 443, 445, 3306, 3389, 8080)


def _targets(r: Run, dark: int) -> tuple[list[str], list[int]]:
    hosts = [r.site.server_addr] + [
        r.site.dark_host(i) for i in sorted(r.rng.sample(range(1, 255), dark))
    ]
    ports = sorted(set(COMMON_PORTS) | set(r.rng.sample(range(1, 10_000), 12)))
    return hosts, ports


def _nmap(r: Run, kind: str, hosts: list[str], ports: list[int]) -> None:
    r.net.run(
        r.site.client_ns,
        "nmap",
        kind,
        "-Pn",
        "-n",
        "-r",
        "--max-retries",
        "1",
        "-T5",
        "--max-rtt-timeout",
        "100ms",
        "--initial-rtt-timeout",
        "50ms",
        "-p",
        ",".join(map(str, ports)),
        *hosts,
        check=True,
        timeout=300,
    )


def syn_scan(r: Run) -> None:
    """nmap -sS of the server (port 80 open, the rest closed) and of dark hosts."""
    _nginx(r, tls=False)
    hosts, ports = _targets(r, dark=r.rng.randint(3, 6))
    with r.sub("syn-scan", "attack", "scanner", {"targets/tcp": len(hosts) * len(ports)}):
        _nmap(r, "-sS", hosts, ports)


def connect_scan(r: Run) -> None:
    """nmap -sT (full connects through the kernel) of the server and dark hosts."""
    _nginx(r, tls=False)
    hosts, ports = _targets(r, dark=r.rng.randint(1, 3))
    with r.sub("connect-scan", "attack", "scanner", {"targets/tcp": len(hosts) * len(ports)}):
        _nmap(r, "-sT", hosts, ports)


def ssh_brute_force(r: Run) -> None:
    """sshpass + ssh trying passwords for root, one connection per guess, all refused."""
    _sshd(r, password=True)
    guesses = [f"pw{r.rng.randrange(10**6):06d}" for _ in range(r.rng.randint(6, 12))]
    opts = _ssh_opts(r, batch=False)
    with r.sub("password-guessing", "attack", "attacker", {"tcp/22": len(guesses)}):
        for pw in guesses:
            r.net.run(
                r.site.client_ns,
                "sshpass",
                "-p",
                pw,
                "ssh",
                *opts,
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password",
                "-o",
                "NumberOfPasswordPrompts=1",
                f"root@{r.site.server_addr}",
                "true",
            )


def _flood(r: Run, ns: str, kind: str, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = r.net.run(
        ns,
        "env",
        f"PYTHONPATH={env['PYTHONPATH']}",
        sys.executable,
        "-m",
        "scenarios.flood",
        kind,
        "--seed",
        str(r.seed),
        *args,
        timeout=300,
    )
    if res.returncode != 0:
        raise RuntimeError(f"flood {kind}: {res.stderr.strip()}")


def syn_flood(r: Run) -> None:
    """SYNs to the web server from random spoofed sources of 10.77.128.0/17; the server's
    SYN-ACKs go to the path and no further."""
    _nginx(r, tls=False)
    count = r.rng.randint(1500, 2500)
    with r.sub("syn-flood", "attack", "attacker", {"tcp/80": count}):
        _flood(
            r,
            r.site.client_ns,
            "syn",
            "--iface",
            r.site.client_if,
            "--dst-mac",
            r.site.server_mac,
            "--dst",
            r.site.server_addr,
            "--dport",
            "80",
            "--sources",
            SYN_FLOOD_SOURCES,
            "--count",
            str(count),
            "--rate",
            "2000",
        )
        time.sleep(1.2)  # the first SYN-ACK retransmissions


def udp_amplification(r: Run) -> None:
    """Large UDP responses from spoofed reflectors (DNS port 53, NTP port 123) of
    10.77.64.0/18 to the client, which answers some with ICMP port unreachable."""
    counts = (r.rng.randint(800, 1500), r.rng.randint(400, 800))
    for (sport, size), count in zip(((53, 1400), (123, 468)), counts, strict=True):
        with r.sub(f"reflected-{sport}", "attack", "reflector", {"udp/*": count, "icmp/*": -1}):
            _flood(
                r,
                r.site.server_ns,
                "udp-amp",
                "--iface",
                r.site.server_if,
                "--dst-mac",
                r.site.client_mac,
                "--dst",
                r.site.client_addr,
                "--sport",
                str(sport),
                "--size",
                str(size),
                "--sources",
                REFLECTORS,
                "--count",
                str(count),
                "--rate",
                "3000",
            )


ATTACKS = [
    Scenario("syn-scan", ("nmap", "nginx"), syn_scan, "nmap SYN scan of the server and dark hosts"),
    Scenario("connect-scan", ("nmap", "nginx"), connect_scan, "nmap connect scan"),
    Scenario(
        "ssh-brute-force",
        ("sshd", "ssh", "sshpass"),
        ssh_brute_force,
        "sshpass + ssh password guessing",
    ),
    Scenario("syn-flood", ("nginx",), syn_flood, "spoofed-source SYN flood (raw frames)"),
    Scenario(
        "udp-amplification",
        (),
        udp_amplification,
        "reflected DNS/NTP responses from spoofed reflectors",
    ),
]
