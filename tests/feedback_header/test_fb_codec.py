"""Pure-Python codec: golden vectors, round trips, strip/insert, precise errors."""

from __future__ import annotations

import json
import random
import struct
import sys

import pytest

from feedback_header import codec, spec
from feedback_header.golden_vectors import load
from feedback_header.records import (
    RECORD_TYPES,
    CounterReport,
    FixedPart,
    NotOffloaded,
    Record,
    UnknownRecord,
)

GOOD, BAD = load()
GOOD_IDS = [v.name for v in GOOD]


def test_codec_imports_no_scapy() -> None:
    # A fresh interpreter: other tests in this process may have imported Scapy already.
    import subprocess

    code = "import sys, feedback_header.codec; print('scapy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("v", GOOD, ids=GOOD_IDS)
def test_golden_decodes_to_its_meaning(v) -> None:  # type: ignore[no-untyped-def]
    d = codec.decode(v.frame)
    assert {k: getattr(d.header, k) for k in v.header} == v.header
    assert [codec.record_to_dict(r) for r in d.records] == v.records
    assert d.payload == v.payload
    assert d.original == v.original
    assert codec.strip(v.frame) == (v.original if v.original is not None else b"")


@pytest.mark.parametrize("v", GOOD, ids=GOOD_IDS)
def test_golden_reencodes_to_same_bytes(v) -> None:  # type: ignore[no-untyped-def]
    d = codec.decode(v.frame)
    assert d.encode() == v.frame
    if v.original is not None:
        h = d.header
        again = codec.insert(
            v.original,
            d.records,
            device_id=h.device_id,
            timestamp=h.timestamp,
            flags=h.flags,
        )
        assert again == v.frame


def test_golden_counter_report_bytes_by_hand() -> None:
    """The first vector's header, packed here field by field from the spec page."""
    v = GOOD[0]
    fixed = struct.pack(">BBHHBB", 1, 0, 16 + 52, 1, 1, 0) + (1_060_000).to_bytes(6, "big")
    fixed += struct.pack(">H", 0x0800)
    tlv = struct.pack(">BBBB", 1, 52, 0, 1)  # type, length, rule_slot, INTERVAL
    tlv += struct.pack(">HBBIIHH", 0, 0, 0, 0x0A000001, 0, 0, 0)  # group key
    tlv += struct.pack(">IQ", 5, 300)
    tlv += (1_000_000).to_bytes(6, "big") + (1_059_000).to_bytes(6, "big")
    tlv += (0x1).to_bytes(6, "big") + struct.pack(">H", 1)  # history "S", rule_id 1
    assert len(tlv) == 52
    expected = v.original[:12] + b"\x88\xb5" + fixed + tlv + v.original[14:]
    assert v.frame == expected


def test_history_letters_and_value() -> None:
    assert codec.history_value("ShAD") == 0x1834
    assert codec.history_letters(0x1834) == "ShAD"
    # Zero nibbles anywhere are skipped, so a left-aligned history reads the same.
    assert codec.history_letters(0x183400000000) == "ShAD"
    assert codec.history_letters(0) == ""
    assert codec.history_letters(0xF1) == "?S"
    all12 = "ShADFRshadfr"
    assert codec.history_letters(codec.history_value(all12)) == all12
    with pytest.raises(ValueError, match="no code"):
        codec.history_value("C")
    with pytest.raises(ValueError, match="more than 12"):
        codec.history_value("SSSSSSSSSSSSS")


def test_json_lines_one_per_tlv() -> None:
    v = next(x for x in GOOD if x.name == "records_only_reports")
    lines = codec.json_lines(codec.decode(v.frame))
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first["type"] == "counter_report"
    assert first["report_reason"] == "EVICTED"
    assert first["history"] == "ShADadFf"
    assert first["key"]["ipv4_dst"] == "10.9.8.7"
    assert first["header"] == {
        "version": 1,
        "flags": [],
        "device_id": 0xBEEF,
        "timestamp": 0xFFFFFFFFFFFF,
        "orig_ethertype": 0,
    }
    assert "reserved" not in first
    assert json.loads(lines[2])["type"] == "collision"


def test_json_unknown_and_flags() -> None:
    v = next(x for x in GOOD if x.name == "qinq_unknown_tlv_ipv6")
    d = codec.decode(v.frame)
    assert d.records[0] == UnknownRecord(240, bytes.fromhex("0102030405ff"))
    assert codec.record_to_dict(d.records[0]) == {
        "type": "unknown",
        "type_code": 240,
        "value": "0102030405ff",
    }
    assert len(d.l2) == 12 + 4 + 4
    m = next(x for x in GOOD if x.name == "max_values")
    head = codec.header_to_dict(codec.decode(m.frame).header)
    assert head["flags"] == ["REGENERATED", "RECORDS_DROPPED", "FOREIGN", 0xF8]


def test_unknown_enum_value_renders_as_int() -> None:
    m = next(x for x in GOOD if x.name == "max_values")
    assert m.records[0]["report_reason"] == 255


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_invalid_vectors_report_offset(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(codec.FeedbackDecodeError) as e:
        codec.decode(bad.frame)
    assert e.value.offset == bad.error_offset
    assert bad.error in e.value.message
    assert str(e.value).startswith(f"offset {bad.error_offset}: ")


@pytest.mark.parametrize("v", GOOD, ids=GOOD_IDS)
def test_truncated_at_every_byte(v) -> None:  # type: ignore[no-untyped-def]
    d = codec.decode(v.frame)
    header_end = len(d.l2) + 2 + d.header.length
    for cut in range(len(v.frame)):
        prefix = v.frame[:cut]
        if cut >= header_end:
            # Inside the original packet: the header cannot tell, the payload is shorter.
            assert codec.decode(prefix).payload == v.frame[header_end:cut]
            continue
        with pytest.raises(codec.FeedbackDecodeError) as e:
            codec.decode(prefix)
        assert 0 <= e.value.offset <= cut


def test_every_length_value_is_checked() -> None:
    """Every value of the fixed part's length field but the right one is an error."""
    v = GOOD[2]  # records-only: nothing after the header
    d = codec.decode(v.frame)
    h0 = len(d.l2) + 2
    for length in range(0x10000):
        if length == d.header.length:
            continue
        frame = v.frame[: h0 + 2] + length.to_bytes(2, "big") + v.frame[h0 + 4 :]
        with pytest.raises(codec.FeedbackDecodeError):
            codec.decode(frame)


def test_every_tlv_length_value_is_checked() -> None:
    v = GOOD[0]
    p = 14 + 16 + 1
    for ln in range(256):
        if ln == 52:
            continue
        frame = v.frame[:p] + bytes((ln,)) + v.frame[p + 1 :]
        with pytest.raises(codec.FeedbackDecodeError) as e:
            codec.decode(frame)
        assert e.value.offset == p


def test_strip_passes_other_frames_and_checks_length() -> None:
    plain = GOOD[0].original
    assert plain is not None
    assert codec.strip(plain) == plain
    assert codec.strip(b"\x00" * 5) == b"\x00" * 5
    assert codec.try_decode(plain) is None
    bad_len = next(b for b in BAD if b.name == "length_past_frame")
    with pytest.raises(codec.FeedbackDecodeError):
        codec.strip(bad_len.frame)
    # TLV problems do not stop strip: only the fixed part matters to it.
    bad_tlv = next(b for b in BAD if b.name == "tlv_count_mismatch")
    assert codec.strip(bad_tlv.frame) == plain


def test_other_ethertype() -> None:
    v = GOOD[0]
    frame = v.frame[:12] + b"\x88\xb6" + v.frame[14:]
    assert not codec.is_feedback(frame)
    d = codec.decode(frame, ethertype=0x88B6)
    assert d.encode() == frame
    assert codec.strip(frame, ethertype=0x88B6) == v.original


def test_encode_errors() -> None:
    l2 = bytes(12)
    with pytest.raises(codec.FeedbackEncodeError, match="l2"):
        codec.encode(bytes(13), [])
    with pytest.raises(codec.FeedbackEncodeError, match="NotOffloaded"):
        codec.encode(l2, [NotOffloaded(stage=256, reason=0, detail=0)])
    with pytest.raises(codec.FeedbackEncodeError, match="CounterReport"):
        codec.encode(l2, [_counter(interval_start=1 << 48)])
    with pytest.raises(codec.FeedbackEncodeError, match="too many"):
        codec.encode(l2, [NotOffloaded(stage=1, reason=1, detail=0)] * 256)
    with pytest.raises(codec.FeedbackEncodeError, match="unknown TLV"):
        codec.encode(l2, [UnknownRecord(240, bytes(254))])
    with pytest.raises(codec.FeedbackEncodeError, match="fixed part"):
        codec.encode(l2, [], timestamp=-1)


def _counter(**kw: int) -> CounterReport:
    base = {
        "rule_slot": 0,
        "report_reason": 1,
        "packets": 0,
        "bytes": 0,
        "interval_start": 0,
        "interval_end": 0,
        "history": 0,
        "rule_id": 0,
    }
    base.update(kw)
    return CounterReport(**base)


# --- random round trips (small generator; hypothesis is not installed) ----------------------


def _random_record(rng: random.Random) -> Record | UnknownRecord:
    code = rng.choice([*RECORD_TYPES, 200, 240])
    cls = RECORD_TYPES.get(code)
    if cls is None:
        return UnknownRecord(code, rng.randbytes(rng.randrange(0, 40)))
    t = spec.TLV_BY_CODE[code]
    kwargs = {}
    for f in t.value_fields:
        edge = rng.random() < 0.3
        kwargs[f.name] = rng.choice([0, (1 << f.bits) - 1]) if edge else rng.getrandbits(f.bits)
    return cls(**kwargs)


def test_random_round_trips() -> None:
    rng = random.Random(20240601)
    for _ in range(400):
        l2 = rng.randbytes(12)
        for _tag in range(rng.randrange(3)):
            l2 += rng.choice([b"\x81\x00", b"\x88\xa8", b"\x91\x00"]) + rng.randbytes(2)
        records = [_random_record(rng) for _ in range(rng.randrange(0, 8))]
        payload = rng.randbytes(rng.randrange(0, 80))
        fields = {
            "orig_ethertype": rng.choice([0, 0x0800, 0x86DD, 0x0806, rng.getrandbits(16)]),
            "device_id": rng.getrandbits(16),
            "timestamp": rng.getrandbits(48),
            "flags": rng.getrandbits(8),
        }
        frame = codec.encode(l2, records, payload, **fields)
        d = codec.decode(frame)
        assert d.l2 == l2
        assert list(d.records) == records
        assert d.payload == payload
        assert d.header == FixedPart(
            version=1,
            length=16 + sum(len(r.pack()) for r in records),
            tlv_count=len(records),
            reserved=0,
            **fields,
        )
        assert d.encode() == frame
        if fields["orig_ethertype"]:
            original = l2 + fields["orig_ethertype"].to_bytes(2, "big") + payload
            assert codec.strip(frame) == original
        else:
            assert codec.strip(frame) == b""
        for line in codec.json_lines(d):
            assert json.loads(line)["header"]["device_id"] == fields["device_id"]


def test_random_garbage_never_escapes_as_other_errors() -> None:
    """Random bytes after the feedback EtherType: decode() succeeds or raises
    FeedbackDecodeError, never anything else."""
    rng = random.Random(7)
    base = GOOD[2].frame
    outcomes = {"decoded": 0, "rejected": 0}
    for _ in range(3000):
        frame = bytearray(base)
        for _flip in range(rng.randrange(1, 6)):
            frame[rng.randrange(14, len(frame))] = rng.getrandbits(8)
        try:
            codec.decode(bytes(frame))
            outcomes["decoded"] += 1
        except codec.FeedbackDecodeError:
            outcomes["rejected"] += 1
    # Flips in record values decode; flips in lengths, counts and versions do not.
    assert outcomes["decoded"] > 100 and outcomes["rejected"] > 100
