"""Registers, counters, meters (BMv2 trTCM), PRE and the digest queue."""

from __future__ import annotations

import pytest

from softswitch.runtime import (
    GREEN,
    RED,
    YELLOW,
    ActionCall,
    CloneSession,
    Code,
    DeviceState,
    DigestConfig,
    DigestQueue,
    LpmMatch,
    MeterConfig,
    MeterState,
    RuntimeStateError,
)


def test_register_width_and_out_of_range(state: DeviceState) -> None:
    r = state.registers["MyIngress.flow_reg"]
    assert (r.size, r.bitwidth) == (16, 32)
    r.write(3, 0x1_2345_6789)
    assert r.read(3) == 0x2345_6789
    r.write(16, 5)  # ignored, as BMv2 does
    assert r.read(16) == 0
    assert state.registers_by_id[373369485] is r


def test_counter_counts_packets_and_bytes(state: DeviceState) -> None:
    c = state.counters["MyIngress.port_counter"]
    c.count(1, 64)
    c.count(1, 1500)
    c.count(512, 99)  # out of range: ignored
    assert c.read(1) == (1564, 2)
    assert c.read(512) == (0, 0)
    c.write(1, 0, 0)
    assert c.read(1) == (0, 0)


def test_unconfigured_meter_is_green(state: DeviceState) -> None:
    m = state.meters["MyIngress.port_meter"]
    assert [m.execute(0, 1500, t) for t in range(5)] == [GREEN] * 5
    assert m.execute(99, 1, 0) == GREEN


def test_packet_meter_two_rate_three_color() -> None:
    m = MeterState("PACKETS")
    m.configure(MeterConfig(cir=1000, cburst=2, pir=2000, pburst=3))
    t = 1_000_000
    assert [m.execute(1500, t) for _ in range(4)] == [GREEN, GREEN, YELLOW, RED]
    # 1 ms later: PIR bucket +2 tokens, CIR bucket +1 token
    t += 1000
    assert [m.execute(1500, t) for _ in range(3)] == [GREEN, YELLOW, RED]
    m.configure(None)
    assert m.execute(1, t) == GREEN


def test_byte_meter_direct_on_entry(state: DeviceState) -> None:
    t = state.tables["MyIngress.ipv4_lpm"]
    e = t.insert((LpmMatch(0x0A000000, 8),), 0, ActionCall(28792405, (1, 2)))
    assert e.execute_meter(100, 0) == GREEN  # unconfigured
    assert e.meter is not None
    # 1000 B/s committed, burst 1500; 2000 B/s peak, burst 3000
    e.meter.configure(MeterConfig(cir=1000, cburst=1500, pir=2000, pburst=3000))
    now = 5_000_000
    assert e.execute_meter(1000, now) == GREEN  # P 3000->2000, C 1500->500
    assert e.execute_meter(1000, now) == YELLOW  # P 2000->1000, C 500 < 1000
    assert e.execute_meter(1000, now) == YELLOW  # P 1000->0
    assert e.execute_meter(1, now) == RED
    # half a second later: P +1000, C +500
    assert e.execute_meter(1000, now + 500_000) == GREEN


def test_meter_cir_above_pir_refused() -> None:
    m = MeterState("BYTES")
    with pytest.raises(RuntimeStateError) as ei:
        m.configure(MeterConfig(cir=10, cburst=1, pir=5, pburst=1))
    assert ei.value.code == Code.INVALID_ARGUMENT


def test_pre_groups_and_sessions(state: DeviceState) -> None:
    pre = state.pre
    pre.insert_group(1, [(1, 0), (2, 0), (3, 1)])
    assert pre.multicast(1) == [(1, 0), (2, 0), (3, 1)]
    assert pre.multicast(2) == []
    with pytest.raises(RuntimeStateError) as ei:
        pre.insert_group(1, [])
    assert ei.value.code == Code.ALREADY_EXISTS
    pre.modify_group(1, [(4, 0)])
    assert pre.multicast(1) == [(4, 0)]
    pre.delete_group(1)
    with pytest.raises(RuntimeStateError) as ei:
        pre.delete_group(1)
    assert ei.value.code == Code.NOT_FOUND
    pre.insert_session(CloneSession(5, [(64, 1)], 0, 128))
    s = pre.clone_session(5)
    assert s is not None and s.replicas == [(64, 1)] and s.packet_length_bytes == 128
    assert pre.clone_session(6) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


MS = 1_000_000


def test_a_sample_before_the_digest_entry_waits_in_the_device_buffer() -> None:
    """BMv2: up to 16 samples for up to 1 s before any DigestEntry; one that comes
    meanwhile gets them once that second is over (the wait it began keeps its deadline)
    and sends them on PI's timeout sweep (100 ms at least, a sample waits one to two)."""
    clock = FakeClock()
    q = DigestQueue(clock)
    q.emit(7, (1,))
    assert q.poll() == [] and q.dropped == 0
    clock.now = 500 * MS
    q.set_config(7, DigestConfig(max_timeout_ns=10 * MS, max_list_size=64, ack_timeout_ns=0))
    clock.now = 999 * MS
    assert q.poll() == []
    assert q.next_deadline_ns() == 1000 * MS
    clock.now = 1000 * MS
    assert q.poll() == []  # with the server now, waiting for its sweep
    assert q.next_deadline_ns() == 1100 * MS  # the sweep ticks every 100 ms from 500 ms
    clock.now = 1100 * MS
    assert q.poll() == []  # first visit
    clock.now = 1200 * MS
    (b,) = q.poll()
    assert (b.digest_id, b.list_id, b.samples) == (7, 1, [(1,)])


def test_without_a_digest_entry_the_device_buffer_is_dropped_when_full_or_late() -> None:
    clock = FakeClock()
    q = DigestQueue(clock)
    for i in range(17):  # 16 fill the buffer: dropped; the 17th starts the next
        q.emit(3, (i,))
    assert q.dropped == 16 and q.poll() == []
    clock.now = 1000 * MS
    assert q.poll() == [] and q.dropped == 17
    q.set_config(3, DigestConfig(max_timeout_ns=0, max_list_size=1))
    assert q.poll() == []  # nothing was left to deliver


def test_a_zero_timeout_holds_samples_until_the_list_is_full() -> None:
    """BMv2: max_timeout_ns 0 turns the device timeout off, so samples wait for
    max_list_size of them; with max_list_size 1 each goes at once."""
    woken: list[int] = []
    q = DigestQueue(FakeClock())
    q.on_ready = lambda: woken.append(1)
    q.set_config(1, DigestConfig(max_timeout_ns=0, max_list_size=3, ack_timeout_ns=0))
    q.emit(1, (1,))
    q.emit(1, (2,))
    assert q.poll() == [] and q.next_deadline_ns() is None and woken == []
    q.emit(1, (3,))
    assert woken == [1]
    assert [b.samples for b in q.poll()] == [[(1,), (2,), (3,)]]
    q.set_config(1, DigestConfig(max_timeout_ns=0, max_list_size=1, ack_timeout_ns=0))
    q.emit(1, (42,))
    q.emit(1, (42,))  # ack_timeout 0: nothing held once sent
    assert [b.samples for b in q.poll()] == [[(42,)], [(42,)]]


def test_digest_dedup_acks_and_the_ack_sweep() -> None:
    clock = FakeClock()
    q = DigestQueue(clock)
    q.set_config(7, DigestConfig(max_timeout_ns=10 * MS, max_list_size=2, ack_timeout_ns=MS))
    q.emit(7, (1, 2))
    q.emit(7, (1, 2))  # in the device buffer: filtered
    q.emit(7, (3, 4))  # the second fills the list
    (b,) = q.poll()
    assert (b.list_id, b.samples) == (1, [(1, 2), (3, 4)])
    q.emit(7, (1, 2))  # sent, not acknowledged: filtered
    assert q.ack(7, 1) and not q.ack(7, 1)
    q.emit(7, (1, 2))
    q.emit(7, (5, 6))
    (b2,) = q.poll()
    assert (b2.list_id, b2.samples) == (2, [(1, 2), (5, 6)])
    # not acknowledged: the ack sweep (every 100 ms, ack_timeout_ns below that) releases
    # the list on its second visit
    clock.now = 100 * MS
    q.poll()
    q.emit(7, (5, 6))
    clock.now = 150 * MS
    assert q.poll() == []  # still held: the emit was filtered
    clock.now = 200 * MS
    q.poll()
    q.emit(7, (5, 6))
    q.emit(7, (9, 9))
    assert [b.list_id for b in q.poll()] == [3]
    # deleting the config leaves the device buffer (BMv2 does nothing there): a new
    # config gets what it holds; list ids go on
    q.emit(7, (11, 11))
    q.set_config(7, None)
    assert q.config(7) is None and q.poll() == []
    q.set_config(7, DigestConfig(max_timeout_ns=0, max_list_size=1))
    q.emit(7, (12, 12))
    assert [(b.list_id, b.samples) for b in q.poll()] == [(4, [(11, 11)]), (5, [(12, 12)])]
