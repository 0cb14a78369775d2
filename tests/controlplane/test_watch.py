"""watch on a pcap built with the feedback codec: JSON lines, rule names, stripped pcap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from controlplane import state as state_mod
from controlplane.cli import main
from controlplane.groups import group_index
from feedback_header.codec import encode, history_value, insert
from feedback_header.records import CounterReport, ThresholdAlert
from pktio.pcap import PcapWriter, open_capture

T0 = 1_700_000_000 * 10**9


def _udp(dst: str, sport: int, size: int = 100) -> bytes:
    pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="192.0.2.1", dst=dst)
    pkt = pkt / UDP(sport=sport, dport=4444) / (b"x" * size)
    return bytes(pkt)


@pytest.fixture
def capture(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """Three frames: plain, one with a report, one with an alert + report; a records-only frame."""
    plain = _udp("198.51.100.7", 53)
    report = CounterReport(
        rule_slot=2,
        report_reason=1,
        key_ipv4_dst=0xC6336407,
        packets=10,
        bytes=1420,
        interval_start=5_000_000,
        interval_end=5_900_000,
        history=history_value("SAD"),
        rule_id=5,
    )
    alert = ThresholdAlert(
        rule_slot=2,
        threshold_kind=1,
        key_ipv4_dst=0xC6336407,
        value=5000,
        threshold=5000,
        interval_start=6_000_000,
        rule_id=5,
    )
    tagged = insert(plain, [report], device_id=1, timestamp=6_000_001)
    tagged2 = insert(plain, [alert, report], device_id=1, timestamp=6_000_002)
    only = encode(plain[:12], [report], b"\0" * 30, device_id=1, timestamp=6_000_003)
    path = tmp_path / "monitor.pcap"
    with PcapWriter(path) as w:
        for i, f in enumerate([plain, tagged, tagged2, only]):
            w.write(f, T0 + i * 1000)
    return path, [plain, tagged, tagged2, only]


def test_watch_pcap_json_lines_and_strip(
    tmp_path: Path, capture: tuple[Path, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, frames = capture
    state_path = tmp_path / "state.json"
    state_mod.save(
        state_mod.State(
            rules=[state_mod.InstalledRule("ddos-dns-response", 5, 2, 1, {"dst_addr": 0xFFFFFFFF})]
        ),
        state_path,
    )
    stripped = tmp_path / "plain.pcap"
    rc = main(
        ["watch", "--pcap", str(path), "--strip-pcap", str(stripped), "--state", str(state_path)]
    )
    assert rc == 0
    cap = capsys.readouterr()
    lines = [json.loads(x) for x in cap.out.splitlines()]
    assert [(x["type"], x["ts"], x["rule"]) for x in lines] == [
        ("counter_report", 1_700_000_000.000001, "ddos-dns-response"),
        ("threshold_alert", 1_700_000_000.000002, "ddos-dns-response"),
        ("counter_report", 1_700_000_000.000002, "ddos-dns-response"),
        ("counter_report", 1_700_000_000.000003, "ddos-dns-response"),
    ]
    first = lines[0]
    assert first["key"]["ipv4_dst"] == "198.51.100.7"
    assert (first["packets"], first["bytes"], first["history"], first["rule_slot"]) == (
        10,
        1420,
        "SAD",
        2,
    )
    assert first["header"]["device_id"] == 1 and first["header"]["timestamp"] == 6_000_001
    assert lines[1]["threshold_kind"] == "PACKETS"
    assert cap.err.strip() == "watch: 4 packets, 3 with a feedback header, 4 records, 0 malformed"
    # the stripped capture: every frame with an original packet, byte for byte, same times
    with open_capture(stripped) as c:
        recs = [(r.ts_ns, r.data) for r in c]
    assert recs == [(T0, frames[0]), (T0 + 1000, frames[0]), (T0 + 2000, frames[0])]
    # the group key learned for status: slot 2, index from the P4's crc32
    st = state_mod.load(state_path)
    idx = group_index(5, first["key"])
    assert st.group_keys[f"2/{idx}"]["rule"] == "ddos-dns-response"


def test_watch_json_out_count_and_malformed(
    tmp_path: Path, capture: tuple[Path, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, frames = capture
    bad = bytearray(frames[1])
    bad[14] = 9  # version 9
    bad_path = tmp_path / "bad.pcap"
    with PcapWriter(bad_path) as w:
        w.write(bytes(bad), T0)
        for f in frames:
            w.write(f, T0 + 1)
    out = tmp_path / "records.jsonl"
    rc = main(
        [
            "watch",
            "-r",
            str(bad_path),
            "--json-out",
            str(out),
            "--count",
            "3",
            "--state",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert (
        "watch: frame 1 (ts 1700000000.0): malformed feedback header: offset 14: unsupported version 9"  # noqa: E501
        in err
    )
    assert "watch: 3 packets, 2 with a feedback header, 1 records, 1 malformed" in err
    assert [json.loads(x)["rule"] for x in out.read_text().splitlines()] == [None]


def test_watch_software_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "soft.yaml"
    rules.write_text(
        "stats:\n  - name: ntp\n    id: 9\n    match: {protocol: udp, src_port: 123}\n"
        "    group_by: {dst_addr: /32}\n    interval: 1s\n    thresholds: {packets: 3}\n"
    )
    path = tmp_path / "in.pcap"
    with PcapWriter(path) as w:
        for i in range(5):
            w.write(insert(_udp("203.0.113.9", 123), []), T0 + i * 300_000_000)  # every 0.3 s
        w.write(_udp("203.0.113.9", 53), T0 + 2 * 10**9)
    rc = main(
        [
            "watch",
            "--pcap",
            str(path),
            "--software-rules",
            str(rules),
            "--state",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(e["type"], e["ts"], e.get("packets"), e.get("value")) for e in events] == [
        ("threshold_alert", 1_700_000_000.6, None, 3),
        ("counter_report", 1_700_000_001.2, 4, None),
    ]
    assert events[1]["source"] == "software" and events[1]["rule"] == "ntp"
    assert events[1]["bytes"] == 4 * len(_udp("203.0.113.9", 123))
    assert events[1]["key"]["ipv4_dst"] == "203.0.113.9"


def test_watch_missing_pcap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["watch", "--pcap", str(tmp_path / "nope.pcap"), "--state", str(tmp_path / "s")]) == 1
    )
    assert "watch: cannot read" in capsys.readouterr().err


def test_tcp_frame_letters() -> None:
    from controlplane.software_stats import packet_letters, parse_fields

    syn = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=22, flags="S"))
    f = parse_fields(syn)
    assert (f.protocol, f.src_port, f.dst_port, f.tcp_flags, f.is_fragment, f.is_ipv4) == (
        6,
        1234,
        22,
        2,
        0,
        1,
    )
    assert packet_letters(f) == "S"
    data = bytes(Ether() / IP() / TCP(flags="PA") / b"hello")
    assert packet_letters(parse_fields(data)) == "D"
    frag = bytes(Ether() / IP(flags="MF", frag=0) / UDP(sport=1, dport=2) / (b"x" * 8))
    later = bytes(Ether() / IP(frag=10, proto=17) / (b"y" * 16))
    assert parse_fields(frag).is_fragment == 1 and parse_fields(frag).src_port == 1
    assert parse_fields(later).is_fragment == 1 and parse_fields(later).src_port == 0
