"""How much of a scan-heavy load the SYN-offload stage keeps away from the monitor.

    python -m bench.syn_offload_load [--attempts 20000] [--seconds 60] [--slots 16384]
                                     [--timeout 5] [--sweep-rate 4096] [--seed 1]

Generates a mix with Scapy (deterministic seed): `--attempts` connection
attempts starting uniformly over `--seconds` of pcap time, 70% from scanners
(SYN to a random host and port; 80% of them unanswered, half of those
retransmitted at +1 s and +3 s as Linux does, the other 20% answered with
RST-ACK) and 30% ordinary connections (handshake with a 1-80 ms RTT, a request,
a response, FIN/ACK both ways, last ACK). Each packet template is built once
with Scapy; addresses, ports, sequence numbers and checksums are then filled in
per packet, which is what keeps generation under a few seconds.

The mix runs in process through p4src/main.p4 on the softswitch engine twice, its
rules installed by the controller's own path (`testbed.nids_switch`), port 0 ->
monitor port 1: stage disabled, then enabled (`--slots` records, `--timeout` s)
with sweep packets at `--sweep-rate` per second of pcap time, round robin,
continuing after the last packet until every record has left.
Reported per run: frames reaching the monitor; connection attempts the monitor
must create state for (first SYN seen as an ordinary packet, or regenerated
before the reply, or passed NOT_OFFLOADED) vs attempts it can log from a
SYN_SUMMARY alone (expired by sweep or traffic); the share removed; records in
use (stored - regenerated, from the outcome counters) sampled every simulated
second; sweep packets; and the engine's packets/s (pipeline calls / wall time,
one core). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import random
import struct
import time
from dataclasses import dataclass, field

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from bench.machine import describe as describe_machine
from controlplane.syn_offload import sweep_packet
from feedback_header import codec
from feedback_header.records import NotOffloaded, SynSummary, SynSummaryReason
from testbed.nids_switch import CPU_PORT, NidsSwitch

MONITOR = 1
T0 = 1_000_000_000  # µs on the switch clock at pcap time 0

# outcome counter indexes (syn_offload.p4)
SEEN, STORED, RETRANSMITTED, PASSED, REGEN_REPLY, REGEN_TRAFFIC, REGEN_SWEEP, SWEEPS = range(8)

_F, _S, _R, _P, _A = 0x01, 0x02, 0x04, 0x08, 0x10


# --- traffic -----------------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Templates:
    """Frames built once with Scapy; `frame()` patches the per-packet fields."""

    def __init__(self) -> None:
        eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        syn_opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None)]
        syn_opts += [("WScale", 7)]
        self._syn = bytes(eth / IP(ttl=64, flags="DF") / TCP(flags="S", options=syn_opts))
        self._synack = bytes(eth / IP(ttl=64, flags="DF") / TCP(flags="SA", options=syn_opts[:1]))
        self._plain = bytes(eth / IP(ttl=64, flags="DF") / TCP(flags="A", window=502))

    def frame(
        self, src: int, dst: int, sport: int, dport: int, flags: int, seq: int, ack: int, size: int
    ) -> bytes:
        base = self._syn if flags == _S else self._synack if flags == _S | _A else self._plain
        eth, ip, tcp = base[:14], bytearray(base[14:34]), bytearray(base[34:])
        payload = bytes(size)
        struct.pack_into("!H", ip, 2, 20 + len(tcp) + size)
        struct.pack_into("!II", ip, 12, src, dst)
        struct.pack_into("!H", ip, 10, 0)
        struct.pack_into("!H", ip, 10, _checksum(bytes(ip)))
        struct.pack_into("!HHII", tcp, 0, sport, dport, seq, ack)
        tcp[13] = flags
        struct.pack_into("!H", tcp, 16, 0)
        pseudo = struct.pack("!IIBBH", src, dst, 0, 6, len(tcp) + size)
        struct.pack_into("!H", tcp, 16, _checksum(pseudo + bytes(tcp) + payload))
        return eth + bytes(ip) + bytes(tcp) + payload


@dataclass(frozen=True)
class Mix:
    """Time-ordered (µs, frame) and what it contains."""

    packets: list[tuple[int, bytes]]
    attempts: int
    scans_unanswered: int
    scans_rejected: int
    established: int
    syns: int


def generate(attempts: int, seconds: float, seed: int) -> Mix:
    rng = random.Random(seed)
    tpl = Templates()
    pkts: list[tuple[int, bytes]] = []
    span = int(seconds * 1e6)
    unanswered = rejected = established = syns = 0
    clients = [0x0A000000 + rng.randrange(1, 1 << 16) for _ in range(500)]
    servers = [0xC0000200 + i for i in range(1, 60)]  # 192.0.2.x
    scanners = [0xCB007100 + rng.randrange(1, 255) for _ in range(40)]  # 203.0.113.x
    for _ in range(attempts):
        t = T0 + rng.randrange(span)
        isn, rsn = rng.getrandbits(32), rng.getrandbits(32)
        sport = rng.randrange(32768, 61000)
        if rng.random() < 0.7:  # a scanner probe
            src = rng.choice(scanners)
            dst = 0x0A000000 + rng.randrange(1 << 16)
            dport = rng.choice((22, 23, 80, 443, 445, 3389, 8080)) if rng.random() < 0.5 else 0
            dport = dport or rng.randrange(1, 65536)
            syn = tpl.frame(src, dst, sport, dport, _S, isn, 0, 0)
            if rng.random() < 0.8:
                unanswered += 1
                times = [t, t + 1_000_000, t + 3_000_000] if rng.random() < 0.5 else [t]
                pkts += [(ts, syn) for ts in times]
                syns += len(times)
            else:
                rejected += 1
                syns += 1
                rst = tpl.frame(dst, src, dport, sport, _R | _A, 0, (isn + 1) & 0xFFFFFFFF, 0)
                pkts += [(t, syn), (t + rng.randrange(200, 30_000), rst)]
            continue
        established += 1
        syns += 1
        c, s = rng.choice(clients), rng.choice(servers)
        dport = rng.choice((80, 443, 22, 25))
        rtt = rng.randrange(1_000, 80_000)
        req, resp = rng.randrange(60, 600), rng.randrange(200, 1400)
        i1, r1 = (isn + 1) & 0xFFFFFFFF, (rsn + 1) & 0xFFFFFFFF
        i2, r2 = (i1 + req) & 0xFFFFFFFF, (r1 + resp) & 0xFFFFFFFF
        seq = [
            (0, c, s, sport, dport, _S, isn, 0, 0),
            (rtt // 2, s, c, dport, sport, _S | _A, rsn, i1, 0),
            (rtt, c, s, sport, dport, _A, i1, r1, 0),
            (rtt + 100, c, s, sport, dport, _P | _A, i1, r1, req),
            (rtt + rtt // 2 + 2_000, s, c, dport, sport, _P | _A, r1, i2, resp),
            (2 * rtt + 2_000, c, s, sport, dport, _A, i2, r2, 0),
            (2 * rtt + 50_000, c, s, sport, dport, _F | _A, i2, r2, 0),
            (2 * rtt + 50_000 + rtt // 2, s, c, dport, sport, _F | _A, r2, i2 + 1, 0),
            (3 * rtt + 50_000, c, s, sport, dport, _A, i2 + 1, r2 + 1, 0),
        ]
        for dt, a, b, pa, pb, fl, sq, ak, n in seq:
            pkts.append((t + dt, tpl.frame(a, b, pa, pb, fl, sq & 0xFFFFFFFF, ak & 0xFFFFFFFF, n)))
    pkts.sort(key=lambda p: p[0])
    return Mix(pkts, attempts, unanswered, rejected, established, syns)


# --- switch ------------------------------------------------------------------


def make_switch(slots: int, timeout_us: int) -> NidsSwitch:
    """main.p4 on the engine, installed by the controller: Forward 0 -> MONITOR; the
    SYN-offload stage if `slots`."""
    sw = NidsSwitch()
    rules = f"monitor: {{port: {MONITOR}, ingress_ports: [0]}}\n"
    if slots:
        rules += f"syn_offload: {{slots: {slots}, timeout: {timeout_us}us}}\n"
    sw.install_text(rules)
    return sw


@dataclass
class RunResult:
    monitor_frames: int = 0
    syn_frames: int = 0  # frames on the monitor that are (regenerated) SYNs
    stateful: set[bytes] = field(default_factory=set)  # attempts the monitor tracks
    regen_reply: int = 0
    passed_marked: int = 0
    unmarked: int = 0
    expired: set[bytes] = field(default_factory=set)  # attempts logged from a summary
    summarized_syns: int = 0  # SYNs the expired summaries stand for
    sweeps: int = 0
    calls: int = 0
    seconds: float = 0.0
    in_use: list[int] = field(default_factory=list)
    outcomes: list[int] = field(default_factory=list)


def _syn_tuple(frame: bytes) -> bytes | None:
    """Addresses and ports of an untagged IPv4 plain SYN (the mix has no VLANs)."""
    if frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    tcp = 14 + (frame[14] & 0x0F) * 4
    if frame[tcp + 13] & 0x17 != 0x02:
        return None
    return frame[26:34] + frame[tcp : tcp + 4]


def run(mix: Mix, slots: int, timeout_us: int, sweep_rate: int) -> RunResult:
    """The mix through the switch; with `slots` == 0 the stage stays disabled."""
    sw = make_switch(slots, timeout_us)
    process = sw.pipeline.process
    res = RunResult()
    out: list[tuple[int, bytes]] = []
    step = 1_000_000 / sweep_rate if slots else 0.0
    next_sweep, index = float(T0), 0
    next_sample = T0 + 1_000_000
    end = mix.packets[-1][0]
    drain_until = end + timeout_us + (slots * 1_000_000) // max(sweep_rate, 1) + 1
    sweep_frames = [sw.packet_out(sweep_packet(i, MONITOR)) for i in range(slots)]
    start = time.perf_counter()

    def advance(now: int) -> None:
        """Sweeps and samples due up to `now`."""
        nonlocal next_sweep, index, next_sample
        while True:
            t_sweep = next_sweep if slots else float("inf")
            if min(t_sweep, next_sample) > now:
                return
            if t_sweep <= next_sample:
                out.extend(process(CPU_PORT, sweep_frames[index], int(t_sweep)))
                index = (index + 1) % slots
                next_sweep += step
                res.sweeps += 1
            else:
                if slots:
                    o = sw.outcomes()
                    res.in_use.append(
                        o[STORED] - o[REGEN_REPLY] - o[REGEN_TRAFFIC] - o[REGEN_SWEEP]
                    )
                next_sample += 1_000_000

    for now, frame in mix.packets:
        advance(now)
        out.extend(process(0, frame, now))
    if slots:
        advance(drain_until)
    res.seconds = time.perf_counter() - start
    res.calls = len(mix.packets) + res.sweeps

    for port, frame in out:
        if port != MONITOR:
            raise RuntimeError(f"frame left on port {port}")
        res.monitor_frames += 1
        dec = codec.try_decode(frame) if frame[12:14] != b"\x08\x00" else None
        key = _syn_tuple(frame if dec is None else codec.strip(frame))
        if key is None:
            continue
        res.syn_frames += 1
        recs = list(dec.records) if dec is not None else []
        summary = next((r for r in recs if isinstance(r, SynSummary)), None)
        if summary is not None and summary.reason != SynSummaryReason.REGENERATED_BEFORE_RESPONSE:
            res.expired.add(key)
            res.summarized_syns += summary.syn_count
            continue
        res.stateful.add(key)
        if summary is not None:
            res.regen_reply += 1
        elif any(isinstance(r, NotOffloaded) for r in recs):
            res.passed_marked += 1
        else:
            res.unmarked += 1
    # an attempt whose SYN reached the monitor as a packet (e.g. passed while its
    # slot was busy) is tracked even if a later retransmission expired in a record
    res.expired -= res.stateful
    res.outcomes = sw.outcomes() if slots else []
    return res


# --- report ------------------------------------------------------------------


def report(mix: Mix, off: RunResult, on: RunResult, args: argparse.Namespace) -> str:
    removed = 1 - len(on.stateful) / len(off.stateful) if off.stateful else 0.0
    peak = max(on.in_use, default=0)
    mean = sum(on.in_use) / max(len(on.in_use), 1)
    o = on.outcomes
    rows = [
        ("packets in the mix", f"{len(mix.packets):,}", f"{len(mix.packets):,}"),
        ("frames reaching the monitor", f"{off.monitor_frames:,}", f"{on.monitor_frames:,}"),
        ("SYN frames reaching the monitor", f"{off.syn_frames:,}", f"{on.syn_frames:,}"),
        (
            "attempts the monitor creates state for",
            f"{len(off.stateful):,}",
            f"{len(on.stateful):,} ({on.regen_reply:,} SYNs regenerated before a reply, "
            f"{on.passed_marked:,} passed marked, {on.unmarked:,} unmarked)",
        ),
        (
            "attempts logged from a SYN_SUMMARY alone",
            f"{len(off.expired):,}",
            f"{len(on.expired):,} (standing for {on.summarized_syns:,} SYNs)",
        ),
        ("share of attempts removed from monitor state", "-", f"{removed:.1%}"),
        ("records in use, max / mean of 1 s samples", "-", f"{peak:,} / {mean:,.0f}"),
        ("sweep packets", "0", f"{on.sweeps:,}"),
        (
            "engine packets/s (pipeline calls / wall s)",
            f"{off.calls / off.seconds:,.0f} ({off.calls:,} in {off.seconds:.1f} s)",
            f"{on.calls / on.seconds:,.0f} ({on.calls:,} in {on.seconds:.1f} s)",
        ),
    ]
    lines = [
        f"Mix: {mix.attempts:,} attempts over {args.seconds:g} s (seed {args.seed}): "
        f"{mix.scans_unanswered:,} unanswered scans, {mix.scans_rejected:,} scans answered "
        f"RST-ACK, {mix.established:,} established; {mix.syns:,} SYNs, "
        f"{len(mix.packets):,} packets.",
        f"Stage: {args.slots:,} slots, timeout {args.timeout:g} s, {args.sweep_rate:,} sweeps/s "
        f"(a pass every {args.slots / args.sweep_rate:g} s).",
        "",
        "| | stage disabled | stage enabled |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        f"Outcome counters (enabled): seen {o[SEEN]:,}, stored {o[STORED]:,}, retransmissions "
        f"absorbed {o[RETRANSMITTED]:,}, passed {o[PASSED]:,}, regenerated before a reply "
        f"{o[REGEN_REPLY]:,}, expired by traffic {o[REGEN_TRAFFIC]:,}, "
        f"by sweep {o[REGEN_SWEEP]:,}.",
        "Records in use, one sample per simulated second: " + " ".join(str(v) for v in on.in_use),
        "",
        f"Machine: {describe_machine()}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Generate, run twice, print the table."""
    ap = argparse.ArgumentParser(prog="python -m bench.syn_offload_load", description=__doc__)
    ap.add_argument("--attempts", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=60.0, help="pcap time the attempts span")
    ap.add_argument("--slots", type=int, default=16_384)
    ap.add_argument("--timeout", type=float, default=5.0, help="record timeout, s")
    ap.add_argument("--sweep-rate", type=int, default=4_096, help="sweep packets per pcap second")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    mix = generate(args.attempts, args.seconds, args.seed)
    print(f"generated {len(mix.packets):,} packets in {time.perf_counter() - t:.1f} s")
    off = run(mix, 0, 0, 0)
    on = run(mix, args.slots, int(args.timeout * 1e6), args.sweep_rate)
    o = on.outcomes
    # Every SYN left exactly once and the table ended empty: the run is sound.
    if not (
        o[SEEN] == mix.syns == o[STORED] + o[RETRANSMITTED] + o[PASSED]
        and o[STORED] == o[REGEN_REPLY] + o[REGEN_TRAFFIC] + o[REGEN_SWEEP]
    ):
        raise RuntimeError(f"outcome counters do not add up: {o}")
    print(report(mix, off, on, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
