"""Captures through main.p4 with reassembly and the prefilter stage on, the services
named compared with Zeek's conn.log.

`replay(trace, section)` sends every Ethernet frame of a capture into port 0 of an
in-process softswitch (monitor port 1) at the capture's own clock, with the
`prefilters:` section `section` (rules.yaml's by default, `default_section`) installed
through the controller's install path, and names every connection from what the monitor
port delivered (`controlplane.services`). `zeek_services(log)` reads a Zeek conn.log
(the `#fields` header says where the columns are); `agreement` compares the two per
service Zeek named.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from controlplane import pipeline_spec as ps
from controlplane.prefilter import TCP, UDP
from controlplane.rules import read_rules
from controlplane.services import ConnKey, Flow, ServiceNamer
from feedback_header import codec
from pktio.pcap import LINKTYPE_ETHERNET, open_capture
from testbed.nids_switch import NidsSwitch
from testbed.reassembly_replay import IN_PORT, MONITOR, T0

ROOT = Path(__file__).resolve().parents[1]

RULES = f"""monitor:
  port: {MONITOR}
  ingress_ports: [{IN_PORT}]
reassembly:
  slots: 4096
stats: []
"""


LINKTYPE_NULL = 0
LINKTYPE_LINUX_SLL = 113
_ETHER = bytes(6) + bytes.fromhex("020000000001")
_AF_ETHERTYPE = {2: 0x0800, 24: 0x86DD, 28: 0x86DD, 30: 0x86DD}
"""BSD loopback address families -> EtherType (AF_INET; AF_INET6 of NetBSD, FreeBSD,
Darwin)."""


def ethernet_frames(trace: Path) -> list[tuple[int, bytes]]:
    """(µs since the first frame, Ethernet frame) of a capture; loopback (NULL) and
    Linux cooked (SLL) frames get an Ethernet header with their EtherType, other link
    types are left out (the switch's ports are Ethernet)."""
    out: list[tuple[int, bytes]] = []
    first = None
    with open_capture(trace) as cap:
        for rec in cap:
            data = bytes(rec.data)
            if rec.linktype == LINKTYPE_NULL and len(data) >= 4:
                fam = int.from_bytes(data[:4], "little")
                if fam not in _AF_ETHERTYPE:
                    fam = int.from_bytes(data[:4], "big")
                et = _AF_ETHERTYPE.get(fam)
                if et is None:
                    continue
                data = _ETHER + et.to_bytes(2, "big") + data[4:]
            elif rec.linktype == LINKTYPE_LINUX_SLL and len(data) >= 16:
                data = _ETHER + data[14:16] + data[16:]
            elif rec.linktype != LINKTYPE_ETHERNET:
                continue
            us = rec.ts_ns // 1000
            first = us if first is None else first
            out.append((max(0, us - first), data))
    return out


def default_section(path: Path = ROOT / "rules.yaml") -> str:
    """The `prefilters:` section of a rules file, as text (up to the next top-level key),
    enabled (rules.yaml ships it off)."""
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if out and line[:1].isalpha():
            break
        if out or line.startswith("prefilters:"):
            out.append("  enabled: true" if line.startswith("  enabled:") else line)
    return "\n".join(out) + "\n"


@dataclass
class Replay:
    """What the monitor port got for one capture, named."""

    services: dict[ConnKey, tuple[str | None, str]]
    outcomes: dict[str, int]
    flows: dict[ConnKey, Flow] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0  # without the feedback headers
    frames_in: int = 0
    frames_out: int = 0


def replay(trace: Path, section: str | None = None, sw: NidsSwitch | None = None) -> Replay:
    """`trace` through the switch (a new one unless `sw` is given)."""
    return replay_frames(ethernet_frames(trace), section, sw)


def replay_frames(
    frames: list[tuple[int, bytes]], section: str | None = None, sw: NidsSwitch | None = None
) -> Replay:
    """(µs, Ethernet frame) through the switch with `section` (rules.yaml's prefilters
    by default) installed; every connection the monitor port got, named."""
    text = RULES + (default_section() if section is None else section)
    own = sw is None
    switch = NidsSwitch() if sw is None else sw
    try:
        switch.install_text(text)
        cfg = read_rules(text, "rules.yaml")[0].prefilters
        namer = ServiceNamer(cfg)
        r = Replay({}, {})
        for t, frame in frames:
            r.frames_in += 1
            r.bytes_in += len(frame)
            for port, data in switch.run(IN_PORT, frame, T0 + t):
                if port == MONITOR:
                    r.frames_out += 1
                    plain = codec.strip(data)
                    r.bytes_out += len(plain)
                    namer.feed(data)
        r.services = namer.services()
        r.flows = namer.flows
        r.outcomes = switch.named_outcomes(ps.PF_OUTCOMES_COUNTER, ps.PF_OUTCOMES)
        return r
    finally:
        if own:
            switch.close()


def with_negative_matching(section: str, nbytes: int = 16) -> str:
    """`section` (a `prefilters:` section) with negative matching after `nbytes` on."""
    lines = section.splitlines()
    return "\n".join([lines[0], "  negative_matching:", f"    bytes: {nbytes}", *lines[1:]]) + "\n"


def zeek_services(log: Path) -> dict[ConnKey, list[str]]:
    """Connection -> the services Zeek logged for it (only connections with a service)."""
    fields: list[str] = []
    out: dict[ConnKey, list[str]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#") and fields:
            row = dict(zip(fields, line.split("\t"), strict=False))
            service = row.get("service", "-")
            proto = {"tcp": TCP, "udp": UDP}.get(row.get("proto", ""))
            if service in ("-", "(empty)") or proto is None:
                continue
            ends = frozenset(
                {
                    (row["id.orig_h"], int(row["id.orig_p"])),
                    (row["id.resp_h"], int(row["id.resp_p"])),
                }
            )
            out[(proto, ends)] = [s for s in service.split(",") if not s.startswith("-")]
    return out


@dataclass
class Agreement:
    """Per service Zeek named: connections, named the same, named otherwise, not named."""

    zeek: Counter[str] = field(default_factory=Counter)
    same: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    unseen: Counter[str] = field(default_factory=Counter)
    """Not named because the switch never saw the connection as TCP/UDP: inside a tunnel,
    PPPoE or MPLS, or a capture of 802.11 frames."""
    by_software: Counter[str] = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)

    def add(
        self, trace: str, zeek: dict[ConnKey, list[str]], got: dict[ConnKey, tuple[str | None, str]]
    ) -> None:
        """One capture: a connection agrees if the switch names one of Zeek's services
        (`imap,ssl`: imap or ssl); it is counted under Zeek's first service."""
        for key, services in zeek.items():
            name = services[0]
            self.zeek[name] += 1
            if key not in got:
                self.unseen[name] += 1
                continue
            mine, who = got[key]
            if mine is not None and mine in services:
                self.same[name] += 1
                if who == "software":
                    self.by_software[name] += 1
            elif mine is not None:
                self.other[name] += 1
                self.details.append(f"{trace}: {sorted(key[1])} zeek {services}, switch {mine}")
            else:
                self.missed[name] += 1
                self.details.append(f"{trace}: {sorted(key[1])} zeek {services}, not named")

    def total(self) -> tuple[int, int]:
        """(connections Zeek named that the switch saw, named the same)."""
        return sum(self.zeek.values()) - sum(self.unseen.values()), sum(self.same.values())

    def table(self) -> list[str]:
        """A Markdown table, one row per service."""
        out = [
            "| service | Zeek named | not seen | same | (of which software) | otherwise "
            "| not named |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        rows = [(s, self._row(s)) for s in sorted(self.zeek, key=lambda s: (-self.zeek[s], s))]
        for s, row in [*rows, ("all", self._row(None))]:
            out.append(f"| {s} | " + " | ".join(str(v) for v in row) + " |")
        return out

    def _row(self, s: str | None) -> tuple[int, ...]:
        cs = (self.zeek, self.unseen, self.same, self.by_software, self.other, self.missed)
        return tuple(c[s] if s is not None else sum(c.values()) for c in cs)


def baseline_traces(traces: Path, baselines: Path) -> list[tuple[Path, Path]]:
    """(capture, its conn.log) for every baseline whose capture exists."""
    out = []
    for log in sorted(baselines.rglob("*.conn.log")):
        rel = log.relative_to(baselines).as_posix()[: -len(".conn.log")]
        trace = traces / rel
        if trace.is_file():
            out.append((trace, log))
    return out
