"""watch against hostile frames (docs/feedback-header.md, "Trust model"): it never stops on
a frame, counts and skips records the switch could not have written, never turns a forged
SYN summary into a conn.log entry, and hands the network's frames on byte for byte. The
switch side runs the real program in process: a forged frame comes out wrapped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controlplane.cli import main
from controlplane.syn_offload import conn_log_entry
from controlplane.watch import Watcher
from feedback_header import codec
from feedback_header.records import FeedbackFlags, SynSummary, SynSummaryReason
from pktio.pcap import PcapWriter, open_capture
from testbed.nids_switch import NidsSwitch

TRACES = Path(__file__).resolve().parents[3] / "shared" / "traces" / "zeek"
L2 = bytes.fromhex("020000000002020000000001")
T0 = 1_700_000_000 * 10**9


def summary(reason: int = SynSummaryReason.EXPIRED_BY_SWEEP) -> SynSummary:
    return SynSummary(
        reason=reason,
        syn_count=1,
        ipv4_src=0x0A000001,
        ipv4_dst=0xC0000250,
        src_port=40000,
        dst_port=22,
        isn=1,
        first_seen=1_000_000,
        last_seen=1_000_000,
    )


def forged(reason: int = SynSummaryReason.EXPIRED_BY_SWEEP, flags: int = 1) -> bytes:
    """A frame a host can send that looks like a regenerated SYN's header."""
    return codec.encode(L2, [summary(reason)], bytes(40), orig_ethertype=0x0800, flags=flags)


def watcher() -> tuple[Watcher, list[dict[str, Any]], list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    conns: list[dict[str, Any]] = []
    w = Watcher(events.append)
    w.conn_emit = conns.append
    return w, events, conns


def test_reason_zero_is_counted_and_skipped_not_a_traceback() -> None:
    w, events, conns = watcher()
    w.feed(T0, forged(reason=0))
    w.feed(T0 + 1, forged(reason=200))
    assert (events, conns) == ([], [])
    assert w.skipped == 2 and w.records == 0
    assert "syn_summary.reason 0 is not a code this version defines" in w.errors[0]
    assert conn_log_entry(summary(0)) is None


def test_syn_summary_without_regenerated_flag_is_skipped() -> None:
    w, events, conns = watcher()
    w.feed(T0, forged(flags=0))
    assert (events, conns, w.skipped) == ([], [], 1)


def test_unknown_tlv_is_counted_and_skipped() -> None:
    w, events, _ = watcher()
    frame = codec.encode(L2, [codec.UnknownRecord(240, b"\1\2")], orig_ethertype=0)
    w.feed(T0, frame)
    assert events == [] and w.skipped == 1
    assert "unknown TLV type 240" in w.errors[0]


def test_a_genuine_summary_still_becomes_a_conn_log_entry() -> None:
    w, events, conns = watcher()
    w.feed(T0, forged())
    assert [e["type"] for e in events if "type" in e] == ["syn_summary"]
    assert len(conns) == 1 and conns[0]["conn_state"] == "S0"


def monitoring_switch() -> NidsSwitch:
    """main.p4 in process, port 0 monitored on port 1 (nothing else installed)."""
    sw = NidsSwitch()
    sw.install_text("monitor:\n  port: 1\n  ingress_ports: [0]\nstats: []\n")
    return sw


def test_switch_wraps_a_forged_frame_and_watch_ignores_its_records() -> None:
    sw = monitoring_switch()
    frame = forged()
    ((port, out),) = sw.run(0, frame, 5_000_000)
    assert port == 1
    d = codec.decode(out)
    assert d.is_foreign and d.records == () and d.header.tlv_count == 0
    assert d.header.flags == FeedbackFlags.FOREIGN and d.original == frame
    w, events, conns = watcher()
    w.feed(T0, out)
    assert (events, conns, w.skipped, w.foreign) == ([], [], 0, 1)


def test_switch_wraps_behind_vlan_tags_and_not_behind_a_third() -> None:
    sw = monitoring_switch()
    two = L2[:12] + bytes.fromhex("88a80064810000c8")
    frame = codec.encode(two, [summary()], bytes(40), orig_ethertype=0x0800, flags=1)
    ((_, out),) = sw.run(0, frame, 5_000_000)
    d = codec.decode(out)
    assert d.is_foreign and len(d.l2) == 20 and codec.strip(out) == frame
    three = L2[:12] + bytes.fromhex("810000018100000281000003")
    deep = codec.encode(three, [summary()], bytes(40), orig_ethertype=0x0800, flags=1)
    # behind three tags neither the switch nor a decoder sees a header: passed as it is
    assert sw.run(0, deep, 5_000_001) == [(1, deep)]
    assert codec.try_decode(deep) is None


def test_forged_frame_through_watch_and_strip_pcap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sw = monitoring_switch()
    frames = [forged(), forged(reason=0)]
    path = tmp_path / "monitor.pcap"
    with PcapWriter(path) as wr:
        for i, f in enumerate(frames):
            ((_, out),) = sw.run(0, f, 1_000 + i)
            wr.write(out, T0 + i * 1000)
    stripped = tmp_path / "plain.pcap"
    conn = tmp_path / "conn.log"
    rc = main(
        [
            "watch",
            "--pcap",
            str(path),
            "--strip-pcap",
            str(stripped),
            "--conn-log",
            str(conn),
            "--state",
            str(tmp_path / "state.json"),
        ]
    )
    assert rc == 0
    cap = capsys.readouterr()
    assert cap.out == "" and conn.read_text() == ""
    assert cap.err.strip().endswith(
        "watch: 2 packets, 2 with a feedback header, 0 records, 0 malformed, 2 foreign frames"
    )
    with open_capture(stripped) as c:
        assert [r.data for r in c] == frames


@pytest.mark.skipif(not (TRACES / "raw_layer.pcap").is_file(), reason="shared Zeek traces absent")
def test_real_0x88b5_frame_from_raw_layer_pcap_comes_out_unchanged(tmp_path: Path) -> None:
    with open_capture(TRACES / "raw_layer.pcap") as c:
        frames = [r.data for r in c]
    assert any(codec.find_header(f) is not None for f in frames)
    sw = monitoring_switch()
    w, events, _ = watcher()
    outs = []
    for i, f in enumerate(frames):
        ((_, out),) = sw.run(0, f, 1_000 + i)
        outs.append(out)
        w.feed(T0 + i, out)
    assert events == [] and w.errors == []
    assert [codec.strip(o) for o in outs] == frames
    assert w.foreign == 1
