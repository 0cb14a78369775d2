"""Shared pieces of the stats-stage PTF tests (docs/stats-stage.md).

Only P4Runtime and packets are used, so the tests run unchanged on the softswitch and on
BMv2 simple_switch_grpc:

- `GroupKey` is a group's masked key; `index()` computes its register index exactly as
  stats.p4 does (`crc32` of the packed 144-bit key, modulo STATS_GROUPS_PER_SLOT), and
  `fields()` gives the key_* values the switch writes into records.
- `StatsTest` adds rule/monitor entries, reads the direct counter `rule_hits` and the
  indexed counters `group_totals` / `outcomes` over P4Runtime, and checks a received frame
  byte for byte against `codec.insert(sent, records)`, masking only clock timestamps.
- `tcp`, `udp`, `icmp` build frames whose payload length is exactly what the caller gives,
  so the history letters (A = no payload, D = payload) are under the test's control.

The switch is started once for the whole PTF run and its group registers are never reset,
so every test uses its own rule ids and addresses; `assert_unused` checks that a group the
test depends on has never been counted by an earlier test.
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from base_test import P4RuntimeTest
from feedback_match import clock_mask, describe
from p4.v1 import p4runtime_pb2
from ptf import testutils
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from controlplane import pipeline_spec as ps
from controlplane.groups import STATS_GROUPS_PER_SLOT
from feedback_header import codec
from feedback_header.records import (
    Collision,
    Collision6,
    CounterReport,
    CounterReport6,
    ThresholdAlert,
    ThresholdAlert6,
)

GROUPS_PER_SLOT = STATS_GROUPS_PER_SLOT  # the default of p4src/include/size.p4
DEVICE_ID = 1  # feedback `config` default action: set_device_id(1)

MONITOR_PORTS = ps.MONITOR_TABLE
SEND_TO_MONITOR = ps.SEND_TO_MONITOR

# outcomes[] indexes (pipeline_spec.STATS_OUTCOMES, OUTCOME_* in P4).
COUNTED, COLLISION, REPORT, ALERT = (
    [o.p4 for o in ps.STATS_OUTCOMES].index(n) for n in ("COUNTED", "COLLISION", "REPORT", "ALERT")
)

ETH_DST = "00:00:00:00:00:0b"
ETH_SRC = "00:00:00:00:00:01"
FULL32 = 0xFFFFFFFF
FULL16 = 0xFFFF
ADDR_ALL = (1 << 128) - 1
"""Group-by mask of a whole address, IPv4 or IPv6 (masks count from the address's first
bit; an IPv4 packet takes the top 32 bits)."""


AnyStatsRecord: TypeAlias = (
    CounterReport | ThresholdAlert | Collision | CounterReport6 | ThresholdAlert6 | Collision6
)


def ip(addr: str) -> int:
    """An IPv4 address as an int."""
    return int(ipaddress.IPv4Address(addr))


def ip6(addr: str) -> int:
    """An IPv6 address as an int."""
    return int(ipaddress.IPv6Address(addr))


def rules_table(slot: int) -> str:
    """P4Info name of slot `slot`'s rule table."""
    return ps.stats_table(slot)


def count_group(slot: int) -> str:
    """P4Info name of slot `slot`'s count_group action."""
    return ps.count_group(slot)


# --------------------------------------------------------------------------- group keys


@dataclass(frozen=True)
class GroupKey:
    """A group's key as stats.p4 builds it: every field already masked by the rule."""

    rule_id: int
    ingress_port: int = 0
    protocol: int = 0
    tcp_flags: int = 0
    src_addr: int = 0
    dst_addr: int = 0
    src_port: int = 0
    dst_port: int = 0
    is_ipv6: bool = False
    """The addresses are IPv6 ones (the switch sets it when the rule groups by one)."""

    def packed(self) -> bytes:
        """The `packed` value stats.p4 hashes, big-endian. IPv4 (144 bits): rule_id ++ 7w0
        ++ ingress_port(9) ++ protocol ++ tcp_flags ++ src ++ dst ++ sport ++ dport; IPv6
        (336 bits): rule_id ++ 1w1 ++ 6w0 ++ ingress_port(9) ++ ... with 128-bit addresses."""
        addr = 128 if self.is_ipv6 else 32
        v = self.rule_id
        for value, width in (
            (int(self.is_ipv6), 1),
            (self.ingress_port, 15),  # 6 zero bits, then the 9-bit port
            (self.protocol, 8),
            (self.tcp_flags, 8),
            (self.src_addr, addr),
            (self.dst_addr, addr),
            (self.src_port, 16),
            (self.dst_port, 16),
        ):
            v = (v << width) | value
        return v.to_bytes(42 if self.is_ipv6 else 18, "big")

    def index(self) -> int:
        """Register index: BMv2's crc32 is zlib's CRC-32 of the key's bytes, taken
        modulo the register size by hash(..., base 0, max GROUPS_PER_SLOT)."""
        return zlib.crc32(self.packed()) % GROUPS_PER_SLOT

    def fields(self) -> dict[str, int]:
        """The key_* fields and rule_id of a record carrying this key."""
        family = "ipv6" if self.is_ipv6 else "ipv4"
        return {
            "key_ingress_port": self.ingress_port,
            "key_ip_proto": self.protocol,
            "key_tcp_flags": self.tcp_flags,
            f"key_{family}_src": self.src_addr,
            f"key_{family}_dst": self.dst_addr,
            "key_l4_src_port": self.src_port,
            "key_l4_dst_port": self.dst_port,
            "rule_id": self.rule_id,
        }


def packet_alert(slot: int, key: GroupKey, value: int, threshold: int) -> ThresholdAlert:
    """THRESHOLD_ALERT (packets) as the switch builds it; interval_start is masked."""
    return (ThresholdAlert6 if key.is_ipv6 else ThresholdAlert)(
        rule_slot=slot,
        threshold_kind=1,
        value=value,
        threshold=threshold,
        interval_start=0,
        **key.fields(),
    )


def byte_alert(slot: int, key: GroupKey, value: int, threshold: int) -> ThresholdAlert:
    """THRESHOLD_ALERT (bytes) as the switch builds it; interval_start is masked."""
    return (ThresholdAlert6 if key.is_ipv6 else ThresholdAlert)(
        rule_slot=slot,
        threshold_kind=2,
        value=value,
        threshold=threshold,
        interval_start=0,
        **key.fields(),
    )


def counter_report(
    slot: int, key: GroupKey, packets: int, nbytes: int, history: str = "", reason: int = 1
) -> CounterReport:
    """COUNTER_REPORT (reason 1 INTERVAL, 2 EVICTED); the interval times are masked."""
    return (CounterReport6 if key.is_ipv6 else CounterReport)(
        rule_slot=slot,
        report_reason=reason,
        packets=packets,
        bytes=nbytes,
        interval_start=0,
        interval_end=0,
        history=codec.history_value(history),
        **key.fields(),
    )


def collision(slot: int, key: GroupKey) -> Collision:
    """COLLISION record for a packet whose `key` found its index taken."""
    cls = Collision6 if key.is_ipv6 else Collision
    return cls(rule_slot=slot, hash_index=key.index(), **key.fields())


# --------------------------------------------------------------------------- frames


def _l2() -> Ether:
    return Ether(dst=ETH_DST, src=ETH_SRC)


def tcp(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    flags: str,
    payload: bytes = b"",
    seq: int = 0,
    ack: int = 0,
) -> bytes:
    """An Ethernet/IPv4/TCP frame carrying exactly `payload` (no padding)."""
    l4 = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
    pkt = _l2() / IP(src=src, dst=dst) / l4
    return bytes(pkt / payload) if payload else bytes(pkt)


def udp(
    src: str, dst: str, sport: int, dport: int, payload: bytes = b"", **ip_fields: Any
) -> bytes:
    """An Ethernet/IPv4/UDP frame; `ip_fields` go to the IP header (flags, frag, ...)."""
    l4 = UDP(sport=sport, dport=dport)
    return bytes(_l2() / IP(src=src, dst=dst, **ip_fields) / l4 / payload)


def icmp(src: str, dst: str, payload: bytes = b"") -> bytes:
    """An Ethernet/IPv4/ICMP echo request."""
    return bytes(_l2() / IP(src=src, dst=dst) / ICMP() / payload)


def ip_fragment(src: str, dst: str, proto: int, frag: int, payload: bytes, mf: bool) -> bytes:
    """A later IPv4 fragment (offset `frag` in 8-byte units): no L4 header of its own."""
    flags = "MF" if mf else 0
    return bytes(_l2() / IP(src=src, dst=dst, proto=proto, frag=frag, flags=flags) / payload)


def tcp6(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    flags: str,
    payload: bytes = b"",
    seq: int = 0,
    ack: int = 0,
    ext: Sequence[Packet] = (),
) -> bytes:
    """An Ethernet/IPv6/TCP frame carrying exactly `payload`, after the extension
    headers `ext` (Scapy IPv6ExtHdr* layers, in order)."""
    pkt: Packet = _l2() / IPv6(src=src, dst=dst, hlim=64)
    for hdr in ext:
        pkt = pkt / hdr
    pkt = pkt / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
    return bytes(pkt / payload) if payload else bytes(pkt)


def udp6(
    src: str, dst: str, sport: int, dport: int, payload: bytes = b"", ext: Sequence[Packet] = ()
) -> bytes:
    """An Ethernet/IPv6/UDP frame after the extension headers `ext`."""
    pkt: Packet = _l2() / IPv6(src=src, dst=dst, hlim=64)
    for hdr in ext:
        pkt = pkt / hdr
    return bytes(pkt / UDP(sport=sport, dport=dport) / payload)


def icmp6(src: str, dst: str, payload: bytes = b"") -> bytes:
    """An Ethernet/IPv6/ICMPv6 echo request."""
    return bytes(_l2() / IPv6(src=src, dst=dst) / ICMPv6EchoRequest(data=payload))


def expected_frame(frame: bytes, records: Sequence[AnyStatsRecord]) -> bytes:
    """What the monitor port should send for `frame`: unchanged without records, else the
    frame with a feedback header carrying `records` (timestamps 0, masked when compared)."""
    if not records:
        return frame
    return codec.insert(frame, list(records), device_id=DEVICE_ID)


# --------------------------------------------------------------------------- base test


class StatsTest(P4RuntimeTest):
    """P4RuntimeTest with stats rules, counter reads and exact frame checks."""

    def add_monitor(self, in_port: int = 0, out_port: int = 1) -> None:
        """Traffic entering `in_port` goes to the monitor on `out_port`."""
        self.insert_table_entry(
            MONITOR_PORTS,
            {ps.MONITOR_KEY: in_port},
            SEND_TO_MONITOR,
            {ps.SEND_TO_MONITOR_PORT: out_port},
        )

    def add_rule(
        self,
        slot: int,
        match: dict[str, Any],
        rule_id: int,
        priority: int = 10,
        **params: int,
    ) -> p4runtime_pb2.TableEntry:
        """Insert a stats rule; action parameters not given are 0 (not grouped, off)."""
        values: dict[str, int | str | bytes] = dict.fromkeys(ps.COUNT_GROUP_PARAMS, 0)
        values["rule_id"] = rule_id
        unknown = set(params) - set(values)
        if unknown:
            raise ValueError(f"count_group has no parameters {sorted(unknown)}")
        values.update(params)
        return self.insert_table_entry(
            rules_table(slot), match, count_group(slot), values, priority=priority
        )

    # ---- counters

    def _read(self, entity: p4runtime_pb2.Entity) -> list[p4runtime_pb2.Entity]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.add().CopyFrom(entity)
        return [e for r in self.stub.Read(req, timeout=10) for e in r.entities]

    def read_counter(self, name: str, index: int) -> tuple[int, int]:
        """(packets, bytes) of indexed counter `name` at `index`."""
        ent = p4runtime_pb2.Entity()
        ent.counter_entry.counter_id = self.p4info.id("counters", name)
        ent.counter_entry.index.index = index
        got = self._read(ent)
        self.assertEqual(len(got), 1, f"reading {name}[{index}] returned {len(got)} entries")
        data = got[0].counter_entry.data
        return int(data.packet_count), int(data.byte_count)

    def rule_hits(self, entry: p4runtime_pb2.TableEntry) -> tuple[int, int]:
        """(packets, bytes) of the direct counter `rule_hits` of a rule entry."""
        return self.direct_counter(entry)

    def group_totals(self, slot: int, key: GroupKey) -> tuple[int, int]:
        """(packets, bytes) counted for `key`'s index in slot `slot` (never reset)."""
        return self.read_counter(ps.group_totals(slot), key.index())

    def outcomes(self, slot: int) -> list[int]:
        """Packets per outcome of slot `slot`: counted, collision, report, alert."""
        name = ps.stats_outcomes(slot)
        return [self.read_counter(name, i)[0] for i in range(len(ps.STATS_OUTCOMES))]

    def outcome_deltas(self, slot: int, before: Sequence[int]) -> list[int]:
        """outcomes(slot) minus `before` (the counters are shared by every test)."""
        return [now - then for now, then in zip(self.outcomes(slot), before, strict=True)]

    def assert_unused(self, slot: int, *keys: GroupKey) -> None:
        """Fail unless no earlier packet was counted at these keys' indexes; a used index
        would still hold an older group and change the records this test expects."""
        for key in keys:
            totals = self.group_totals(slot, key)
            self.assertEqual(
                totals,
                (0, 0),
                f"precondition: slot {slot} index {key.index()} ({key}) was already used by"
                " an earlier test; give this test other addresses or rule ids",
            )

    # ---- packets

    def verify_frame(self, port: int, expected: bytes, timeout: float = 2.0) -> bytes:
        """The next frame on `port`, which must equal `expected` except for timestamps."""
        result = testutils.dp_poll(self, device_number=0, port_number=port, timeout=timeout)
        if not isinstance(result, self.dataplane.PollSuccess):
            self.fail(f"no frame on port {port} within {timeout}s; expected {describe(expected)}")
        got = bytes(result.packet)
        if not clock_mask(expected).pkt_match(got):
            self.fail(
                f"port {port}: wrong frame (timestamps masked)\n"
                f"  got      {describe(got)}\n  expected {describe(expected)}"
            )
        return got

    def send_expect(
        self,
        frame: bytes,
        records: Sequence[AnyStatsRecord] = (),
        in_port: int = 0,
        out_port: int = 1,
    ) -> bytes:
        """Send `frame` into `in_port`; the monitor port must emit it with exactly
        `records` in its feedback header (or unchanged if none). Returns what arrived."""
        testutils.send_packet(self, in_port, frame)
        return self.verify_frame(out_port, expected_frame(frame, records))
