"""Which group_totals index a group key uses, as the stats stage computes it.

p4src/include/control/stats.p4 hashes the 144-bit string
`rule_id(16) ++ 0(7) ++ ingress_port(9) ++ protocol(8) ++ tcp_flags(8) ++ src(32) ++
dst(32) ++ src_port(16) ++ dst_port(16)` with v1model's crc32 (the standard reflected
CRC-32 that zlib computes) and takes it modulo STATS_GROUPS_PER_SLOT. A key with IPv6
addresses (the records' `ipv6_src`/`ipv6_dst`) hashes as the 336-bit string
`rule_id(16) ++ 1(1) ++ 0(6) ++ ingress_port(9) ++ ... ` with 128-bit addresses. The key
is the masked key in the records (for bidirectional rules already in canonical order),
so a key seen in a report names its counter index.
"""

from __future__ import annotations

import ipaddress
import struct
import zlib
from collections.abc import Mapping
from typing import Any

STATS_GROUPS_PER_SLOT = 4096


def group_index(rule_id: int, key: Mapping[str, Any], groups: int = STATS_GROUPS_PER_SLOT) -> int:
    """The register/counter index of `key` (a record's "key" dict) under `rule_id`."""
    head = struct.pack(
        "!HHBB",
        rule_id,
        int(key["ingress_port"]) & 0x1FF,
        int(key["ip_proto"]),
        int(key["tcp_flags"]),
    )
    ports = struct.pack("!HH", int(key["l4_src_port"]), int(key["l4_dst_port"]))
    if "ipv6_src" in key:
        head = head[:2] + bytes([head[2] | 0x80]) + head[3:]  # the family bit
        addrs = ipaddress.IPv6Address(key["ipv6_src"]).packed
        addrs += ipaddress.IPv6Address(key["ipv6_dst"]).packed
    else:
        addrs = ipaddress.IPv4Address(key["ipv4_src"]).packed
        addrs += ipaddress.IPv4Address(key["ipv4_dst"]).packed
    return zlib.crc32(head + addrs + ports) % groups
