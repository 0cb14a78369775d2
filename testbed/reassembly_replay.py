"""Captures through main.p4 with the reassembly stage on, compared with tshark.

`replay(trace)` sends every Ethernet frame of a capture into port 0 of an in-process
softswitch (monitor port 1) at the capture's own clock, as `softswitch run --pcap-in`
does, with the stage enabled by a rules file through the controller's install path, and
rebuilds the monitor port's streams (`controlplane.streams`). `tshark_streams(trace)` is
what `tshark -q -z follow,tcp,raw,N` gives for every TCP stream N of the capture, per
direction. `compare` puts them side by side, connection by connection.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from controlplane import pipeline_spec as ps
from controlplane.streams import Connection, StreamRebuilder, Tuple4
from feedback_header.records import Direction
from pktio.pcap import LINKTYPE_ETHERNET, open_capture
from testbed.nids_switch import NidsSwitch

IN_PORT = 0
MONITOR = 1
T0 = 1_000_000_000

RULES = f"""monitor:
  port: {MONITOR}
  ingress_ports: [{IN_PORT}]
reassembly:
  slots: {{slots}}
  idle_timeout: 300s
stats: []
"""


@dataclass
class Replay:
    """What the monitor port got for one capture."""

    rebuilt: StreamRebuilder
    outcomes: dict[str, int]
    frames_in: int = 0
    frames_out: int = 0
    held_peak: int = 0  # the most segments held at once


def tcp_frames(trace: Path) -> list[tuple[int, bytes]]:
    """(µs since the first frame, frame) of an Ethernet capture; [] for other link types."""
    out: list[tuple[int, bytes]] = []
    with open_capture(trace) as cap:
        first = None
        for rec in cap:
            if rec.linktype != LINKTYPE_ETHERNET:
                return []
            us = rec.ts_ns // 1000
            first = us if first is None else first
            out.append((max(0, us - first), bytes(rec.data)))
    return out


def replay(trace: Path, slots: int = 4096, sw: NidsSwitch | None = None) -> Replay:
    """`trace` through the switch (a new one unless `sw` is given)."""
    own = sw is None
    switch = NidsSwitch() if sw is None else sw
    try:
        switch.install_text(RULES.format(slots=slots))
        rebuilt = StreamRebuilder()
        r = Replay(rebuilt, {})
        t = 0
        for t, frame in tcp_frames(trace):
            r.frames_in += 1
            for port, data in switch.run(IN_PORT, frame, T0 + t):
                if port == MONITOR:
                    r.frames_out += 1
                    rebuilt.feed(data, (T0 + t) / 1e6)
        # Segments still held go round until each has left.
        for port, data in switch.drain(T0 + t):
            if port == MONITOR:
                r.frames_out += 1
                rebuilt.feed(data, (T0 + t) / 1e6)
        r.outcomes = switch.named_outcomes(ps.REASM_OUTCOMES_COUNTER, ps.REASM_OUTCOMES)
        r.held_peak = switch.held_peak()
        return r
    finally:
        if own:
            switch.close()


def has_tshark() -> bool:
    """True if tshark is on PATH."""
    return shutil.which("tshark") is not None


def tshark_streams(trace: Path) -> dict[frozenset[tuple[str, int]], dict[tuple[str, int], bytes]]:
    """For every TCP stream of `trace`: {endpoint: bytes it sent}, keyed by both endpoints,
    from `tshark -q -z follow,tcp,raw,N`."""
    ids = subprocess.run(
        ["tshark", "-r", str(trace), "-Y", "tcp", "-T", "fields", "-e", "tcp.stream"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    streams = sorted({int(i) for i in ids if i.isdigit()})
    if not streams:
        return {}
    args = ["tshark", "-r", str(trace), "-q"]
    for n in streams:
        args += ["-z", f"follow,tcp,raw,{n}"]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    out: dict[frozenset[tuple[str, int]], dict[tuple[str, int], bytes]] = {}
    nodes: list[tuple[str, int]] = []
    data: dict[tuple[str, int], bytearray] = {}
    for line in text.splitlines():
        if line.startswith("Follow: tcp"):
            nodes, data = [], {}
        elif line.startswith("Node ") and ":" in line:
            hostport = line.split(": ", 1)[1].strip()
            host, _, port = hostport.rpartition(":")
            node = (host.strip("[]"), int(port))
            nodes.append(node)
            data[node] = bytearray()
        elif line.startswith("====") and len(nodes) == 2:
            out[frozenset(nodes)] = {n: bytes(b) for n, b in data.items()}
            nodes = []
        elif nodes and len(nodes) == 2 and line.strip():
            node = nodes[1] if line.startswith("\t") else nodes[0]
            try:
                data[node] += bytes.fromhex(line.strip())
            except ValueError:
                continue
    return out


@dataclass
class ConnResult:
    """One connection: the switch's mode and whether the rebuilt streams are right."""

    orig: Tuple4
    mode: str
    fallback_reason: str
    switch_bytes: int
    total_bytes: int
    prefix_ok: bool  # what the switch delivered in order is the start of tshark's stream
    equal: bool  # switch bytes + the raw packets after the fallback == tshark's stream
    errors: list[str] = field(default_factory=list)


def compare(
    rebuilt: StreamRebuilder,
    reference: dict[frozenset[tuple[str, int]], dict[tuple[str, int], bytes]],
) -> list[ConnResult]:
    """Every rebuilt connection that tshark also follows, checked against it."""
    out = []
    for conn in rebuilt.connections.values():
        oh, op, rh, rp = conn.orig
        ref = reference.get(frozenset({(oh, op), (rh, rp)}))
        if ref is None:
            continue
        out.append(_check(conn, ref.get((oh, op), b""), ref.get((rh, rp), b"")))
    return out


def _check(conn: Connection, ref_orig: bytes, ref_resp: bytes) -> ConnResult:
    o, r = Direction.ORIGINATOR, Direction.RESPONDER
    prefix_ok = ref_orig.startswith(bytes(conn.stream[o])) and ref_resp.startswith(
        bytes(conn.stream[r])
    )
    equal = conn.full_stream(o) == ref_orig and conn.full_stream(r) == ref_resp
    return ConnResult(
        conn.orig,
        conn.mode,
        conn.fallback_reason,
        len(conn.stream[o]) + len(conn.stream[r]),
        len(ref_orig) + len(ref_resp),
        prefix_ok,
        equal,
        list(conn.errors),
    )
