"""Traffic for the end-to-end demo (scripts/demo.sh): write it to a pcap, replay it.

    demo_traffic.py write run/demo-traffic.pcap     # build the frames with Scapy
    demo_traffic.py count run/demo-traffic.pcap     # how many frames (for watch --count)
    demo_traffic.py send run/demo-traffic.pcap --iface veth1

The traffic exercises rules.yaml, all towards one victim host, VICTIM:

1. an SSH session to VICTIM:22 (Figure 1, rule 1: ssh-by-source) and a SYN scan from
   10.1.2.3 over ports 20-44 (Figure 1, rule 2: syn-from-10-by-source-port; ddos-syn);
2. a reflection/ICMP flood (FLOODS): NTP responses from port 123, DNS responses from
   port 53 and ICMP echo requests, sized so that ddos-ntp crosses its packet threshold
   and ddos-dns-response and ddos-icmp their byte thresholds (1 s intervals);
3. TRAILER_DELAY_S later, one more packet of each vector: the 1 s intervals have
   passed, so these carry the COUNTER_REPORTs of the flood's interval.

`send` replays the pcap with Scapy's sendp as fast as it can, except that it keeps
every pause of at least PAUSE_S between two records (the wait before the trailer).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

VICTIM = "198.51.100.7"
SSH_CLIENT = "192.0.2.10"
SCANNER = "10.1.2.3"
SCAN_PORTS = range(20, 45)
TRAILER_DELAY_S = 2.0
PAUSE_S = 0.1
T0_NS = 1_700_000_000 * 10**9
SPACING_NS = 20_000  # between records of one phase (only the pauses are replayed)

_CLIENT_MAC = "02:00:00:00:00:01"
_ROUTER_MAC = "02:00:00:00:00:fe"


@dataclass(frozen=True)
class Flood:
    """One flood vector: `count` frames of exactly `frame_len` bytes to VICTIM."""

    vector: str  # "ntp", "dns" or "icmp"
    count: int
    frame_len: int


FLOODS = (Flood("ntp", 1000, 482), Flood("dns", 1250, 4000), Flood("icmp", 300, 7000))


def _eth(pkt: Packet) -> Packet:
    return Ether(src=_ROUTER_MAC, dst=_CLIENT_MAC) / pkt


def _pad(pkt: Packet, frame_len: int, payload: bytes) -> bytes:
    """`pkt` with a payload that starts with `payload` and makes the frame `frame_len`."""
    room = frame_len - len(pkt)
    if room < len(payload):
        raise ValueError(f"{pkt.summary()}: no room for {frame_len} bytes")
    data = bytes(pkt / Raw(payload + bytes(room - len(payload))))
    assert len(data) == frame_len
    return data


def ssh_session() -> list[bytes]:
    """Handshake and version exchange of one SSH connection, both directions."""
    c, s = IP(src=SSH_CLIENT, dst=VICTIM), IP(src=VICTIM, dst=SSH_CLIENT)
    cport, cseq, sseq = 50022, 1000, 5000
    banner_c = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
    banner_s = b"SSH-2.0-OpenSSH_9.6\r\n"
    pkts = [
        c / TCP(sport=cport, dport=22, flags="S", seq=cseq),
        s / TCP(sport=22, dport=cport, flags="SA", seq=sseq, ack=cseq + 1),
        c / TCP(sport=cport, dport=22, flags="A", seq=cseq + 1, ack=sseq + 1),
        c / TCP(sport=cport, dport=22, flags="PA", seq=cseq + 1, ack=sseq + 1) / banner_c,
        s
        / TCP(sport=22, dport=cport, flags="PA", seq=sseq + 1, ack=cseq + 1 + len(banner_c))
        / banner_s,
        c
        / TCP(
            sport=cport,
            dport=22,
            flags="A",
            seq=cseq + 1 + len(banner_c),
            ack=sseq + 1 + len(banner_s),
        ),
    ]
    return [bytes(_eth(p)) for p in pkts]


def syn_scan() -> list[bytes]:
    """SYNs from SCANNER to every port in SCAN_PORTS of VICTIM."""
    return [
        bytes(_eth(IP(src=SCANNER, dst=VICTIM) / TCP(sport=40000, dport=p, flags="S", seq=7)))
        for p in SCAN_PORTS
    ]


def _ntp(i: int, frame_len: int) -> bytes:
    # NTP mode 7 MON_GETLIST_1 response header: the monlist amplification vector
    hdr = IP(src=f"203.0.113.{1 + i % 50}", dst=VICTIM) / UDP(sport=123, dport=33000 + i % 100)
    return _pad(_eth(hdr), frame_len, b"\xd7\x00\x03\x2a\x00\x06\x00\x48")


def _dns(i: int, frame_len: int) -> bytes:
    hdr = IP(src=f"192.0.2.{53 + i % 4}", dst=VICTIM) / UDP(sport=53, dport=40000 + i % 500)
    dns = DNS(
        id=i & 0xFFFF,
        qr=1,
        rd=1,
        ra=1,
        qd=DNSQR(qname="example.org", qtype=255),  # ANY
        an=DNSRR(rrname="example.org", type="TXT", ttl=300, rdata=["v=spf1 -all"]),
    )
    return _pad(_eth(hdr), frame_len, bytes(dns))


def _icmp(i: int, frame_len: int) -> bytes:
    hdr = IP(src=f"100.64.{i % 8}.{1 + i % 200}", dst=VICTIM) / ICMP(type=8, id=0x4D2, seq=i)
    return _pad(_eth(hdr), frame_len, b"flood")


_BUILD = {"ntp": _ntp, "dns": _dns, "icmp": _icmp}


def flood(f: Flood) -> list[bytes]:
    """The frames of one flood vector."""
    return [_BUILD[f.vector](i, f.frame_len) for i in range(f.count)]


def trailer() -> list[bytes]:
    """One packet per vector (and a SYN), sent once the 1 s intervals have passed."""
    frames = [_BUILD[f.vector](f.count, f.frame_len) for f in FLOODS]
    syn = IP(src=SCANNER, dst=VICTIM) / TCP(sport=40001, dport=80, flags="S", seq=8)
    return [*frames, bytes(_eth(syn))]


def timeline() -> Iterator[tuple[int, bytes]]:
    """(timestamp ns, frame) of the whole demo traffic, in order."""
    t = T0_NS
    for frames in (ssh_session(), syn_scan(), *(flood(f) for f in FLOODS)):
        for data in frames:
            yield t, data
            t += SPACING_NS
    t += int(TRAILER_DELAY_S * 1e9)
    for data in trailer():
        yield t, data
        t += SPACING_NS


def write(path: Path) -> int:
    """Write the demo traffic to the pcap `path`; returns the number of frames."""
    from pktio.pcap import PcapWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with PcapWriter(path, nanosecond=True) as w:
        for ts, data in timeline():
            w.write(data, ts)
        return w.count


def read(path: Path) -> list[tuple[int, bytes]]:
    """(timestamp ns, frame) of every record of a pcap."""
    from pktio.pcap import open_capture

    with open_capture(path) as cap:
        return [(rec.ts_ns, rec.data) for rec in cap]


def phases(records: list[tuple[int, bytes]], pause_s: float = PAUSE_S) -> list[list[bytes]]:
    """The frames split wherever the capture pauses for at least `pause_s`."""
    out: list[list[bytes]] = []
    last: int | None = None
    for ts, data in records:
        if last is None or ts - last >= pause_s * 1e9:
            out.append([])
        out[-1].append(data)
        last = ts
    return out


def send(path: Path, iface: str, pause_s: float = PAUSE_S) -> int:
    """Replay `path` on `iface` (see the module doc); returns the number of frames sent."""
    from scapy.sendrecv import sendp

    records = read(path)
    parts = phases(records, pause_s)
    sent = 0
    for i, frames in enumerate(parts):
        if i:
            gap = (records[sent][0] - records[sent - 1][0]) / 1e9
            time.sleep(gap)
        start = time.monotonic()
        # Raw: Scapy sends the bytes as they are instead of rebuilding each packet
        sendp([Raw(f) for f in frames], iface=iface, verbose=False)
        took = time.monotonic() - start
        sent += len(frames)
        print(f"sent {len(frames)} frames on {iface} in {took:.2f} s")
    return sent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("write", help="write the demo traffic to PCAP").add_argument("pcap", type=Path)
    sub.add_parser("count", help="print the number of frames in PCAP").add_argument(
        "pcap", type=Path
    )
    p = sub.add_parser("send", help="replay PCAP on an interface (root)")
    p.add_argument("pcap", type=Path)
    p.add_argument("--iface", required=True)
    p.add_argument("--pause", type=float, default=PAUSE_S, help="keep pauses this long (s)")
    args = ap.parse_args(argv)
    if args.cmd == "write":
        n = write(args.pcap)
        sizes = ", ".join(f"{f.count} {f.vector} x {f.frame_len} B" for f in FLOODS)
        print(
            f"wrote {n} frames to {args.pcap}: SSH session, SYN scan from {SCANNER}, "
            f"flood to {VICTIM} ({sizes}), {TRAILER_DELAY_S:g} s later one packet per vector"
        )
    elif args.cmd == "count":
        print(len(read(args.pcap)))
    else:
        try:
            send(args.pcap, args.iface, args.pause)
        except PermissionError:
            print(f"demo_traffic: sending on {args.iface} needs root", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
