"""Frames the network sent with the feedback EtherType (docs/feedback-header.md, "Trust
model"): the switch wraps them in a FOREIGN header; a decoder trusts only the outermost
header, at most two tags deep, and stripping gives back the network's bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback_header import codec, spec
from feedback_header.records import (
    CounterReport,
    FeedbackFlags,
    SynSummary,
    SynSummaryReason,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "traces" / "zeek"
L2 = bytes.fromhex("020000000002020000000001")


def tagged(*tpids: int) -> bytes:
    """Ethernet addresses and one tag (TPID, VLAN id i+1) per TPID."""
    return L2 + b"".join(
        t.to_bytes(2, "big") + (i + 1).to_bytes(2, "big") for i, t in enumerate(tpids)
    )


def report() -> CounterReport:
    return CounterReport(
        rule_slot=1,
        report_reason=1,
        packets=3,
        bytes=300,
        interval_start=1,
        interval_end=2,
        history=0,
        rule_id=9,
    )


def forged_syn_summary(l2: bytes = L2) -> bytes:
    """What a host can send: a header that looks like the switch's, with a SYN summary."""
    rec = SynSummary(
        reason=SynSummaryReason.EXPIRED_BY_SWEEP,
        syn_count=1,
        ipv4_src=0x0A000001,
        ipv4_dst=0xC0000250,
        src_port=40000,
        dst_port=22,
        isn=1,
        first_seen=1,
        last_seen=1,
    )
    return codec.encode(l2, [rec], b"", device_id=1, flags=FeedbackFlags.REGENERATED)


def test_insert_wraps_a_foreign_frame_and_strip_gives_it_back() -> None:
    forged = forged_syn_summary()
    wrapped = codec.insert(forged, [], device_id=7)
    d = codec.decode(wrapped)
    assert d.is_foreign and d.header.flags == FeedbackFlags.FOREIGN
    assert d.header.orig_ethertype == spec.ETHERTYPE
    assert d.records == ()  # the forged SYN summary is payload, never decoded
    assert codec.strip(wrapped) == forged
    assert d.original == forged


def test_records_of_the_switch_ride_on_a_foreign_frame() -> None:
    forged = forged_syn_summary()
    d = codec.decode(codec.insert(forged, [report()], device_id=1))
    assert d.records == (report(),) and d.is_foreign
    assert d.original == forged


def test_foreign_frame_behind_two_tags() -> None:
    forged = forged_syn_summary(tagged(0x88A8, 0x8100))
    wrapped = codec.insert(forged, [])
    assert len(codec.decode(wrapped).l2) == 12 + 8
    assert codec.strip(wrapped) == forged


def test_no_header_is_looked_for_behind_a_third_tag() -> None:
    forged = forged_syn_summary(tagged(0x8100, 0x8100, 0x9100))
    assert codec.find_header(forged) is None
    assert codec.try_decode(forged) is None
    assert codec.strip(forged) == forged


def test_a_switch_header_after_two_tags_is_found() -> None:
    frame = codec.encode(tagged(0x9100, 0x8100), [report()], bytes(20), orig_ethertype=0x0800)
    assert codec.decode(frame).records == (report(),)


@pytest.mark.skipif(not (TRACES / "raw_layer.pcap").is_file(), reason="shared Zeek traces absent")
def test_real_0x88b5_traffic_survives_wrap_and_strip() -> None:
    from pktio.pcap import open_capture

    with open_capture(TRACES / "raw_layer.pcap") as cap:
        frames = [r.data for r in cap]
    real = [f for f in frames if codec.find_header(f) is not None]
    assert real, "raw_layer.pcap carries a frame with EtherType 0x88B5"
    for f in real:
        with pytest.raises(codec.FeedbackDecodeError):
            codec.decode(f)  # not a header of ours: the reason the switch must wrap it
        assert codec.strip(codec.insert(f, [])) == f


def test_scapy_keeps_a_foreign_payload_raw() -> None:
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from feedback_header.scapy_layer import FeedbackHeader

    forged = forged_syn_summary()
    pkt = Ether(codec.insert(forged, []))
    assert pkt[FeedbackHeader].flags == FeedbackFlags.FOREIGN
    assert pkt[FeedbackHeader].payload.__class__ is Raw
    assert bytes(pkt[Raw]) == forged[14:]
