"""The generated Wireshark dissector, run by tshark on pcaps of the golden vectors.

Needs the Debian package `tshark`. As root, Wireshark runs Lua scripts given with -X only
if its init.lua sets `run_user_scripts_when_superuser = true` (Debian 12's does; 4.2+ has
no such switch): `_tshark()` checks that the dissector registered and fails with that
explanation otherwise, instead of silently asserting nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from feedback_header.generate import ROOT
from feedback_header.golden_vectors import load

LUA = ROOT / "feedback_header/wireshark/p4_feedback.lua"
TSHARK = shutil.which("tshark")
GOOD, BAD = load()

pytestmark = pytest.mark.skipif(
    TSHARK is None, reason="tshark not installed (apt-get install tshark)"
)


def _pcap(path: Path, frames: list[bytes]) -> Path:
    """Classic pcap, Ethernet link type, 1 µs apart (written by hand: no Scapy needed)."""
    out = bytearray((0xA1B2C3D4).to_bytes(4, "little"))
    out += (2).to_bytes(2, "little") + (4).to_bytes(2, "little") + bytes(8)
    out += (65535).to_bytes(4, "little") + (1).to_bytes(4, "little")
    for i, f in enumerate(frames):
        for x in (1_700_000_000, i, len(f), len(f)):
            out += x.to_bytes(4, "little")
        out += f
    path.write_bytes(bytes(out))
    return path


def _tshark(pcap: Path, home: Path, *args: str) -> list[list[str]]:
    """Rows of `-T fields` output (one per frame), each field's occurrences joined by ','."""
    assert TSHARK is not None
    env = {**os.environ, "HOME": str(home), "WIRESHARK_CONFIG_DIR": str(home)}
    fields: list[str] = []
    for a in args:
        fields += ["-e", a]
    proc = subprocess.run(
        [
            TSHARK,
            "-n",
            "-X",
            f"lua_script:{LUA}",
            "-r",
            str(pcap),
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
            "-e",
            "p4fb.version",
            *fields,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if "p4fb.version" in proc.stderr:
        pytest.fail(
            "tshark does not know the p4fb fields: the Lua dissector did not load "
            f"(as root it needs run_user_scripts_when_superuser in init.lua): {proc.stderr}"
        )
    assert proc.returncode == 0, proc.stderr
    return [line.split("\t")[1:] for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def good_pcap(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tshark")
    return _pcap(d / "good.pcap", [v.frame for v in GOOD]), d


def _row(rows: list[list[str]], name: str) -> list[str]:
    return rows[[v.name for v in GOOD].index(name)]


def test_fixed_part_fields(good_pcap: tuple[Path, Path]) -> None:
    pcap, home = good_pcap
    rows = _tshark(
        pcap,
        home,
        "p4fb.length",
        "p4fb.tlv_count",
        "p4fb.device_id",
        "p4fb.timestamp",
        "p4fb.orig_ethertype",
        "p4fb.flags.regenerated",
    )
    for v, row in zip(GOOD, rows, strict=True):
        h = v.header
        assert row[:5] == [
            str(h["length"]),
            str(h["tlv_count"]),
            str(h["device_id"]),
            str(h["timestamp"]),
            f"{h['orig_ethertype']:#06x}",
        ], v.name
        assert row[5] == ("1" if h["flags"] & 1 else "0"), v.name


def test_counter_report_and_inner_tcp(good_pcap: tuple[Path, Path]) -> None:
    pcap, home = good_pcap
    rows = _tshark(
        pcap,
        home,
        "p4fb.counter_report.rule_slot",
        "p4fb.counter_report.report_reason",
        "p4fb.counter_report.key_ipv4_src",
        "p4fb.counter_report.packets",
        "p4fb.counter_report.bytes",
        "p4fb.counter_report.interval_end",
        "p4fb.counter_report.history_str",
        "p4fb.counter_report.rule_id",
        "ip.src",
        "tcp.dstport",
        "tcp.flags.syn",
    )
    assert _row(rows, "counter_report_on_tcp_syn") == [
        "0",
        "1",
        "10.0.0.1",
        "5",
        "300",
        "1059000",
        "S",
        "1",
        "10.0.0.1",
        "22",
        "1",
    ]
    both = _row(rows, "records_only_reports")
    assert both[:8] == [
        "1,3",
        "2,1",
        "10.1.2.3,0.0.0.0",
        "12,1",
        "4567,60",
        "2000007,100",
        "ShADadFf,",
        "3,65535",
    ]
    assert both[8:] == ["", "", ""]  # nothing after a records-only header
    assert _row(rows, "max_values")[4:8] == [
        str(2**64 - 1),
        str(2**48 - 1),
        "ShADFRshadfr",
        "65535",
    ]


def test_other_records(good_pcap: tuple[Path, Path]) -> None:
    pcap, home = good_pcap
    rows = _tshark(
        pcap,
        home,
        "p4fb.threshold_alert.threshold_kind",
        "p4fb.threshold_alert.value",
        "p4fb.threshold_alert.threshold",
        "p4fb.syn_summary.reason",
        "p4fb.syn_summary.syn_count",
        "p4fb.syn_summary.isn",
        "p4fb.syn_summary.first_seen",
        "p4fb.not_offloaded.stage",
        "p4fb.not_offloaded.reason",
        "p4fb.collision.hash_index",
        "p4fb.prefilter_match.match_id",
        "dns.flags.response",
        "vlan.id",
    )
    assert _row(rows, "threshold_alert_vlan_udp")[:3] == ["2", "1000060", "1000000"]
    assert _row(rows, "threshold_alert_vlan_udp")[11:] == ["1", "10"]  # DNS after the header
    assert _row(rows, "syn_summary_expired_by_sweep")[3:7] == ["2", "3", "0xdeadbeef", "10000000"]
    assert _row(rows, "not_offloaded_tfo_syn")[7:9] == ["2", "2"]
    assert _row(rows, "arp_with_collision")[9] == "0x00000005"
    assert _row(rows, "reserved_layouts_tcp_data")[10] == "80"


def test_unknown_tlv_skipped_then_ipv6(good_pcap: tuple[Path, Path]) -> None:
    pcap, home = good_pcap
    rows = _tshark(
        pcap,
        home,
        "p4fb.tlv.type",
        "p4fb.tlv.length",
        "p4fb.tlv.data",
        "p4fb.threshold_alert.value",
        "ipv6.dst",
        "tcp.srcport",
        "ieee8021ad.id",
        "vlan.id",
    )
    assert _row(rows, "qinq_unknown_tlv_ipv6") == [
        "240,2",
        "8,44",
        "0102030405ff",
        "100",
        "2001:db8::2",
        "1234",
        "100",
        "200",
    ]
    assert _row(rows, "arp_with_collision")[:2] == ["3", "28"]


def test_arp_and_padding(good_pcap: tuple[Path, Path]) -> None:
    pcap, home = good_pcap
    rows = _tshark(pcap, home, "arp.dst.proto_ipv4", "data.data", "_ws.col.Info")
    assert _row(rows, "arp_with_collision")[0] == "10.0.0.2"
    padded = _row(rows, "records_only_padded")
    assert padded[1] == "00" * 22
    assert padded[2] == "P4 feedback: NOT_OFFLOADED"


def test_malformed_frames_flagged(tmp_path: Path) -> None:
    pcap = _pcap(tmp_path / "bad.pcap", [v.frame for v in BAD])
    rows = _tshark(pcap, tmp_path, "_ws.expert.message")
    by_name = {v.name: row[0] for v, row in zip(BAD, rows, strict=True)}
    assert by_name["truncated_fixed_part"].startswith("fixed part truncated: 9 of 16")
    assert by_name["bad_version"] == "unsupported version 2"
    assert "length 15 outside" in by_name["length_below_fixed"]
    assert "TLV length 1 at offset 16" in by_name["tlv_length_below_2"]
    assert "COUNTER_REPORT length 48, expected 52" in by_name["known_tlv_wrong_length"]
    assert "TLV header truncated" in by_name["tlv_header_truncated"]
    assert "tlv_count 2 but 1 TLVs" in by_name["tlv_count_mismatch"]


def test_foreign_frame_is_not_dissected_as_a_header(tmp_path: Path) -> None:
    """A frame the network sent with the feedback EtherType, wrapped by the switch: only
    the outer header is dissected; the forged SYN summary inside stays data."""
    from feedback_header import codec
    from feedback_header.records import FeedbackFlags, SynSummary

    rec = SynSummary(
        reason=2,
        syn_count=1,
        ipv4_src=0x0A000001,
        ipv4_dst=0xC0000250,
        src_port=40000,
        dst_port=22,
        isn=1,
        first_seen=1,
        last_seen=1,
    )
    l2 = bytes.fromhex("020000000002020000000001")
    forged = codec.encode(l2, [rec], bytes(40), orig_ethertype=0x0800, flags=1)
    wrapped = codec.insert(forged, [], device_id=3)
    pcap = _pcap(tmp_path / "foreign.pcap", [forged, wrapped])
    rows = _tshark(
        pcap, tmp_path, "p4fb.device_id", "p4fb.flags.foreign", "p4fb.syn_summary.reason"
    )
    # unwrapped, tshark cannot tell it from the switch's (why the switch wraps it) ...
    assert rows[0] == ["0", "0", "2"]
    # ... wrapped, only the outermost header counts
    assert rows[1] == ["3", "1", ""]
    assert codec.decode(wrapped).header.flags == FeedbackFlags.FOREIGN
