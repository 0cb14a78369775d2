"""Tables: match kinds, priorities, const entries, default actions, hit/miss,
switch on action_run, direct counters."""

from __future__ import annotations

from engine_harness import Switch, load

from softswitch.runtime import ActionCall, ExactMatch, LpmMatch, OptionalMatch


def key(k8: int, addr: int, port: int, opt: int) -> bytes:
    return bytes([k8]) + addr.to_bytes(4, "big") + port.to_bytes(2, "big") + bytes([opt])


def run(sw: Switch, k8: int = 0, addr: int = 0, port: int = 0, opt: int = 0) -> tuple[int, bytes]:
    out = sw.run(0, key(k8, addr, port, opt))
    assert len(out) == 1
    port_out, data = out[0]
    assert data[:8] == key(k8, addr, port, opt)
    return port_out, data[8:]


def aid(sw: Switch, name: str) -> int:
    return sw.state.action_ids[name]


def test_defaults_and_const_entries() -> None:
    sw = load("tables.p4")
    # exact miss -> default set_exact(0xEE) (flags|1 via action_run), lpm miss,
    # tern const (_, 1) hit with value 3, range miss -> 0xFF, optional default 0
    port, r = run(sw, k8=1, addr=0x0B000000, port=5000)
    assert port == 3
    assert r == bytes([0xEE, 0, 3, 0xFF, 0, 1 | 8])
    # const entries: first matching entry in program order wins
    assert run(sw, k8=1, addr=0x0A010203)[1][2] == 1
    assert run(sw, k8=1, addr=0x0B010203)[1][2] == 3
    assert run(sw, k8=2, addr=0x0A010203)[1][2] == 0
    assert run(sw, port=1000)[1][3] == 1
    assert run(sw, port=1500)[1][3] == 2
    assert run(sw, port=8080)[1][3] == 3
    assert run(sw, port=0)[1][3] == 0xFF
    assert run(sw, k8=9)[0] == 4


def test_runtime_entries_and_counters() -> None:
    sw = load("tables.p4")
    t = sw.state.tables
    e = t["I.exact_t"].insert((ExactMatch(7),), 0, ActionCall(aid(sw, "I.set_exact"), (0x77,)))
    t["I.exact_t"].insert((ExactMatch(8),), 0, ActionCall(aid(sw, "I.other"), ()))
    t["I.lpm_t"].insert((LpmMatch(0x0A000000, 8),), 0, ActionCall(aid(sw, "I.set_lpm"), (8,)))
    t["I.lpm_t"].insert((LpmMatch(0x0A010000, 16),), 0, ActionCall(aid(sw, "I.set_lpm"), (16,)))
    t["I.opt_t"].insert(
        (OptionalMatch(None), ExactMatch(7)), 1, ActionCall(aid(sw, "I.set_opt"), (1,))
    )
    t["I.opt_t"].insert(
        (OptionalMatch(5), ExactMatch(7)), 2, ActionCall(aid(sw, "I.set_opt"), (2,))
    )
    _, r = run(sw, k8=7, addr=0x0A010101, opt=5)
    assert r == bytes([0x77, 16, 0, 0xFF, 2, 1 | 4])  # tern_t needs k8 == 1: miss
    _, r = run(sw, k8=7, addr=0x0A020101, opt=6)
    assert r == bytes([0x77, 8, 0, 0xFF, 1, 1 | 4])
    _, r = run(sw, k8=8)
    assert r[0] == 0 and r[5] == 0x40 | 2
    assert (e.direct_packets, e.direct_bytes) == (2, 16)  # 8-byte packets
    # a new default action takes effect at once
    t["I.exact_t"].set_default_action(ActionCall(aid(sw, "I.set_exact"), (0x55,)))
    assert run(sw, k8=99)[1][0] == 0x55
