"""The TCP flags of a held SYN (docs/syn-offload.md, "The regenerated SYN"): the record
keeps CWR, ECE and AE, so an ECN-setup SYN (0xC2) or an AccECN SYN comes out as it went
in; a SYN with a flag the record cannot keep (URG, PSH, reserved bits) is passed through
marked TCP_FLAGS; the SYN count saturates at 31."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from test_syn_offload import MONITOR, T0, not_offloaded, reply, rules, summary, syn, syn_section

from controlplane import pipeline_spec as ps
from feedback_header import codec
from feedback_header.records import NotOffloadedReason, SynSummaryReason
from testbed.nids_switch import NidsSwitch

SEEN, STORED, RETRANSMITTED, PASSED = (
    [o.p4 for o in ps.SYN_OUTCOMES].index(n) for n in ("SEEN", "STORED", "RETRANSMITTED", "PASSED")
)


@pytest.fixture
def sw() -> Iterator[NidsSwitch]:
    with NidsSwitch() as s:
        s.install_text(rules(syn_section(1024, 5_000_000)))
        yield s


def flagged_syn(flags: int, reserved: int = 0) -> bytes:
    """syn() with the 9-bit flags (AE = 0x100) and the 3 reserved bits replaced."""
    pkt = Ether(syn())
    pkt[TCP].flags = flags
    pkt[TCP].reserved = reserved
    del pkt[TCP].chksum
    return bytes(pkt)


def regenerated_tcp(sw: NidsSwitch) -> TCP:
    out = sw.run(2, reply("SA"), T0 + 100)
    assert len(out) == 2
    d = codec.decode(out[0][1])
    assert d.records == (summary(SynSummaryReason.REGENERATED_BEFORE_RESPONSE, first=T0, last=T0),)
    tcp: TCP = Ether(codec.strip(out[0][1]))[TCP]
    return tcp


@pytest.mark.parametrize("flags", [0x02, 0xC2, 0x42, 0x82, 0x1C2])
def test_ecn_flags_survive_offload(sw: NidsSwitch, flags: int) -> None:
    assert sw.run(0, flagged_syn(flags), T0) == []
    tcp = regenerated_tcp(sw)
    assert (int(tcp.flags), tcp.reserved) == (flags, 0)
    assert [sw.outcomes()[i] for i in (SEEN, STORED, PASSED)] == [1, 1, 0]


def test_regenerated_checksum_covers_the_flags(sw: NidsSwitch) -> None:
    sw.run(0, flagged_syn(0x1C2), T0)
    out = sw.run(2, reply("SA"), T0 + 100)
    pkt = Ether(codec.strip(out[0][1]))
    got = pkt[TCP].chksum
    del pkt[TCP].chksum
    assert Ether(bytes(pkt))[TCP].chksum == got
    assert pkt[IP].len == 40


@pytest.mark.parametrize(
    ("flags", "reserved"), [(0x0A, 0), (0x22, 0), (0x1EA, 0), (0x02, 1), (0xC2, 4)]
)
def test_syn_with_flags_the_record_cannot_keep_is_passed(
    sw: NidsSwitch, flags: int, reserved: int
) -> None:
    pkt = flagged_syn(flags, reserved)
    assert sw.run(0, pkt, T0) == [(MONITOR, not_offloaded(pkt, NotOffloadedReason.TCP_FLAGS, T0))]
    assert [sw.outcomes()[i] for i in (SEEN, STORED, PASSED)] == [1, 0, 1]


def test_syn_count_saturates_at_31(sw: NidsSwitch) -> None:
    for i in range(40):
        assert sw.run(0, syn(), T0 + i) == []
    out = sw.run(2, reply("SA"), T0 + 100)
    d = codec.decode(out[0][1])
    s = summary(SynSummaryReason.REGENERATED_BEFORE_RESPONSE, count=31, last=T0 + 39)
    assert d.records == (s,)
    assert sw.outcomes()[RETRANSMITTED] == 39


def test_retransmission_keeps_the_first_syns_flags(sw: NidsSwitch) -> None:
    sw.run(0, flagged_syn(0xC2), T0)
    sw.run(0, flagged_syn(0x02), T0 + 1_000_000)  # RFC 3168 fallback: no ECE/CWR
    assert int(regenerated_tcp_last(sw)) == 0xC2


def regenerated_tcp_last(sw: NidsSwitch) -> int:
    out = sw.run(2, reply("SA"), T0 + 1_000_100)
    return int(Ether(codec.strip(out[0][1]))[TCP].flags)
