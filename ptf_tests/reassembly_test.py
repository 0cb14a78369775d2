"""Reassembly over veths: in-order streams tagged, duplicates dropped, everything the
switch cannot keep in order handed to software without losing or reordering a byte."""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from reasm_helpers import ORIG, RESP, Conn, ReassemblyTest

from feedback_header.records import FallbackReason, StreamState

FALLBACK, CLOSED = StreamState.FALLBACK, StreamState.CLOSED


@skip_unless_root
class InOrderBothDirectionsTest(ReassemblyTest):
    """Both directions interleaved, in order: every data segment tagged with its offset."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = Conn(42001)
        self.open(c)
        steps = [
            (c.o("PA", 0, b"GET / HTTP/1.1\r\n"), ORIG, 0),
            (c.r("PA", 0, b"HTTP/1.1 200 OK\r\n"), RESP, 0),
            (c.o("PA", 16, b"Host: x\r\n\r\n"), ORIG, 16),
            (c.r("PA", 17, b"\r\nbody"), RESP, 17),
        ]
        for frame, direction, offset in steps:
            self.send(frame)
            self.expect_segment(c, frame, direction, offset)
        ack = c.o("A", 27)
        self.send(ack)
        self.assertIsNone(self.expect_original(ack))
        self.expect_nothing()
        self.assertEqual(self.delta("IN_ORDER"), 4)
        self.assertEqual(self.delta("OPENED"), 1)


@skip_unless_root
class DuplicateDroppedTest(ReassemblyTest):
    """An exact duplicate and a retransmission inside delivered bytes are dropped and
    counted; one with other bytes too (first copy wins)."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = Conn(42002)
        self.open(c)
        first = c.o("PA", 0, b"abcdef")
        self.send(first)
        self.expect_segment(c, first, ORIG, 0)
        for dup in (first, c.o("PA", 2, b"cd"), c.o("PA", 0, b"XXXXXX")):
            self.send(dup)
        nxt = c.o("PA", 6, b"gh")
        self.send(nxt)
        self.expect_segment(c, nxt, ORIG, 6)
        self.expect_nothing()
        self.assertEqual(self.delta("DUPLICATE"), 3)


@skip_unless_root
class ReorderedFallsBackTest(ReassemblyTest):
    """A segment ahead of the expected one, with the hold budget at 0 (budget exceeded):
    fallback at the offsets delivered so far; the late segment and everything after pass
    unmodified, marked FALLBACK; nothing is dropped from then on, duplicates included."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = Conn(42003)
        self.open(c)
        a, b2, b1 = c.o("PA", 0, b"0123"), c.o("PA", 8, b"89"), c.o("PA", 4, b"4567")
        self.send(a)
        self.expect_segment(c, a, ORIG, 0)
        self.send(b2)
        self.expect_mode(c, b2, FALLBACK, FallbackReason.BUFFER_OVERFLOW, (4, 0))
        for f in (b1, b1, c.r("PA", 0, b"ok")):
            self.send(f)
            self.expect_mode(c, f, FALLBACK, FallbackReason.BUFFER_OVERFLOW, (4, 0))
        self.expect_nothing()
        self.assertEqual(self.delta("FALLBACK"), 1)
        self.assertEqual(self.delta("SOFTWARE"), 3)


@skip_unless_root
class LostSegmentTest(ReassemblyTest):
    """A segment lost before the switch: the gap never fills; the connection is
    software's from the gap on and the responder's stream offset is kept too."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = Conn(42004)
        self.open(c)
        r0 = c.r("PA", 0, b"220 hello\r\n")
        self.send(r0)
        self.expect_segment(c, r0, RESP, 0)
        after_gap = c.r("PA", 20, b"more")
        self.send(after_gap)
        self.expect_mode(c, after_gap, FALLBACK, FallbackReason.BUFFER_OVERFLOW, (0, 11))
        self.expect_nothing()


@skip_unless_root
class PartialOverlapTest(ReassemblyTest):
    """A segment with old and new bytes: fallback, passed unmodified."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = Conn(42005)
        self.open(c)
        a = c.o("PA", 0, b"0123")
        self.send(a)
        self.expect_segment(c, a, ORIG, 0)
        over = c.o("PA", 2, b"2345")
        self.send(over)
        self.expect_mode(c, over, FALLBACK, FallbackReason.PARTIAL_OVERLAP, (4, 0))
        self.expect_nothing()


@skip_unless_root
class FinAndRstTest(ReassemblyTest):
    """FINs take one sequence number each and close the session (CLOSED record with the
    final offsets); a RST in the middle of another connection ends it at once."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = Conn(42006)
        self.open(c)
        data = c.o("PA", 0, b"bye")
        self.send(data)
        self.expect_segment(c, data, ORIG, 0)
        fin_data = c.r("FPA", 0, b"ok")
        self.send(fin_data)
        self.expect_segment(c, fin_data, RESP, 0)
        fin = c.o("FA", 3)
        self.send(fin)
        self.expect_mode(c, fin, CLOSED, FallbackReason.NONE, (4, 3))
        last_ack = c.o("A", 4)
        self.send(last_ack)
        self.assertIsNone(self.expect_original(last_ack))

        d = Conn(42007)
        self.open(d)
        x = d.o("PA", 0, b"xy")
        self.send(x)
        self.expect_segment(d, x, ORIG, 0)
        rst = d.r("RA", 0)
        self.send(rst)
        self.expect_mode(d, rst, CLOSED, FallbackReason.NONE, (2, 0))
        late = d.o("PA", 2, b"zz")  # no session any more: untouched, no record
        self.send(late)
        self.assertIsNone(self.expect_original(late))
        self.expect_nothing()
        self.assertEqual(self.delta("CLOSED"), 2)


@skip_unless_root
class SequenceWrapTest(ReassemblyTest):
    """Sequence numbers wrap at 2^32 in the middle of the stream; offsets do not."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = Conn(42008, isn_o=(1 << 32) - 3, isn_r=(1 << 32) - 1)
        self.open(c)
        for off, payload in ((0, b"abcd"), (4, b"efgh")):
            f = c.o("PA", off, payload)
            self.send(f)
            self.expect_segment(c, f, ORIG, off)
        r = c.r("PA", 0, b"12")
        self.send(r)
        self.expect_segment(c, r, RESP, 0)
        self.send(c.o("PA", 2, b"cd"))  # a duplicate across the wrap: dropped
        self.expect_nothing()
        self.assertEqual(self.delta("DUPLICATE"), 1)


@skip_unless_root
class CollisionTest(ReassemblyTest):
    """With one session slot, a second connection's SYN-ACK finds it taken: marked
    HASH_COLLISION (flow id 0) and that connection passes untouched."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(slots=1)
        c, d = Conn(42009), Conn(42010)
        self.open(c)
        self.conns.append(d)
        sa = d.syn_ack()
        self.send(sa)
        self.expect_mode(None, sa, FALLBACK, FallbackReason.HASH_COLLISION, (0, 0))
        x = d.o("PA", 0, b"zz")
        self.send(x)
        self.assertIsNone(self.expect_original(x))
        self.expect_nothing()
        self.assertEqual(self.delta("COLLISION"), 1)
