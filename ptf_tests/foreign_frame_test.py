"""Frames the network sends with the feedback EtherType 0x88B5 (docs/feedback-header.md,
"Trust model"): the monitor gets them wrapped in a header of the switch flagged FOREIGN,
`watch` takes no record from them, and stripping the switch's header gives the network's
bytes back exactly. A frame from a port with no monitor entry is dropped like any other."""

from __future__ import annotations

import unittest
from pathlib import Path

from base_test import P4RuntimeTest, autocleanup, skip_unless_root
from feedback_match import clock_mask, describe
from ptf import testutils

from controlplane import pipeline_spec as ps
from controlplane.watch import Watcher
from feedback_header import codec
from feedback_header.records import FeedbackFlags, SynSummary, SynSummaryReason

IN_PORT, MONITOR = 0, 1
DEVICE_ID = 1  # feedback `config` default action: set_device_id(1)
TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "zeek" / "raw_layer.pcap"
L2 = bytes.fromhex("00000000000b000000000001")


def forged(l2: bytes = L2, reason: int = SynSummaryReason.EXPIRED_BY_SWEEP) -> bytes:
    """A host's imitation of a regenerated SYN's header: a SYN summary, flag REGENERATED."""
    rec = SynSummary(
        reason=reason,
        syn_count=1,
        ipv4_src=0x0A000001,
        ipv4_dst=0xC0000250,
        src_port=40000,
        dst_port=22,
        isn=1,
        first_seen=1,
        last_seen=1,
    )
    return codec.encode(
        l2, [rec], bytes(40), orig_ethertype=0x0800, flags=FeedbackFlags.REGENERATED
    )


class ForeignTest(P4RuntimeTest):
    """Port 0 tapped to the monitor on port 1."""

    def tap(self) -> None:
        self.insert_table_entry(
            ps.MONITOR_TABLE,
            {ps.MONITOR_KEY: IN_PORT},
            ps.SEND_TO_MONITOR,
            {ps.SEND_TO_MONITOR_PORT: MONITOR},
        )

    def through(self, frame: bytes) -> bytes:
        """Send `frame` into the tap; the monitor must get it wrapped (clock masked)."""
        testutils.send_packet(self, IN_PORT, frame)
        expected = codec.insert(frame, [], device_id=DEVICE_ID)
        result = testutils.dp_poll(self, device_number=0, port_number=MONITOR, timeout=2)
        if not isinstance(result, self.dataplane.PollSuccess):
            self.fail(f"nothing on port {MONITOR}; expected {describe(expected)}")
        got = bytes(result.packet)
        if not clock_mask(expected).pkt_match(got):
            self.fail(f"got {describe(got)}\n  expected {describe(expected)}")
        return got


@skip_unless_root
class ForgedRecordsAreWrappedTest(ForeignTest):
    """A forged SYN summary (plain, behind two tags, with an undefined reason) reaches the
    monitor wrapped; watch emits nothing, skips nothing, and strips it back exactly."""

    @autocleanup
    def runTest(self) -> None:
        self.tap()
        two_tags = L2 + bytes.fromhex("88a80064810000c8")
        frames = [forged(), forged(two_tags), forged(reason=0)]
        events: list[dict[str, object]] = []
        watch = Watcher(events.append)
        for i, frame in enumerate(frames):
            got = self.through(frame)
            d = codec.decode(got)
            self.assertEqual((d.header.flags, d.records), (FeedbackFlags.FOREIGN, ()))
            watch.feed(i, got)
            self.assertEqual(codec.strip(got), frame)
        testutils.verify_no_other_packets(self)
        self.assertEqual((events, watch.errors, watch.foreign), ([], [], len(frames)))


@skip_unless_root
class ForeignFrameFromUnmonitoredPortIsDroppedTest(ForeignTest):
    """Port 1 has no monitor entry: its frames, 0x88B5 or not, go nowhere."""

    @autocleanup
    def runTest(self) -> None:
        self.tap()
        testutils.send_packet(self, MONITOR, forged())
        testutils.verify_no_other_packets(self)


@skip_unless_root
class RealEtherType88B5TrafficTest(ForeignTest):
    """Zeek's raw_layer.pcap carries a frame with EtherType 0x88B5 that is not ours:
    every frame of the trace comes out of the stripped stream byte for byte."""

    @autocleanup
    def runTest(self) -> None:
        if not TRACE.is_file():
            raise unittest.SkipTest(f"{TRACE.name} not present (shared Zeek traces)")
        from scapy.utils import rdpcap

        frames = [bytes(p) for p in rdpcap(str(TRACE))]
        self.assertTrue(any(codec.find_header(f) is not None for f in frames))
        self.tap()
        events: list[dict[str, object]] = []
        watch = Watcher(events.append)
        for i, frame in enumerate(frames):
            if codec.find_header(frame) is None:
                testutils.send_packet(self, IN_PORT, frame)
                testutils.verify_packet(self, frame, MONITOR)
                continue
            got = self.through(frame)
            watch.feed(i, got)
            self.assertEqual(codec.strip(got), frame)
        testutils.verify_no_other_packets(self)
        self.assertEqual((events, watch.errors), ([], []))
