"""What the prefilter stage identifies and what negative matching keeps from the monitor.

    python -m bench.prefilter_eval [--traces DIR] [--quick]

`p4src/main.p4` in process (`testbed.prefilter_replay`: reassembly on, rules.yaml's
prefilter set installed by the controller), on

1. every capture under ../shared/traces/zeek/ (Ethernet, loopback and Linux cooked
   link types), and
2. a generated mix (seeded): 400 connections in the proportions of a campus uplink,
   HTTP, TLS, SSH, SMTP, FTP, DNS and bulk flows of no known protocol (backups,
   proprietary, P2P-like random bytes), each with a request/response exchange and
   bulk data in MSS-sized segments.

For each: pattern-table entries used; connections (with payload) and their bytes
identified, by the switch and by the monitor's software matching; then the same input
with negative matching on (16 bytes): the share of bytes no longer sent to the
monitor. Then engine packets/s of the whole pipeline on the generated mix with the
prefilter stage on vs off (one core, wall clock). Markdown on stdout.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from bench.machine import describe
from controlplane import pipeline_spec as ps
from controlplane.prefilter import compile_section
from controlplane.rules import read_rules
from pktio.pcap import PcapError
from testbed.nids_switch import NidsSwitch
from testbed.prefilter_replay import (
    RULES,
    Replay,
    default_section,
    ethernet_frames,
    replay_frames,
    with_negative_matching,
)
from testbed.reassembly_replay import IN_PORT, T0

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces" / "zeek"
MAC = {"src": "00:00:00:00:00:0a", "dst": "00:00:00:00:00:0b"}
MSS = 1460


@dataclass
class Totals:
    """Sums over the inputs of one data set."""

    conns: int = 0
    by_switch: int = 0
    by_software: int = 0
    octets: int = 0
    octets_named: int = 0
    out_off: int = 0
    out_on: int = 0
    bytes_in: int = 0
    cut_flows: int = 0

    def add(self, off: Replay, on: Replay) -> None:
        for key, flow in off.flows.items():
            if not (flow.heads[True] or flow.heads[False] or flow.datagram):
                continue  # no payload: nothing to identify
            self.conns += 1
            self.octets += flow.octets
            name, who = off.services[key]
            if name is not None:
                self.octets_named += flow.octets
                self.by_switch += who == "switch"
                self.by_software += who == "software"
        self.out_off += off.bytes_out
        self.out_on += on.bytes_out
        self.bytes_in += off.bytes_in
        self.cut_flows += on.outcomes.get("no_protocol", 0)

    def rows(self) -> list[str]:
        named = self.by_switch + self.by_software
        saved = self.out_off - self.out_on
        return [
            f"| connections with payload | {self.conns:,} |",
            f"| identified | {named:,} ({pct(named, self.conns)}): {self.by_switch:,} by the "
            f"switch, {self.by_software:,} by software matching |",
            f"| bytes of identified connections | {self.octets_named:,} of {self.octets:,} "
            f"({pct(self.octets_named, self.octets)}) |",
            f"| negative matching (16 bytes): connections cut | {self.cut_flows:,} |",
            f"| bytes to the monitor, off / on | {self.out_off:,} / {self.out_on:,} |",
            f"| bytes no longer sent with negative matching | {saved:,} "
            f"({pct(saved, self.out_off)} of what the monitor got) |",
        ]


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} %" if b else "-"


# --- the generated mix ---------------------------------------------------------------


class Gen:
    """Frames of TCP connections and UDP exchanges, sequence numbers kept."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.frames: list[tuple[int, bytes]] = []
        self.t = 0

    def _emit(self, pkt: object) -> None:
        self.t += 20
        self.frames.append((self.t, bytes(pkt)))  # type: ignore[call-overload]

    def tcp(self, n: int, dport: int, exchange: list[tuple[bool, bytes]]) -> None:
        a, b = f"10.{n // 250}.{n % 250}.1", f"192.0.{n % 200}.80"
        sport = 20000 + n
        isn = {True: self.rng.randrange(1 << 31), False: self.rng.randrange(1 << 31)}
        nxt = {True: isn[True] + 1, False: isn[False] + 1}

        def pkt(orig: bool, flags: str, data: bytes = b"") -> object:
            src, dst, sp, dp = (a, b, sport, dport) if orig else (b, a, dport, sport)
            p = (
                Ether(**MAC)
                / IP(src=src, dst=dst)
                / TCP(
                    sport=sp,
                    dport=dp,
                    flags=flags,
                    seq=nxt[orig] % (1 << 32),
                    ack=nxt[not orig] % (1 << 32),
                )
            )
            return p / data if data else p

        self._emit(
            Ether(**MAC)
            / IP(src=a, dst=b)
            / TCP(sport=sport, dport=dport, flags="S", seq=isn[True])
        )
        self._emit(
            Ether(**MAC)
            / IP(src=b, dst=a)
            / TCP(sport=dport, dport=sport, flags="SA", seq=isn[False], ack=isn[True] + 1)
        )
        self._emit(pkt(True, "A"))
        for orig, data in exchange:
            for i in range(0, len(data), MSS):
                chunk = data[i : i + MSS]
                self._emit(pkt(orig, "PA", chunk))
                nxt[orig] += len(chunk)
            self._emit(pkt(not orig, "A"))
        for orig in (True, False):
            self._emit(pkt(orig, "FA"))
            nxt[orig] += 1
        self._emit(pkt(True, "A"))

    def udp(self, n: int, dport: int, exchange: list[tuple[bool, bytes]]) -> None:
        a, b, sport = f"10.{n // 250}.{n % 250}.2", f"198.51.{n % 200}.53", 30000 + n
        for orig, data in exchange:
            src, dst, sp, dp = (a, b, sport, dport) if orig else (b, a, dport, sport)
            self._emit(Ether(**MAC) / IP(src=src, dst=dst) / UDP(sport=sp, dport=dp) / data)


def generated_mix(seed: int = 1, conns: int = 400) -> list[tuple[int, bytes]]:
    """The generated mix of the module doc."""
    rng = random.Random(seed)
    g = Gen(rng)

    def rnd(n: int) -> bytes:
        return rng.randbytes(n)

    def body(lo: int, hi: int) -> bytes:
        return rnd(rng.randrange(lo, hi))

    hello = bytes.fromhex("160301020001") + bytes.fromhex("0001fc0303")
    server_hello = bytes.fromhex("160303007a") + bytes.fromhex("020000760303")
    kinds = [
        ("http", 0.28), ("ssl", 0.27), ("ssh", 0.04), ("smtp", 0.04), ("ftp", 0.02),
        ("dns", 0.15), ("unknown", 0.17), ("unknown-udp", 0.03),
    ]  # fmt: skip
    for n in range(conns):
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        if kind == "http":
            g.tcp(
                n,
                80,
                [
                    (True, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
                    (False, b"HTTP/1.1 200 OK\r\n\r\n" + body(2_000, 60_000)),
                ],
            )
        elif kind == "ssl":
            g.tcp(
                n,
                443,
                [
                    (True, hello + rnd(500)),
                    (False, server_hello + rnd(3_000)),
                    (True, rnd(600)),
                    (False, body(5_000, 120_000)),
                ],
            )
        elif kind == "ssh":
            g.tcp(
                n,
                22,
                [
                    (False, b"SSH-2.0-OpenSSH_9.6\r\n"),
                    (True, b"SSH-2.0-PuTTY\r\n"),
                    (True, rnd(1_200)),
                    (False, body(2_000, 40_000)),
                ],
            )
        elif kind == "smtp":
            g.tcp(
                n,
                25,
                [
                    (False, b"220 mx.example ESMTP\r\n"),
                    (True, b"EHLO c.example\r\n"),
                    (False, b"250 OK\r\n"),
                    (True, body(3_000, 30_000)),
                ],
            )
        elif kind == "ftp":
            g.tcp(
                n,
                21,
                [
                    (False, b"220 ftp ready\r\n"),
                    (True, b"USER anonymous\r\n"),
                    (False, b"331 password\r\n"),
                ],
            )
        elif kind == "dns":
            q = rnd(2) + bytes.fromhex("01000001000000000000") + b"\x03www\x00\x00\x01\x00\x01"
            g.udp(n, 53, [(True, q), (False, q[:2] + b"\x81\x80" + q[4:] + rnd(16))])
        elif kind == "unknown":
            g.tcp(
                n,
                rng.randrange(10_000, 60_000),
                [
                    (True, rnd(rng.randrange(40, 400))),
                    (False, rnd(rng.randrange(40, 400))),
                    (True, body(10_000, 300_000)),
                ],
            )
        else:
            g.udp(n, rng.randrange(10_000, 60_000), [(True, body(100, 1_200))] * 5)
    return g.frames


def _frames(path: Path) -> list[tuple[int, bytes]]:
    try:
        return ethernet_frames(path)
    except (OSError, PcapError, EOFError, ValueError):
        return []  # not a capture this reader takes


# --- the run -------------------------------------------------------------------------


def run(inputs: list[list[tuple[int, bytes]]], section: str) -> Totals:
    on = with_negative_matching(section)
    tot = Totals()
    for frames in inputs:
        if frames:
            tot.add(replay_frames(frames, section), replay_frames(frames, on))
    return tot


def speed(frames: list[tuple[int, bytes]], section: str) -> tuple[float, float]:
    """Engine packets/s of the pipeline on `frames` with the stage on, and off."""
    out = []
    for text in (section, section.replace("  enabled: true", "  enabled: false")):
        with NidsSwitch() as sw:
            sw.install_text(RULES + text)
            t0 = time.perf_counter()
            for t, frame in frames:
                sw.run(IN_PORT, frame, T0 + t)
            out.append(len(frames) / (time.perf_counter() - t0))
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.prefilter_eval", description=__doc__)
    ap.add_argument("--traces", type=Path, default=TRACES, help="captures (recursively)")
    ap.add_argument("--quick", action="store_true", help="only the first 40 captures")
    ap.add_argument("--speed-only", action="store_true", help="only the packets/s figure")
    args = ap.parse_args(argv)
    section = default_section()
    cfg = read_rules(RULES + section, "rules.yaml")[0].prefilters
    assert cfg is not None
    c = compile_section(cfg.rules)
    services = len({r.service for r in cfg.rules})
    print(f"Machine: {describe()}.\n")
    mix_frames = generated_mix()
    on, off = speed(mix_frames, section)
    print(
        f"Engine, generated mix ({len(mix_frames):,} frames, reassembly on, one core, wall "
        f"clock): {on:,.0f} packets/s with the prefilter stage, {off:,.0f} without.\n"
    )
    if args.speed_only:
        return 0
    caps = sorted(p for p in args.traces.rglob("*") if p.suffix in (".pcap", ".pcapng", ".gz"))
    if args.quick:
        caps = caps[:40]
    zeek = run([_frames(p) for p in caps], section)
    mix = run([mix_frames], section)
    print(
        f"Pattern set: rules.yaml, {len(cfg.rules)} rules for {services} services: "
        f"{len(c.entries)} pattern-table entries (of {ps.PF_MAX_PATTERNS}), "
        f"{len(c.pairs)} pairs entries.\n"
    )
    print(f"| figure | {len(caps)} Zeek captures | generated mix (400 connections) |")
    print("|---|---|---|")
    for a, b in zip(zeek.rows(), mix.rows(), strict=True):
        name, va = a.strip("|").split("|", 1)
        _, vb = b.strip("|").split("|", 1)
        print(f"|{name}|{va.strip()} | {vb.strip()} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
