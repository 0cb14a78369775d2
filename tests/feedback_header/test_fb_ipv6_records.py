"""The IPv6 variants of the stats and SYN-offload records: same fields as the IPv4 ones
with 128-bit addresses, own type codes, and a decoder that predates them skips them by
their length."""

from __future__ import annotations

import pytest
from scapy.layers.l2 import Ether

from feedback_header import codec, spec
from feedback_header.records import CounterReport, CounterReport6, NotOffloaded, SynSummary6
from feedback_header.scapy_layer import FeedbackHeader

ADDR = (0x20010DB8 << 96) | 0x1234


def test_variants_mirror_the_ipv4_records() -> None:
    for name, code in spec.IPV6_VARIANTS.items():
        v4, v6 = spec.TLV_BY_NAME[name], spec.TLV_BY_NAME[name + "6"]
        assert v6.code == code and v6.stage == v4.stage
        assert [f.name.replace("ipv6", "ipv4") for f in v6.value_fields] == [
            f.name for f in v4.value_fields
        ]
        widened = sum(1 for f in v4.value_fields if f.fmt == "ipv4")
        assert v6.size == v4.size + widened * 12


def test_round_trip_and_json() -> None:
    report = CounterReport6(
        rule_slot=2, report_reason=1, key_ipv6_src=ADDR, key_l4_dst_port=443,
        packets=5, bytes=600, interval_start=1, interval_end=2, history=0x1, rule_id=9,
    )  # fmt: skip
    frame = codec.insert(bytes(Ether()) + bytes(20), [report], device_id=3)
    (got,) = codec.decode(frame).records
    assert got == report
    d = codec.record_to_dict(got)
    assert d["type"] == "counter_report6" and d["key"]["ipv6_src"] == "2001:db8::1234"
    assert bytes(Ether(frame)[FeedbackHeader]).startswith(frame[14 : 14 + 16])


def test_old_decoder_skips_ipv6_records_by_length(monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder of the version before IPv6 (no types 9-12) keeps the records around an
    IPv6 one and reports the IPv6 one as unknown, its bytes intact."""
    summary = SynSummary6(
        reason=2, syn_count=1, ipv6_src=ADDR, ipv6_dst=ADDR + 1, src_port=1, dst_port=2,
        isn=3, first_seen=4, last_seen=5,
    )  # fmt: skip
    before = NotOffloaded(stage=2, reason=1, detail=7)
    after = CounterReport(rule_slot=0, report_reason=1, packets=1, bytes=2, interval_start=0,
                          interval_end=0, history=0, rule_id=1)  # fmt: skip
    frame = codec.insert(bytes(Ether()), [before, summary, after], device_id=1)
    old = {c: cls for c, cls in codec.RECORD_TYPES.items() if c not in spec.IPV6_VARIANTS.values()}
    monkeypatch.setattr(codec, "RECORD_TYPES", old)
    recs = codec.decode(frame).records
    assert recs[0] == before and recs[2] == after
    unknown = recs[1]
    assert isinstance(unknown, codec.UnknownRecord)
    assert unknown.type_code == 12 and len(unknown.value) + 2 == SynSummary6.SIZE
