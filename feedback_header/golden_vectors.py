"""Golden byte vectors of the feedback header: whole frames with their decoded meaning.

`load()` reads `feedback_header/golden/vectors.json`, shared by the codec, Scapy and
tshark tests and by the P4 tests of the stages (send `original`, expect `frame`, with the
timestamp masked). The file is written once by

    python -m feedback_header.golden_vectors --write

and then kept: rewrite it only when the wire format changes on purpose, never to make a
failing test pass. Each invalid vector names the byte offset a decoder must report; those
offsets are computed here from the layout, not taken from the codec.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedback_header import codec, spec
from feedback_header.records import (
    Collision,
    CounterReport,
    FeedbackFlags,
    FlowIdOffset,
    NotOffloaded,
    NotOffloadedReason,
    PrefilterMatch,
    ReassemblyState,
    Record,
    ReportReason,
    Stage,
    SynSummary,
    SynSummaryReason,
    ThresholdAlert,
    ThresholdKind,
    UnknownRecord,
)

PATH = Path(__file__).resolve().parent / "golden" / "vectors.json"
FORMAT = "p4fb-golden-v1"


@dataclass(frozen=True)
class Vector:
    """A well-formed frame and what it means."""

    name: str
    description: str
    frame: bytes
    original: bytes | None
    header: dict[str, Any]
    records: list[dict[str, Any]]
    payload: bytes


@dataclass(frozen=True)
class InvalidVector:
    """A malformed frame and the offset and message a decoder must report."""

    name: str
    description: str
    frame: bytes
    error_offset: int
    error: str


def load(path: Path = PATH) -> tuple[list[Vector], list[InvalidVector]]:
    """The stored golden vectors."""
    doc = json.loads(path.read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path}: format {doc.get('format')!r}, expected {FORMAT}")
    good = [
        Vector(
            v["name"],
            v["description"],
            bytes.fromhex(v["frame"]),
            None if v["original"] is None else bytes.fromhex(v["original"]),
            v["header"],
            v["records"],
            bytes.fromhex(v["payload"]),
        )
        for v in doc["vectors"]
    ]
    bad = [
        InvalidVector(
            v["name"], v["description"], bytes.fromhex(v["frame"]), v["error_offset"], v["error"]
        )
        for v in doc["invalid"]
    ]
    return good, bad


# --- building (Scapy only here, for the inner packets) -------------------------------------


def _ip(a: str) -> int:
    return int.from_bytes(bytes(int(x) for x in a.split(".")), "big")


def _good_cases() -> list[tuple[str, str, bytes, list[Record | UnknownRecord], dict[str, int]]]:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
    from scapy.packet import Raw

    mon: dict[str, Any] = {"dst": "02:00:00:00:00:02", "src": "02:00:00:00:00:01"}
    syn = (
        Ether(**mon)
        / IP(src="10.0.0.1", dst="10.0.0.2", id=1)
        / TCP(sport=40000, dport=22, flags="S", seq=1000)
    )
    key1 = {"key_ipv4_src": _ip("10.0.0.1")}
    all_ones_key = {
        "key_ingress_port": 0x1FF,
        "key_ip_proto": 0xFF,
        "key_tcp_flags": 0xFF,
        "key_ipv4_src": 0xFFFFFFFF,
        "key_ipv4_dst": 0xFFFFFFFF,
        "key_l4_src_port": 0xFFFF,
        "key_l4_dst_port": 0xFFFF,
    }
    return [
        (
            "counter_report_on_tcp_syn",
            "Interval report of rule 1 in slot 0 (group by source address) on a TCP SYN.",
            bytes(syn),
            [
                CounterReport(
                    rule_slot=0,
                    report_reason=ReportReason.INTERVAL,
                    **key1,
                    packets=5,
                    bytes=300,
                    interval_start=1_000_000,
                    interval_end=1_059_000,
                    history=codec.history_value("S"),
                    rule_id=1,
                )
            ],
            {"device_id": 1, "timestamp": 1_060_000},
        ),
        (
            "threshold_alert_vlan_udp",
            "Byte threshold alert on a DNS response behind an 802.1Q tag.",
            bytes(
                Ether(**mon)
                / Dot1Q(vlan=10)
                / IP(src="198.51.100.53", dst="192.0.2.10", id=2)
                / UDP(sport=53, dport=33333)
                / Raw(b"\x12\x34\x81\x80" + b"\x00" * 8)
            ),
            [
                ThresholdAlert(
                    rule_slot=2,
                    threshold_kind=ThresholdKind.BYTES,
                    key_ip_proto=17,
                    key_ipv4_dst=_ip("192.0.2.10"),
                    key_l4_src_port=53,
                    value=1_000_060,
                    threshold=1_000_000,
                    interval_start=5_000_000,
                    rule_id=7,
                )
            ],
            {"device_id": 1, "timestamp": 5_400_000},
        ),
        (
            "records_only_reports",
            "Records-only frame (orig_ethertype 0): two counter reports and a collision.",
            bytes.fromhex("020000000002020000000001") + b"\x00\x00",
            [
                CounterReport(
                    rule_slot=1,
                    report_reason=ReportReason.EVICTED,
                    key_ip_proto=6,
                    key_ipv4_src=_ip("10.1.2.3"),
                    key_ipv4_dst=_ip("10.9.8.7"),
                    key_l4_src_port=51000,
                    key_l4_dst_port=443,
                    packets=12,
                    bytes=4567,
                    interval_start=7,
                    interval_end=2_000_007,
                    history=codec.history_value("ShADadFf"),
                    rule_id=3,
                ),
                CounterReport(
                    rule_slot=3,
                    report_reason=ReportReason.INTERVAL,
                    key_ingress_port=2,
                    packets=1,
                    bytes=60,
                    interval_start=100,
                    interval_end=100,
                    history=0,
                    rule_id=65535,
                ),
                Collision(
                    rule_slot=1,
                    hash_index=0xABC,
                    key_ip_proto=6,
                    key_ipv4_src=_ip("10.1.2.4"),
                    key_ipv4_dst=_ip("10.9.8.7"),
                    key_l4_src_port=51001,
                    key_l4_dst_port=443,
                    rule_id=3,
                ),
            ],
            {"device_id": 0xBEEF, "timestamp": 0xFFFFFFFFFFFF},
        ),
        (
            "records_only_padded",
            "Records-only frame padded to the 60-byte Ethernet minimum; padding is payload.",
            bytes.fromhex("020000000002020000000001") + b"\x00\x00" + b"\x00" * 22,
            [
                NotOffloaded(
                    stage=Stage.SYN_OFFLOAD, reason=NotOffloadedReason.TABLE_FULL, detail=17
                )
            ],
            {"device_id": 2, "timestamp": 42},
        ),
        (
            "syn_summary_expired_by_sweep",
            "Regenerated SYN (flag REGENERATED) with the SYN summary of an expired attempt.",
            bytes(
                Ether(**mon)
                / IP(src="203.0.113.9", dst="10.0.0.80", id=0)
                / TCP(sport=61000, dport=8080, flags="S", seq=0xDEADBEEF, window=1024)
            ),
            [
                SynSummary(
                    reason=SynSummaryReason.EXPIRED_BY_SWEEP,
                    syn_count=3,
                    ipv4_src=_ip("203.0.113.9"),
                    ipv4_dst=_ip("10.0.0.80"),
                    src_port=61000,
                    dst_port=8080,
                    isn=0xDEADBEEF,
                    first_seen=10_000_000,
                    last_seen=13_000_000,
                )
            ],
            {"device_id": 1, "timestamp": 43_000_000, "flags": FeedbackFlags.REGENERATED},
        ),
        (
            "not_offloaded_tfo_syn",
            "TCP Fast Open SYN (SYN with payload) passed through by the SYN-offload stage.",
            bytes(
                Ether(**mon)
                / IP(src="10.0.0.5", dst="10.0.0.6", id=5)
                / TCP(sport=50000, dport=80, flags="S", seq=1)
                / Raw(b"GET / HTTP/1.1\r\n\r\n")
            ),
            [
                NotOffloaded(
                    stage=Stage.SYN_OFFLOAD, reason=NotOffloadedReason.SYN_WITH_PAYLOAD, detail=0
                )
            ],
            {"device_id": 1, "timestamp": 99},
        ),
        (
            "qinq_unknown_tlv_ipv6",
            "802.1ad + 802.1Q tags, an unknown TLV (type 240, 8 bytes) to skip, then a packet "
            "threshold alert; IPv6/TCP payload.",
            bytes(
                Ether(**mon)
                / Dot1AD(vlan=100)
                / Dot1Q(vlan=200)
                / IPv6(src="2001:db8::1", dst="2001:db8::2")
                / TCP(sport=1234, dport=443, flags="A", seq=7, ack=9)
            ),
            [
                UnknownRecord(240, bytes.fromhex("0102030405ff")),
                ThresholdAlert(
                    rule_slot=0,
                    threshold_kind=ThresholdKind.PACKETS,
                    key_ingress_port=1,
                    value=100,
                    threshold=100,
                    interval_start=0,
                    rule_id=2,
                ),
            ],
            {"device_id": 3, "timestamp": 1},
        ),
        (
            "reserved_layouts_tcp_data",
            "Later stages' records (reserved layouts) on a TCP data segment.",
            bytes(
                Ether(**mon)
                / IP(src="10.0.0.1", dst="10.0.0.2", id=9)
                / TCP(sport=40001, dport=80, flags="PA", seq=1001, ack=5001)
                / Raw(b"GET / HTTP/1.1\r\n")
            ),
            [
                FlowIdOffset(direction=0, flow_id=0x1234, stream_offset=0),
                ReassemblyState(stream_state=1, fallback_reason=0, flow_id=0x1234),
                PrefilterMatch(match_type=2, direction=0, match_id=80, stream_offset=0),
            ],
            {"device_id": 1, "timestamp": 2_000_000},
        ),
        (
            "arp_with_collision",
            "ARP request with a collision record (ARP packets are counted by ingress port).",
            bytes(
                Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")
                / ARP(psrc="10.0.0.1", pdst="10.0.0.2")
            ),
            [Collision(rule_slot=0, hash_index=5, key_ingress_port=3, rule_id=4)],
            {"device_id": 1, "timestamp": 3},
        ),
        (
            "max_values",
            "Every field of a counter report at its maximum; all twelve history letters.",
            bytes(syn),
            [
                CounterReport(
                    rule_slot=255,
                    report_reason=255,
                    **all_ones_key,
                    packets=0xFFFFFFFF,
                    bytes=0xFFFFFFFFFFFFFFFF,
                    interval_start=0xFFFFFFFFFFFF,
                    interval_end=0xFFFFFFFFFFFF,
                    history=codec.history_value("ShADFRshadfr"),
                    rule_id=0xFFFF,
                )
            ],
            {"device_id": 0xFFFF, "timestamp": 0xFFFFFFFFFFFF, "flags": 0xFF},
        ),
    ]


def build_good() -> list[Vector]:
    """Vectors built by the codec from the cases above."""
    out = []
    for name, desc, original, records, hdr in _good_cases():
        frame = codec.insert(original, records, **hdr)
        d = codec.decode(frame)
        out.append(
            Vector(
                name,
                desc,
                frame,
                d.original,
                {
                    f: getattr(d.header, f)
                    for f in (
                        "version",
                        "flags",
                        "length",
                        "device_id",
                        "tlv_count",
                        "timestamp",
                        "orig_ethertype",
                    )
                },
                [codec.record_to_dict(r) for r in d.records],
                d.payload,
            )
        )
    return out


def build_invalid(base: bytes) -> list[InvalidVector]:
    """Malformed variants of `base` (the first good vector: one COUNTER_REPORT, no tags)."""
    h0 = 14  # fixed part right after an untagged Ethernet header
    tlv = h0 + spec.FIXED.size
    size = spec.TLV_BY_NAME["counter_report"].size
    length = spec.FIXED.size + size

    def put(b: bytes, off: int, value: bytes) -> bytes:
        return b[:off] + value + b[off + len(value) :]

    def u16(x: int) -> bytes:
        return x.to_bytes(2, "big")

    hdr_end = h0 + length
    return [
        InvalidVector(
            "no_feedback_header",
            "Plain IPv4 frame.",
            base[:12] + b"\x08\x00" + base[hdr_end:],
            12,
            "no feedback header",
        ),
        InvalidVector(
            "truncated_fixed_part",
            "Frame ends inside the fixed part.",
            base[: h0 + 9],
            h0 + 9,
            "fixed part truncated",
        ),
        InvalidVector("bad_version", "Version 2.", put(base, h0, b"\x02"), h0, "version"),
        InvalidVector(
            "length_below_fixed", "Length 15.", put(base, h0 + 2, u16(15)), h0 + 2, "length 15"
        ),
        InvalidVector(
            "length_past_frame",
            "Length runs past the end of the frame.",
            put(base, h0 + 2, u16(len(base) - h0 + 1)),
            h0 + 2,
            "runs past the end of the frame",
        ),
        InvalidVector(
            "tlv_length_below_2",
            "TLV length 1.",
            put(base, tlv + 1, b"\x01"),
            tlv + 1,
            "TLV length 1",
        ),
        InvalidVector(
            "tlv_past_header_length",
            "TLV length 60 runs past the header length.",
            put(base, tlv + 1, bytes((60,))),
            tlv + 1,
            "runs past the header length",
        ),
        InvalidVector(
            "known_tlv_wrong_length",
            "COUNTER_REPORT with length 48 (header length adjusted to match).",
            put(put(base, tlv + 1, bytes((48,))), h0 + 2, u16(length - 4))[: hdr_end - 4]
            + base[hdr_end:],
            tlv + 1,
            "counter_report length 48",
        ),
        InvalidVector(
            "tlv_header_truncated",
            "Header length covers one byte after the last TLV.",
            put(base, h0 + 2, u16(length + 1))[:hdr_end] + b"\x01" + base[hdr_end:],
            hdr_end,
            "TLV header truncated",
        ),
        InvalidVector(
            "tlv_count_mismatch",
            "tlv_count 2 with one TLV.",
            put(base, h0 + 6, b"\x02"),
            h0 + 6,
            "tlv_count 2",
        ),
    ]


def _dump(good: list[Vector], bad: list[InvalidVector]) -> str:
    doc = {
        "format": FORMAT,
        "note": "Written by `python -m feedback_header.golden_vectors --write`; see its "
        "docstring before rewriting. Layout: docs/feedback-header.md.",
        "ethertype": f"{spec.ETHERTYPE:#06x}",
        "vectors": [
            {
                "name": v.name,
                "description": v.description,
                "frame": v.frame.hex(),
                "original": None if v.original is None else v.original.hex(),
                "header": v.header,
                "records": v.records,
                "payload": v.payload.hex(),
            }
            for v in good
        ],
        "invalid": [
            {
                "name": v.name,
                "description": v.description,
                "frame": v.frame.hex(),
                "error_offset": v.error_offset,
                "error": v.error,
            }
            for v in bad
        ],
    }
    return json.dumps(doc, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Build the vectors; with --write store them, else report differences from the file."""
    ap = argparse.ArgumentParser(prog="python -m feedback_header.golden_vectors")
    ap.add_argument("--write", action="store_true", help=f"(re)write {PATH}")
    args = ap.parse_args(argv)
    good = build_good()
    bad = build_invalid(good[0].frame)
    for v in bad:  # the offsets above are derived by hand: check the codec agrees
        try:
            codec.decode(v.frame)
        except codec.FeedbackDecodeError as e:
            if e.offset != v.error_offset or v.error not in e.message:
                print(f"{v.name}: codec says {e}", file=sys.stderr)
                return 1
        else:
            print(f"{v.name}: codec accepted it", file=sys.stderr)
            return 1
    text = _dump(good, bad)
    if args.write:
        PATH.parent.mkdir(exist_ok=True)
        PATH.write_text(text)
        print(f"wrote {PATH} ({len(good)} vectors, {len(bad)} invalid)")
        return 0
    same = PATH.exists() and PATH.read_text() == text
    print("golden vectors match the builder" if same else "golden vectors differ from builder")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
