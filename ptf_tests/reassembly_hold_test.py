"""Reassembly holding segments ahead of a gap in the recirculation loop, over veths: on
BMv2 simple_switch_grpc as on softswitch, new packets enter between a held segment's
passes, and it leaves in order once the gap fills, or marked when the connection falls
back or its gap times out (docs/reassembly.md, "Holding")."""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from reasm_helpers import ORIG, RESP, Conn, ReassemblyTest

from feedback_header.records import FallbackReason, StreamState

FALLBACK = StreamState.FALLBACK
# Per connection, in all, gap timeout (µs): long enough for a test to fill the gap.
HOLD = (4, 64, 3_000_000)


@skip_unless_root
class HeldThenReleasedInOrderTest(ReassemblyTest):
    """A reordered segment is held; the missing one is sent: both reach the monitor in
    order with their offsets, nothing falls back."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(hold=HOLD)
        c = Conn(42101)
        self.open(c)
        a, late, fill = c.o("PA", 0, b"0123"), c.o("PA", 8, b"89ab"), c.o("PA", 4, b"4567")
        self.send(a)
        self.expect_segment(c, a, ORIG, 0)
        self.send(late)
        self.expect_nothing()  # held: going round the loop
        self.send(fill)
        self.expect_segment(c, fill, ORIG, 4)
        self.expect_segment(c, late, ORIG, 8)
        self.expect_nothing()
        self.assertEqual(self.delta("HELD"), 1)
        self.assertEqual(self.delta("RELEASED"), 1)
        self.assertEqual(self.delta("FALLBACK"), 0)
        self.assertGreater(self.delta("HOLD_PASS"), 0)


@skip_unless_root
class SeveralHeldReleasedInOrderTest(ReassemblyTest):
    """Three segments held after a gap, sent last first: released in sequence order."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(hold=HOLD)
        c = Conn(42102)
        self.open(c)
        a = c.o("PA", 0, b"aa")
        self.send(a)
        self.expect_segment(c, a, ORIG, 0)
        held = [c.o("PA", 6, b"dd"), c.o("PA", 4, b"cc"), c.r("PA", 0, b"r0")]
        self.send(held[0])
        self.send(held[1])
        self.expect_nothing()
        # The other direction is in order meanwhile.
        self.send(held[2])
        self.expect_segment(c, held[2], RESP, 0)
        fill = c.o("PA", 2, b"bb")
        self.send(fill)
        self.expect_segment(c, fill, ORIG, 2)
        self.expect_segment(c, held[1], ORIG, 4)
        self.expect_segment(c, held[0], ORIG, 6)
        self.expect_nothing()
        self.assertEqual(self.delta("HELD"), 2)
        self.assertEqual(self.delta("FALLBACK"), 0)


@skip_unless_root
class HoldBudgetExhaustedTest(ReassemblyTest):
    """With two segments per connection, a third one ahead of the gap falls back; the
    two held ones leave unmodified, marked FALLBACK: nothing lost."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(hold=(2, 64, 3_000_000))
        c = Conn(42103)
        self.open(c)
        a = c.o("PA", 0, b"0123")
        self.send(a)
        self.expect_segment(c, a, ORIG, 0)
        held = [c.o("PA", 8, b"89"), c.o("PA", 10, b"ab")]
        for f in held:
            self.send(f)
        self.expect_nothing()
        third = c.o("PA", 12, b"cd")
        self.send(third)
        self.expect_mode(c, third, FALLBACK, FallbackReason.BUFFER_OVERFLOW, (4, 0))
        self.expect_modes(c, held, FALLBACK, FallbackReason.BUFFER_OVERFLOW, (4, 0))
        fill = c.o("PA", 4, b"4567")
        self.send(fill)
        self.expect_mode(c, fill, FALLBACK, FallbackReason.BUFFER_OVERFLOW, (4, 0))
        self.expect_nothing()
        self.assertEqual(self.delta("RELEASED"), 2)


@skip_unless_root
class GapTimeoutTest(ReassemblyTest):
    """A gap that does not fill within the gap timeout: the held segment leaves
    unmodified with GAP_TIMEOUT, and the connection is software's."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(hold=(4, 64, 50_000))  # 50 ms
        c = Conn(42104)
        self.open(c)
        a = c.o("PA", 0, b"0123")
        self.send(a)
        self.expect_segment(c, a, ORIG, 0)
        late = c.o("PA", 8, b"89")
        self.send(late)
        self.expect_mode(c, late, FALLBACK, FallbackReason.GAP_TIMEOUT, (4, 0))
        fill = c.o("PA", 4, b"4567")
        self.send(fill)
        self.expect_mode(c, fill, FALLBACK, FallbackReason.GAP_TIMEOUT, (4, 0))
        self.expect_nothing()


@skip_unless_root
class CopyOfHeldSegmentTest(ReassemblyTest):
    """Another copy of a held segment with other bytes is dropped (the held one came
    first); one with the same start and another length: INCONSISTENT_OVERLAP."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(hold=HOLD)
        c = Conn(42105)
        self.open(c)
        a, held = c.o("PA", 0, b"0123"), c.o("PA", 8, b"good")
        self.send(a)
        self.expect_segment(c, a, ORIG, 0)
        self.send(held)
        self.send(c.o("PA", 8, b"evil"))
        self.expect_nothing()
        longer = c.o("PA", 8, b"goodbye")
        self.send(longer)
        self.expect_mode(c, longer, FALLBACK, FallbackReason.INCONSISTENT_OVERLAP, (4, 0))
        self.expect_modes(c, [held], FALLBACK, FallbackReason.INCONSISTENT_OVERLAP, (4, 0))
        self.expect_nothing()
        self.assertEqual(self.delta("DUPLICATE"), 1)


@skip_unless_root
class Ipv6Test(ReassemblyTest):
    """IPv6 connections as IPv4 ones: in order in both directions, a reordered segment
    held and released, and a partial overlap falling back."""

    @autocleanup
    def runTest(self) -> None:
        self.enable(hold=HOLD)
        c = Conn(42106, v6=True)
        self.open(c)
        a, r0 = c.o("PA", 0, b"GET /"), c.r("PA", 0, b"HTTP/1.1")
        for f, direction in ((a, ORIG), (r0, RESP)):
            self.send(f)
            self.expect_segment(c, f, direction, 0)
        late, fill = c.o("PA", 9, b"x"), c.o("PA", 5, b" 1.1")
        self.send(late)
        self.expect_nothing()
        self.send(fill)
        self.expect_segment(c, fill, ORIG, 5)
        self.expect_segment(c, late, ORIG, 9)
        over = c.o("PA", 8, b"1xyz")
        self.send(over)
        self.expect_mode(c, over, FALLBACK, FallbackReason.PARTIAL_OVERLAP, (10, 8))
        self.expect_nothing()
        self.assertEqual(self.delta("OPENED"), 1)
        self.assertEqual(self.delta("HELD"), 1)
