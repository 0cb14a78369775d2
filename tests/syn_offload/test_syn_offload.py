"""SYN offload (p4src/include/control/syn_offload.p4) on the engine, in process:
exact output bytes, order on the monitor port, and the outcome counters."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from feedback_header import codec
from feedback_header.records import (
    FeedbackFlags,
    NotOffloaded,
    NotOffloadedReason,
    Stage,
    SynSummary,
    SynSummaryReason,
)
from testbed.nids_switch import CPU_PORT, NidsSwitch

MONITOR = 1
SLOTS = 1024
TIMEOUT = 5_000_000
T0 = 1_000_000_000

A, B = "10.0.0.1", "192.0.2.80"
MAC_A, MAC_B = "00:00:00:00:00:0a", "00:00:00:00:00:0b"

# outcome counter indexes (syn_offload.p4)
SEEN, STORED, RETRANSMITTED, PASSED, REGEN_REPLY, REGEN_TRAFFIC, REGEN_SWEEP, SWEEPS = range(8)


def rules(syn_offload: str = "", stats: str = "stats: []\n", ingress: str = "[0, 2]") -> str:
    """A rules file: ports `ingress` monitored on MONITOR, then the given sections (no
    stats rules unless given: `stats: []`, since a file without the section is refused)."""
    return f"monitor:\n  port: {MONITOR}\n  ingress_ports: {ingress}\n{syn_offload}{stats}"


def syn_section(slots: int = SLOTS, timeout_us: int = TIMEOUT) -> str:
    return f"syn_offload:\n  slots: {slots}\n  timeout: {timeout_us}us\n"


def ip2int(a: str) -> int:
    return int.from_bytes(bytes(int(x) for x in a.split(".")), "big")


def int2ip(v: int) -> str:
    return ".".join(str(b) for b in v.to_bytes(4, "big"))


def slot_of(src: str, dst: str, sport: int, dport: int, slots: int = SLOTS) -> int:
    """The record slot: crc32 of the connection, lower endpoint first, modulo slots."""
    s, d = ip2int(src), ip2int(dst)
    if (s, sport) > (d, dport):
        s, d, sport, dport = d, s, dport, sport
    key = s.to_bytes(4, "big") + d.to_bytes(4, "big") + sport.to_bytes(2, "big")
    return zlib.crc32(key + dport.to_bytes(2, "big")) % slots


def syn(
    src: str = A, dst: str = B, sport: int = 40000, dport: int = 80, seq: int = 1000, **kw: object
) -> bytes:
    opts = kw.pop("options", [("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])
    payload = kw.pop("payload", b"")
    ip_opts = kw.pop("ip_options", [])
    pkt = (
        Ether(src=MAC_A, dst=MAC_B)
        / IP(src=src, dst=dst, ttl=57, id=4242, options=ip_opts)
        / TCP(sport=sport, dport=dport, flags="S", seq=seq, window=29200, options=opts)
    )
    if payload:
        pkt = pkt / payload
    return bytes(pkt)


def reply(flags: str, src: str = B, dst: str = A, sport: int = 80, dport: int = 40000) -> bytes:
    return bytes(
        Ether(src=MAC_B, dst=MAC_A)
        / IP(src=src, dst=dst, ttl=60)
        / TCP(sport=sport, dport=dport, flags=flags, seq=777, ack=1001, window=1024)
    )


def regenerated(
    summary: SynSummary,
    at: int,
    mac_src: str = MAC_A,
    mac_dst: str = MAC_B,
    vlan: int | None = None,
) -> bytes:
    """The SYN the switch must send: stored tuple and ISN, no options, valid checksums."""
    eth = Ether(src=mac_src, dst=mac_dst)
    l2 = eth / Dot1Q(vlan=vlan) if vlan is not None else eth
    pkt = (
        l2
        / IP(
            src=int2ip(summary.ipv4_src),
            dst=int2ip(summary.ipv4_dst),
            ttl=64,
            id=0,
            flags="DF",
            tos=0,
        )
        / TCP(
            sport=summary.src_port,
            dport=summary.dst_port,
            seq=summary.isn,
            ack=0,
            flags="S",
            window=65535,
        )
    )
    return codec.insert(
        bytes(pkt), [summary], device_id=1, timestamp=at, flags=FeedbackFlags.REGENERATED
    )


def summary(
    reason: SynSummaryReason,
    count: int = 1,
    first: int = T0,
    last: int | None = None,
    src: str = A,
    dst: str = B,
    sport: int = 40000,
    dport: int = 80,
    isn: int = 1000,
) -> SynSummary:
    return SynSummary(
        reason=reason,
        syn_count=count,
        ipv4_src=ip2int(src),
        ipv4_dst=ip2int(dst),
        src_port=sport,
        dst_port=dport,
        isn=isn,
        first_seen=first,
        last_seen=first if last is None else last,
    )


def not_offloaded(pkt: bytes, reason: NotOffloadedReason, at: int, detail: int = 0) -> bytes:
    rec = NotOffloaded(stage=Stage.SYN_OFFLOAD, reason=reason, detail=detail)
    return codec.insert(pkt, [rec], device_id=1, timestamp=at)


@pytest.fixture
def sw() -> Iterator[NidsSwitch]:
    with NidsSwitch() as s:
        s.install_text(rules(syn_section()))
        yield s


def test_disabled_stage_forwards_syns_untouched() -> None:
    s = NidsSwitch()
    s.install_text(rules(ingress="[0]"))
    assert s.run(0, syn(), T0) == [(MONITOR, syn())]
    assert s.outcomes() == [0] * 8


def test_syn_then_synack_regenerates_syn_first(sw: NidsSwitch) -> None:
    assert sw.run(0, syn(), T0) == []
    out = sw.run(2, reply("SA"), T0 + 1500)
    want = regenerated(
        summary(SynSummaryReason.REGENERATED_BEFORE_RESPONSE), T0 + 1500, MAC_A, MAC_B
    )
    assert out == [(MONITOR, want), (MONITOR, reply("SA"))]
    # checksums of the regenerated SYN verify (scapy recomputes them on show2)
    ip = Ether(codec.strip(want))[IP]
    assert IP(bytes(ip)).chksum == ip.chksum
    # the record is freed: the rest of the connection flows untouched
    assert sw.run(0, reply("A", src=A, dst=B, sport=40000, dport=80), T0 + 2000) == [
        (MONITOR, reply("A", src=A, dst=B, sport=40000, dport=80))
    ]
    assert sw.outcomes() == [1, 1, 0, 0, 1, 0, 0, 0]


def test_regenerated_syn_checksums_are_valid(sw: NidsSwitch) -> None:
    sw.run(0, syn(seq=0xDEADBEEF), T0)
    regen = Ether(codec.strip(sw.run(2, reply("SA"), T0 + 1)[0][1]))
    ip_sum, tcp_sum = regen[IP].chksum, regen[TCP].chksum
    del regen[IP].chksum
    del regen[TCP].chksum
    rebuilt = Ether(bytes(regen))
    assert (rebuilt[IP].chksum, rebuilt[TCP].chksum) == (ip_sum, tcp_sum)
    assert regen[TCP].seq == 0xDEADBEEF


def test_syn_then_rst(sw: NidsSwitch) -> None:
    sw.run(0, syn(), T0)
    out = sw.run(2, reply("R"), T0 + 300)
    want = regenerated(summary(SynSummaryReason.REGENERATED_BEFORE_RESPONSE), T0 + 300)
    assert out == [(MONITOR, want), (MONITOR, reply("R"))]


def test_retransmitted_syns_update_the_record(sw: NidsSwitch) -> None:
    for dt in (0, 1_000_000, 3_000_000):
        assert sw.run(0, syn(), T0 + dt) == []
    out = sw.run(2, reply("RA"), T0 + 3_200_000)
    s = summary(SynSummaryReason.REGENERATED_BEFORE_RESPONSE, count=3, last=T0 + 3_000_000)
    assert out[0] == (MONITOR, regenerated(s, T0 + 3_200_000))
    assert sw.outcomes()[:5] == [3, 1, 2, 0, 1]


def test_expiry_by_sweep(sw: NidsSwitch) -> None:
    sw.run(0, syn(), T0)
    idx = slot_of(A, B, 40000, 80)
    assert sw.sweep(idx, MONITOR, T0 + TIMEOUT - 1) == []
    out = sw.sweep(idx, MONITOR, T0 + TIMEOUT)
    # the sweep packet's own (zero) MACs; ethertype rewritten to IPv4
    want = regenerated(
        summary(SynSummaryReason.EXPIRED_BY_SWEEP),
        T0 + TIMEOUT,
        "00:00:00:00:00:00",
        "00:00:00:00:00:00",
    )
    assert out == [(MONITOR, want)]
    # freed: a late SYN-ACK now passes alone, a second sweep finds nothing
    assert sw.run(2, reply("SA"), T0 + TIMEOUT + 1) == [(MONITOR, reply("SA"))]
    assert sw.sweep(idx, MONITOR, T0 + 2 * TIMEOUT) == []
    assert sw.outcomes() == [1, 1, 0, 0, 0, 0, 1, 3]


def test_sweep_of_an_empty_or_out_of_range_slot_emits_nothing(sw: NidsSwitch) -> None:
    assert sw.sweep(3, MONITOR, T0) == []
    assert sw.sweep(SLOTS + 5, MONITOR, T0) == []


def test_sweep_ethertype_from_a_network_port_is_traffic(sw: NidsSwitch) -> None:
    from controlplane.syn_offload import sweep_packet

    frame = sweep_packet(1, MONITOR)  # without packet_out: as a host could send it
    assert sw.run(0, frame, T0) == [(MONITOR, frame)]


def _colliding(n: int, slots: int = SLOTS) -> list[int]:
    """Source ports of A->B:80 connections that share the slot of port 40000."""
    want = slot_of(A, B, 40000, 80, slots)
    ports = [p for p in range(40001, 65535) if slot_of(A, B, p, 80, slots) == want]
    assert len(ports) >= n
    return ports[:n]


def test_slot_collision_passes_the_syn_marked(sw: NidsSwitch) -> None:
    other = _colliding(1)[0]
    sw.run(0, syn(), T0)
    out = sw.run(0, syn(sport=other), T0 + 10)
    want = not_offloaded(
        syn(sport=other), NotOffloadedReason.SLOT_BUSY, T0 + 10, slot_of(A, B, 40000, 80)
    )
    assert out == [(MONITOR, want)]
    assert sw.outcomes()[:4] == [2, 1, 0, 1]


def test_expiry_by_traffic_summarizes_the_old_and_holds_the_new(sw: NidsSwitch) -> None:
    other = _colliding(1)[0]
    sw.run(0, syn(), T0)
    out = sw.run(0, syn(sport=other, seq=5), T0 + TIMEOUT)
    assert out == [
        (MONITOR, regenerated(summary(SynSummaryReason.EXPIRED_BY_TRAFFIC), T0 + TIMEOUT))
    ]
    out = sw.run(2, reply("SA", dport=other), T0 + TIMEOUT + 7)
    s = summary(
        SynSummaryReason.REGENERATED_BEFORE_RESPONSE, first=T0 + TIMEOUT, sport=other, isn=5
    )
    assert out == [(MONITOR, regenerated(s, T0 + TIMEOUT + 7)), (MONITOR, reply("SA", dport=other))]


def test_late_retransmission_starts_a_new_attempt(sw: NidsSwitch) -> None:
    sw.run(0, syn(), T0)
    out = sw.run(0, syn(), T0 + TIMEOUT + 1)
    assert out == [
        (MONITOR, regenerated(summary(SynSummaryReason.EXPIRED_BY_TRAFFIC), T0 + TIMEOUT + 1))
    ]
    assert sw.outcomes()[:4] == [2, 2, 0, 0]


def test_non_syn_traffic_expires_a_record_and_passes(sw: NidsSwitch) -> None:
    other = _colliding(1)[0]
    sw.run(0, syn(), T0)
    ack = reply("A", src=A, dst=B, sport=other, dport=80)
    out = sw.run(0, ack, T0 + TIMEOUT)
    # Ethernet addresses of the triggering packet (not swapped: not the responder)
    s = summary(SynSummaryReason.EXPIRED_BY_TRAFFIC)
    assert out == [
        (MONITOR, regenerated(s, T0 + TIMEOUT, mac_src=MAC_B, mac_dst=MAC_A)),
        (MONITOR, ack),
    ]


def test_tcp_fast_open_syn_is_passed_through(sw: NidsSwitch) -> None:
    tfo = syn(payload=b"GET / HTTP/1.1\r\n\r\n")
    assert sw.run(0, tfo, T0) == [
        (MONITOR, not_offloaded(tfo, NotOffloadedReason.SYN_WITH_PAYLOAD, T0))
    ]
    assert sw.outcomes()[:4] == [1, 0, 0, 1]


def test_syn_with_ip_options_is_passed_through_with_its_options(sw: NidsSwitch) -> None:
    from scapy.layers.inet import IPOption_RR

    pkt = syn(ip_options=[IPOption_RR(routers=["1.2.3.4", "5.6.7.8"])])
    assert sw.run(0, pkt, T0) == [(MONITOR, not_offloaded(pkt, NotOffloadedReason.IP_OPTIONS, T0))]


def test_ip_options_survive_forwarding() -> None:
    from scapy.layers.inet import IPOption_RR

    s = NidsSwitch()
    s.install_text(rules(ingress="[0]"))
    pkt = bytes(
        Ether() / IP(src=A, dst=B, options=[IPOption_RR(routers=["9.9.9.9"] * 9)]) / UDP() / b"x"
    )
    assert s.run(0, pkt, T0) == [(MONITOR, pkt)]


def test_simultaneous_open(sw: NidsSwitch) -> None:
    sw.run(0, syn(), T0)
    their_syn = bytes(
        Ether(src=MAC_B, dst=MAC_A)
        / IP(src=B, dst=A)
        / TCP(sport=80, dport=40000, flags="S", seq=9)
    )
    out = sw.run(2, their_syn, T0 + 50)
    want = regenerated(summary(SynSummaryReason.REGENERATED_BEFORE_RESPONSE), T0 + 50)
    marked = not_offloaded(their_syn, NotOffloadedReason.SIMULTANEOUS_OPEN, T0 + 50)
    assert out == [(MONITOR, want), (MONITOR, marked)]
    assert sw.outcomes()[:5] == [2, 1, 0, 1, 1]


def test_regenerated_syn_keeps_the_vlan_tag(sw: NidsSwitch) -> None:
    tagged_syn = bytes(
        Ether(src=MAC_A, dst=MAC_B)
        / Dot1Q(vlan=7)
        / IP(src=A, dst=B)
        / TCP(sport=1, dport=2, seq=3)
    )
    sw.run(0, tagged_syn, T0)
    synack = bytes(
        Ether(src=MAC_B, dst=MAC_A)
        / Dot1Q(vlan=7)
        / IP(src=B, dst=A)
        / TCP(sport=2, dport=1, flags="SA")
    )
    out = sw.run(2, synack, T0 + 1)
    s = summary(SynSummaryReason.REGENERATED_BEFORE_RESPONSE, sport=1, dport=2, isn=3)
    assert out == [(MONITOR, regenerated(s, T0 + 1, vlan=7)), (MONITOR, synack)]


def test_held_syn_still_delivers_its_stats_records(sw: NidsSwitch) -> None:
    """Stats runs first: an alert attached to a SYN the stage holds leaves on an
    otherwise empty packet (orig EtherType none); the SYN itself stays held."""
    from feedback_header.records import ThresholdAlert, ThresholdKind

    stats = (
        "stats:\n  - name: tcp-alert\n    match: {protocol: tcp}\n"
        "    thresholds: {packets: 1}\n    id: 9\n    slot: 0\n"
    )
    assert sw.install_text(rules(syn_section(), stats)) == 1  # one entry added, nothing else
    out = sw.run(0, syn(), T0)
    alert = ThresholdAlert(
        rule_slot=0,
        threshold_kind=ThresholdKind.PACKETS,
        value=1,
        threshold=1,
        interval_start=T0,
        rule_id=9,
    )
    l2 = bytes(Ether(src=MAC_A, dst=MAC_B))[:12]
    assert out == [(MONITOR, codec.encode(l2, [alert], device_id=1, timestamp=T0))]
    assert codec.strip(out[0][1]) == b""
    # the SYN is held as usual and regenerated before the reply
    assert sw.outcomes()[:2] == [1, 1]
    assert sw.run(2, reply("SA"), T0 + 5)[1] == (MONITOR, reply("SA"))


def test_flood_of_spoofed_syns_adds_up_exactly() -> None:
    """20,000 spoofed SYNs (some retransmitted) into 256 slots: every SYN leaves
    exactly once, as a regenerated SYN (carrying its retransmissions in syn_count)
    or passed through, and the outcome counters agree with what left."""
    slots, timeout = 256, 2_000_000
    s = NidsSwitch()
    s.install_text(rules(syn_section(slots, timeout), ingress="[0]"))
    rng = random.Random(7)
    sent = 0
    outputs: list[bytes] = []
    now = T0
    recent: list[bytes] = []
    for i in range(20_000):
        now += 150  # ~6,700 SYN/s
        if recent and rng.random() < 0.1:
            pkt = rng.choice(recent)  # a retransmission of a recent attempt
        else:
            src = f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            pkt = syn(src=src, dst="10.1.0.1", sport=rng.randrange(1024, 65535), dport=22, seq=i)
            recent = [*recent, pkt][-50:]
        sent += 1
        outputs += [d for _, d in s.run(0, pkt, now)]
        if i % 10 == 0:  # sweeps interleaved, one slot each, round robin
            outputs += [d for _, d in s.sweep((i // 10) % slots, MONITOR, now)]
    now += timeout
    for idx in range(slots):  # final sweep after the timeout empties the table
        outputs += [d for _, d in s.sweep(idx, MONITOR, now + idx)]

    summaries = passed = 0
    for frame in outputs:
        dec = codec.decode(frame)
        for rec in dec.records:
            if isinstance(rec, SynSummary):
                summaries += rec.syn_count
            else:
                assert isinstance(rec, NotOffloaded)
                assert rec.reason == NotOffloadedReason.SLOT_BUSY
                passed += 1
    o = s.outcomes()
    assert summaries + passed == sent == o[SEEN]
    assert o[SEEN] == o[STORED] + o[RETRANSMITTED] + o[PASSED]
    assert o[STORED] == o[REGEN_REPLY] + o[REGEN_TRAFFIC] + o[REGEN_SWEEP]
    assert o[PASSED] == passed and o[PASSED] > 0 and o[REGEN_SWEEP] > 0
    assert o[SWEEPS] == 2000 + slots
    # the sweep-port does not leak: nothing else reached the monitor
    assert len(outputs) == o[PASSED] + o[STORED]
    assert CPU_PORT not in {p for p, _ in s.run(0, syn(), now)}
