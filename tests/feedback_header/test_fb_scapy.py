"""Scapy layer: builds the codec's bytes and dissects golden frames to the same values."""

from __future__ import annotations

import ipaddress
import random

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Padding, Raw

from feedback_header import codec, spec
from feedback_header.golden_vectors import load
from feedback_header.records import RECORD_TYPES, Record, UnknownRecord
from feedback_header.scapy_layer import TLV_CLASSES, FBUnknownTLV, FeedbackHeader

GOOD, _ = load()
GOOD_IDS = [v.name for v in GOOD]


def _scapy_tlv(rec: Record | UnknownRecord) -> object:
    if isinstance(rec, UnknownRecord):
        return FBUnknownTLV(tlv_type=rec.type_code, value=rec.value)
    t = spec.TLV_BY_CODE[rec.TYPE]
    kwargs: dict[str, object] = {}
    for f in t.value_fields:
        value = getattr(rec, f.name)
        if f.fmt in ("ipv4", "ipv6"):
            family = ipaddress.IPv4Address if f.fmt == "ipv4" else ipaddress.IPv6Address
            value = str(family(value))
        kwargs[f.name] = value
    return TLV_CLASSES[rec.TYPE](**kwargs)


@pytest.mark.parametrize("v", GOOD, ids=GOOD_IDS)
def test_scapy_builds_codec_bytes(v) -> None:  # type: ignore[no-untyped-def]
    d = codec.decode(v.frame)
    h = d.header
    fb = FeedbackHeader(
        flags=h.flags,
        device_id=h.device_id,
        timestamp=h.timestamp,
        orig_ethertype=h.orig_ethertype,
        tlvs=[_scapy_tlv(r) for r in d.records],
    )
    built = d.l2 + b"\x88\xb5" + bytes(fb) + d.payload
    assert built == v.frame


@pytest.mark.parametrize("v", GOOD, ids=GOOD_IDS)
def test_scapy_dissects_golden(v) -> None:  # type: ignore[no-untyped-def]
    pkt = Ether(v.frame)
    fb = pkt[FeedbackHeader]
    assert fb.length == v.header["length"]
    assert fb.tlv_count == v.header["tlv_count"]
    assert fb.device_id == v.header["device_id"]
    assert fb.timestamp == v.header["timestamp"]
    d = codec.decode(v.frame)
    assert len(fb.tlvs) == len(d.records)
    for tlv, rec in zip(fb.tlvs, d.records, strict=True):
        if isinstance(rec, UnknownRecord):
            assert isinstance(tlv, FBUnknownTLV)
            assert (tlv.tlv_type, bytes(tlv.value)) == (rec.type_code, rec.value)
            continue
        assert type(tlv) is TLV_CLASSES[rec.TYPE]
        for f in spec.TLV_BY_CODE[rec.TYPE].value_fields:
            got = tlv.getfieldval(f.name)
            if f.fmt == "ipv4":
                got = int.from_bytes(bytes(int(x) for x in got.split(".")), "big")
            if f.fmt == "ipv6":
                got = int(ipaddress.IPv6Address(got))
            assert int(got) == getattr(rec, f.name), f.name
    assert bytes(pkt) == v.frame


def test_payload_dispatch_on_orig_ethertype() -> None:
    by_name = {v.name: Ether(v.frame) for v in GOOD}
    assert by_name["counter_report_on_tcp_syn"][FeedbackHeader].payload.__class__ is IP
    assert TCP in by_name["counter_report_on_tcp_syn"]
    assert IPv6 in by_name["qinq_unknown_tlv_ipv6"]
    assert ARP in by_name["arp_with_collision"]
    assert Dot1Q in by_name["threshold_alert_vlan_udp"]
    padded = by_name["records_only_padded"][FeedbackHeader]
    assert isinstance(padded.payload, Padding)
    assert IP not in by_name["records_only_reports"]


def test_build_fills_length_count_and_orig_ethertype() -> None:
    pkt = (
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / FeedbackHeader(device_id=9, tlvs=[TLV_CLASSES[5](stage=2, reason=2)])
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(flags="S")
        / Raw(b"x")
    )
    d = codec.decode(bytes(pkt))
    assert d.header.length == 16 + 8
    assert d.header.tlv_count == 1
    assert d.header.orig_ethertype == 0x0800
    assert d.records[0].pack() == bytes.fromhex("0508020200000000")
    stripped = Ether(codec.strip(bytes(pkt)))
    assert stripped[TCP].flags == "S" and bytes(stripped[Raw]) == b"x"


def test_random_records_build_identically() -> None:
    rng = random.Random(99)
    for _ in range(100):
        recs: list[Record | UnknownRecord] = []
        for _n in range(rng.randrange(1, 5)):
            t = rng.choice(spec.TLVS)
            kw = {f.name: rng.getrandbits(f.bits) for f in t.value_fields}
            recs.append(RECORD_TYPES[t.code](**kw))
        frame = codec.encode(bytes(12), recs, orig_ethertype=0, device_id=rng.getrandbits(16))
        fb = FeedbackHeader(
            device_id=codec.decode(frame).header.device_id,
            tlvs=[_scapy_tlv(r) for r in recs],
        )
        assert bytes(fb) == frame[14:]


def test_bound_below_ether_and_dot1q() -> None:
    fb = FeedbackHeader(tlvs=[])
    assert bytes(Ether() / fb)[12:14] == b"\x88\xb5"
    tagged = bytes(Ether() / Dot1Q(vlan=5) / fb / IP())
    assert tagged[12:14] == b"\x81\x00" and tagged[16:18] == b"\x88\xb5"
    d = codec.decode(tagged)
    assert d.header.orig_ethertype == 0x0800 and len(d.l2) == 16
