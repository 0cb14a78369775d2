"""`watch --interface` live: frames written on one end of a veth pair of our own.

No switch is involved: the frames, with feedback headers built by the codec, are sent
with an AF_PACKET socket on hcw0 and `python -m controlplane watch --interface hcw1`
runs as a subprocess. The JSON records are checked field by field against literal
values, and --strip-pcap against the frames before their headers went in.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import ROOT, requires_root

from controlplane import state as state_mod
from controlplane.groups import group_index
from feedback_header.codec import encode, history_value, insert
from feedback_header.records import Collision, CounterReport, ThresholdAlert
from pktio.pcap import open_capture

pytestmark = requires_root

SEND_IF, WATCH_IF = "hcw0", "hcw1"
VICTIM = 0xC6336407  # 198.51.100.7
ETH = bytes.fromhex("020000000002020000000001")  # dst, src


def _ip(cmd: str) -> None:
    subprocess.run(["ip", *cmd.split()], check=True, capture_output=True)


@pytest.fixture
def veth_pair() -> Iterator[tuple[str, str]]:
    """hcw0 <-> hcw1, IPv6 off before they come up (no router solicitations, no MLD)."""
    subprocess.run(["ip", "link", "del", SEND_IF], capture_output=True, check=False)
    _ip(f"link add {SEND_IF} type veth peer name {WATCH_IF}")
    try:
        for name in (SEND_IF, WATCH_IF):
            Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1")
            _ip(f"link set dev {name} up")
        yield SEND_IF, WATCH_IF
    finally:
        _ip(f"link del {SEND_IF}")


def _udp_frame(vlan: bool = False) -> bytes:
    """Ethernet (optionally 802.1Q VLAN 100) / IPv4 198.51.100.9 -> .7 / UDP 53 -> 4444."""
    payload = b"dns-response" + bytes(20)
    udp = (53).to_bytes(2, "big") + (4444).to_bytes(2, "big")
    udp += (8 + len(payload)).to_bytes(2, "big") + b"\0\0" + payload
    ip = bytes.fromhex("4500") + (20 + len(udp)).to_bytes(2, "big")
    ip += bytes.fromhex("00010000 4011 0000 c6336409") + VICTIM.to_bytes(4, "big")
    tag = bytes.fromhex("8100 0064") if vlan else b""
    return ETH + tag + b"\x08\x00" + ip + udp


REPORT = CounterReport(
    rule_slot=2,
    report_reason=1,
    key_ipv4_dst=VICTIM,
    packets=1250,
    bytes=5_000_000,
    interval_start=4_732_688,
    interval_end=4_939_369,
    history=history_value("SAD"),
    rule_id=5,
)
ALERT = ThresholdAlert(
    rule_slot=1,
    threshold_kind=2,
    key_ip_proto=1,
    key_ipv4_dst=VICTIM,
    value=2_002_000,
    threshold=2_000_000,
    interval_start=4_939_804,
    rule_id=8,
)
COLLISION = Collision(
    rule_slot=3,
    key_ipv4_src=0x0A010203,
    key_l4_dst_port=22,
    hash_index=2209,
    rule_id=3,
)

KEY0 = {
    "ingress_port": 0,
    "ip_proto": 0,
    "tcp_flags": 0,
    "ipv4_src": "0.0.0.0",
    "ipv4_dst": "0.0.0.0",
    "l4_src_port": 0,
    "l4_dst_port": 0,
}
EXPECTED: list[dict[str, Any]] = [
    {
        "type": "counter_report",
        "rule_slot": 2,
        "report_reason": "INTERVAL",
        "key": KEY0 | {"ipv4_dst": "198.51.100.7"},
        "packets": 1250,
        "bytes": 5000000,
        "interval_start": 4732688,
        "interval_end": 4939369,
        "history": "SAD",
        "rule_id": 5,
        "rule": "ddos-dns-response",
        "header": {
            "version": 1,
            "flags": [],
            "device_id": 1,
            "timestamp": 4939370,
            "orig_ethertype": 0x0800,
        },
    },
    {
        "type": "threshold_alert",
        "rule_slot": 1,
        "threshold_kind": "BYTES",
        "key": KEY0 | {"ip_proto": 1, "ipv4_dst": "198.51.100.7"},
        "value": 2002000,
        "threshold": 2000000,
        "interval_start": 4939804,
        "rule_id": 8,
        "rule": "ddos-icmp",
        "header": {
            "version": 1,
            "flags": ["RECORDS_DROPPED"],
            "device_id": 7,
            "timestamp": 4989096,
            "orig_ethertype": 0x0800,
        },
    },
    {
        "type": "collision",
        "rule_slot": 3,
        "key": KEY0 | {"ipv4_src": "10.1.2.3", "l4_dst_port": 22},
        "hash_index": 2209,
        "rule_id": 3,
        "rule": None,  # not in the state file: watch cannot name it
        "header": {
            "version": 1,
            "flags": ["RECORDS_DROPPED"],
            "device_id": 7,
            "timestamp": 4989096,
            "orig_ethertype": 0x0800,
        },
    },
    {
        "type": "counter_report",
        "rule_slot": 2,
        "report_reason": "INTERVAL",
        "key": KEY0 | {"ipv4_dst": "198.51.100.7"},
        "packets": 1250,
        "bytes": 5000000,
        "interval_start": 4732688,
        "interval_end": 4939369,
        "history": "SAD",
        "rule_id": 5,
        "rule": "ddos-dns-response",
        "header": {
            "version": 1,
            "flags": [],
            "device_id": 1,
            "timestamp": 5000000,
            "orig_ethertype": 0x0800,
        },
    },
    {
        "type": "counter_report",
        "rule_slot": 2,
        "report_reason": "INTERVAL",
        "key": KEY0 | {"ipv4_dst": "198.51.100.7"},
        "packets": 1250,
        "bytes": 5000000,
        "interval_start": 4732688,
        "interval_end": 4939369,
        "history": "SAD",
        "rule_id": 5,
        "rule": "ddos-dns-response",
        "header": {
            "version": 1,
            "flags": [],
            "device_id": 1,
            "timestamp": 6000000,
            "orig_ethertype": 0x0000,
        },
    },
]


def _frames() -> tuple[list[bytes], list[bytes]]:
    """(frames sent, frames the monitor must get after stripping), in order."""
    plain, tagged = _udp_frame(), _udp_frame(vlan=True)
    with_report = insert(plain, [REPORT], device_id=1, timestamp=4_939_370)
    two = insert(plain, [ALERT, COLLISION], device_id=7, timestamp=4_989_096, flags=0x02)
    # the header goes after the VLAN tag, which the kernel takes off the frame into
    # metadata on receipt and the capture has to put back
    on_vlan = insert(tagged, [REPORT], device_id=1, timestamp=5_000_000)
    records_only = encode(ETH, [REPORT], bytes(30), device_id=1, timestamp=6_000_000)
    malformed = bytearray(with_report)
    malformed[14 + 6] = 2  # tlv_count 2, one TLV present
    sent = [plain, with_report, two, on_vlan, records_only, bytes(malformed)]
    # records-only: nothing for the monitor; malformed TLVs behind a sound fixed part:
    # the original still goes to the monitor
    monitor = [plain, plain, plain, tagged, plain]
    return sent, monitor


def _capturing(ifname: str) -> bool:
    """A packet socket is bound to `ifname` (watch has opened its capture)."""
    idx = socket.if_nametoindex(ifname)
    lines = Path("/proc/net/packet").read_text().splitlines()[1:]
    return any(int(line.split()[4]) == idx for line in lines)


def test_watch_interface_exact_records_and_strip(
    veth_pair: tuple[str, str], tmp_path: Path
) -> None:
    send_if, watch_if = veth_pair
    sent, monitor = _frames()
    state_path = tmp_path / "state.json"
    state_mod.save(
        state_mod.State(
            rules=[
                state_mod.InstalledRule("ddos-dns-response", 5, 2, 1, {"dst_addr": 0xFFFFFFFF}),
                state_mod.InstalledRule("ddos-icmp", 8, 1, 1, {"dst_addr": 0xFFFFFFFF}),
            ]
        ),
        state_path,
    )
    json_out, stripped = tmp_path / "records.jsonl", tmp_path / "monitor.pcap"
    cmd = [sys.executable, "-m", "controlplane", "watch", "--interface", watch_if]
    cmd += ["--count", str(len(sent)), "--timeout", "20", "--json-out", str(json_out)]
    cmd += ["--strip-pcap", str(stripped), "--state", str(state_path)]
    t0 = time.time()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 15
        while not _capturing(watch_if):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "watch did not open its capture"
            time.sleep(0.05)
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
            s.bind((send_if, 0))
            for frame in sent:
                s.send(frame)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    t1 = time.time()
    assert proc.returncode == 0, err
    assert out == ""
    assert err.splitlines() == [
        f"watch: frame 6 (ts {err.split('(ts ')[1].split(')')[0]}): malformed feedback header: "
        "offset 20: tlv_count 2 but 1 TLVs fill the header",
        "watch: 6 packets, 5 with a feedback header, 5 records, 1 malformed",
    ]

    got = [json.loads(line) for line in json_out.read_text().splitlines()]
    for r in got:
        assert t0 <= r.pop("ts") <= t1
    assert got == EXPECTED

    with open_capture(stripped) as cap:
        frames = [rec.data for rec in cap]
    assert frames == monitor

    # the group keys seen go to the state file, under the P4's group_totals index
    st = state_mod.load(state_path)
    report_key = EXPECTED[0]["key"]
    assert st.group_keys[f"2/{group_index(5, report_key)}"] == {
        "rule": "ddos-dns-response",
        "rule_id": 5,
        "key": report_key,
    }
    assert set(st.group_keys) == {
        f"2/{group_index(5, report_key)}",
        f"1/{group_index(8, EXPECTED[1]['key'])}",
        f"3/{group_index(3, EXPECTED[2]['key'])}",
    }


def test_watch_interface_stopped_by_pid_keeps_its_records(
    veth_pair: tuple[str, str], tmp_path: Path
) -> None:
    """`kill PID` (SIGTERM) ends watch cleanly: records written as they came, summary."""
    send_if, watch_if = veth_pair
    sent, monitor = _frames()
    json_out, stripped = tmp_path / "records.jsonl", tmp_path / "monitor.pcap"
    cmd = [sys.executable, "-m", "controlplane", "watch", "--interface", watch_if]
    cmd += ["--json-out", str(json_out), "--strip-pcap", str(stripped)]
    cmd += ["--state", str(tmp_path / "absent.json"), "--timeout", "30"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 15
        while not _capturing(watch_if):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "watch did not open its capture"
            time.sleep(0.05)
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
            s.bind((send_if, 0))
            for frame in sent[:3]:
                s.send(frame)
        # the records reach the file while watch still runs (line-buffered)
        while len(json_out.read_text().splitlines()) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, json_out.read_text()
            time.sleep(0.05)
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert err == "watch: 3 packets, 2 with a feedback header, 3 records, 0 malformed\n"
    got = [json.loads(line) for line in json_out.read_text().splitlines()]
    assert [(r["type"], r["rule"]) for r in got] == [
        ("counter_report", None),
        ("threshold_alert", None),
        ("collision", None),
    ]
    with open_capture(stripped) as cap:
        assert [rec.data for rec in cap] == monitor[:3]
