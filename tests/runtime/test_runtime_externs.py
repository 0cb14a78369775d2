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


def test_digest_batching_dedup_and_ack() -> None:
    clock = FakeClock()
    q = DigestQueue(clock)
    q.emit(7, (1, 2))  # not configured: dropped
    assert q.poll() == [] and q.dropped == 1
    q.set_config(7, DigestConfig(max_timeout_ns=1000, max_list_size=3, ack_timeout_ns=10_000))
    q.emit(7, (1, 2))
    q.emit(7, (1, 2))  # duplicate of a buffered sample
    q.emit(7, (3, 4))
    assert q.poll() == []
    assert q.next_deadline_ns() == 1000
    clock.now = 1000
    (b,) = q.poll()
    assert (b.digest_id, b.list_id, b.samples) == (7, 1, [(1, 2), (3, 4)])
    # sent but not acked: filtered
    q.emit(7, (1, 2))
    q.emit(7, (5, 6))
    q.emit(7, (7, 8))
    q.emit(7, (9, 10))  # third new sample fills the list at once
    (b2,) = q.poll()
    assert (b2.list_id, b2.samples) == (2, [(5, 6), (7, 8), (9, 10)])
    assert q.ack(7, 1)
    assert not q.ack(7, 1)
    q.emit(7, (1, 2))
    clock.now = 2000
    (b3,) = q.poll()
    assert (b3.list_id, b3.samples) == (3, [(1, 2)])
    # ack timeout lifts the filter for list 2
    clock.now = 1000 + 10_000
    q.poll()
    q.emit(7, (5, 6))
    clock.now += 1000
    assert q.poll()[0].samples == [(5, 6)]


def test_digest_zero_timeout_sends_at_once() -> None:
    woken = []
    q = DigestQueue(FakeClock())
    q.on_ready = lambda: woken.append(1)
    q.set_config(1, DigestConfig(max_timeout_ns=0, max_list_size=10, ack_timeout_ns=0))
    q.emit(1, (42,))
    assert woken == [1]
    assert [b.samples for b in q.poll()] == [[(42,)]]
    q.emit(1, (42,))  # ack_timeout 0: no filter once sent
    assert [b.samples for b in q.poll()] == [[(42,)]]
