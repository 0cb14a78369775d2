"""Table semantics: lookup strategies, priorities, validation, const tables."""

from __future__ import annotations

import pytest

from softswitch.runtime import (
    ActionCall,
    Code,
    DeviceState,
    ExactMatch,
    LpmMatch,
    OptionalMatch,
    RangeMatch,
    RuntimeStateError,
    TernaryMatch,
    wildcard,
)

NOACTION = 21257015
DROP = 25652968
SET_EGRESS = 25797781
IPV4_FWD = 28792405
SET_TAG = 33442339


def egress(port: int) -> ActionCall:
    return ActionCall(SET_EGRESS, (port,))


def fwd(port: int) -> ActionCall:
    return ActionCall(IPV4_FWD, (0x0A0B0C0D0E0F, port))


def ip(s: str) -> int:
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def expect_code(code: Code, fn, *args, **kw) -> RuntimeStateError:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeStateError) as ei:
        fn(*args, **kw)
    assert ei.value.code == code, str(ei.value)
    return ei.value


def test_table_metadata_from_p4info(state: DeviceState) -> None:
    acl = state.tables["MyIngress.acl"]
    assert acl.id == 37519123
    assert acl.key_kinds == ("ternary", "ternary", "range", "optional")
    assert acl.key_widths == (9, 32, 16, 8)
    assert acl.size == 4
    assert acl.needs_priority
    assert state.tables_by_id[35992994] is state.tables["MyIngress.l2_exact"]
    assert state.action_ids["MyIngress.ipv4_forward"] == IPV4_FWD
    assert state.tables["MyIngress.l2_exact"].has_direct_counter
    assert state.tables["MyIngress.ipv4_lpm"].direct_meter_unit == "BYTES"
    # P4Info says nothing of args: NoAction when available, const default otherwise
    assert state.tables["MyIngress.l2_exact"].default_action == ActionCall(NOACTION, ())
    assert state.tables["MyIngress.eth_filter"].default_action == ActionCall(DROP, ())


def test_exact_lookup_insert_modify_delete(state: DeviceState) -> None:
    t = state.tables["MyIngress.l2_exact"]
    e = t.insert((ExactMatch(0x001122334455),), 0, egress(3))
    assert t.lookup((0x001122334455,)) is e
    assert t.lookup((0x001122334456,)) is None
    expect_code(Code.ALREADY_EXISTS, t.insert, (ExactMatch(0x001122334455),), 0, egress(4))
    t.modify((ExactMatch(0x001122334455),), 0, egress(7))
    assert t.lookup((0x001122334455,)).action == ActionCall(SET_EGRESS, (7,))  # type: ignore[union-attr]
    t.delete((ExactMatch(0x001122334455),), 0)
    assert t.lookup((0x001122334455,)) is None
    expect_code(Code.NOT_FOUND, t.delete, (ExactMatch(0x001122334455),), 0)
    expect_code(Code.NOT_FOUND, t.modify, (ExactMatch(1),), 0, egress(1))


def test_lpm_longest_prefix_wins_and_falls_back(state: DeviceState) -> None:
    t = state.tables["MyIngress.ipv4_lpm"]
    t.insert((LpmMatch(ip("10.0.0.0"), 8),), 0, fwd(1))
    t.insert((LpmMatch(ip("10.1.0.0"), 16),), 0, fwd(2))
    t.insert((LpmMatch(ip("10.1.2.0"), 24),), 0, fwd(3))
    t.insert((LpmMatch(0, 0),), 0, fwd(9))  # default route
    assert t.lookup((ip("10.1.2.3"),)).action.args[1] == 3  # type: ignore[union-attr]
    assert t.lookup((ip("10.1.3.3"),)).action.args[1] == 2  # type: ignore[union-attr]
    assert t.lookup((ip("10.200.3.3"),)).action.args[1] == 1  # type: ignore[union-attr]
    assert t.lookup((ip("11.0.0.1"),)).action.args[1] == 9  # type: ignore[union-attr]
    t.delete((LpmMatch(ip("10.1.2.0"), 24),), 0)
    assert t.lookup((ip("10.1.2.3"),)).action.args[1] == 2  # type: ignore[union-attr]
    t.delete((LpmMatch(0, 0),), 0)
    assert t.lookup((ip("11.0.0.1"),)) is None
    # every entry of a direct-metered table carries its own meter
    assert t.get((LpmMatch(ip("10.0.0.0"), 8),), 0).meter is not None  # type: ignore[union-attr]


def test_exact_plus_lpm_table(state: DeviceState) -> None:
    t = state.tables["MyIngress.vrf_lpm"]
    t.insert((ExactMatch(1), LpmMatch(ip("10.0.0.0"), 8)), 0, ActionCall(SET_TAG, (100,)))
    t.insert((ExactMatch(1), LpmMatch(ip("10.9.0.0"), 16)), 0, ActionCall(SET_TAG, (116,)))
    t.insert((ExactMatch(2), LpmMatch(ip("10.0.0.0"), 8)), 0, ActionCall(SET_TAG, (200,)))
    assert t.lookup((1, ip("10.9.1.1"))).action.args == (116,)  # type: ignore[union-attr]
    assert t.lookup((1, ip("10.8.1.1"))).action.args == (100,)  # type: ignore[union-attr]
    assert t.lookup((2, ip("10.9.1.1"))).action.args == (200,)  # type: ignore[union-attr]
    assert t.lookup((3, ip("10.9.1.1"))) is None


def acl_key(
    port: tuple[int, int] | None = None,
    src: tuple[int, int] | None = None,
    dport: tuple[int, int] | None = None,
    proto: int | None = None,
) -> tuple:  # type: ignore[type-arg]
    return (
        TernaryMatch(*port) if port else wildcard("ternary", 9),
        TernaryMatch(*src) if src else wildcard("ternary", 32),
        RangeMatch(*dport) if dport else wildcard("range", 16),
        OptionalMatch(proto),
    )


def test_ternary_range_optional_priority_order(state: DeviceState) -> None:
    t = state.tables["MyIngress.acl"]
    t.insert(acl_key(src=(ip("10.0.0.0"), 0xFF000000)), 10, egress(1))
    t.insert(acl_key(src=(ip("10.1.0.0"), 0xFFFF0000), dport=(80, 90)), 20, egress(2))
    t.insert(acl_key(port=(5, 0x1FF), proto=6), 30, egress(3))
    # key = (ingress_port, srcAddr, dst_port, protocol)
    assert t.lookup((1, ip("10.1.1.1"), 85, 17)).action.args == (2,)  # type: ignore[union-attr]
    assert t.lookup((1, ip("10.1.1.1"), 91, 17)).action.args == (1,)  # type: ignore[union-attr]
    assert t.lookup((5, ip("10.1.1.1"), 85, 6)).action.args == (3,)  # type: ignore[union-attr]
    assert t.lookup((5, ip("10.1.1.1"), 85, 17)).action.args == (2,)  # type: ignore[union-attr]
    assert t.lookup((5, ip("11.1.1.1"), 85, 17)) is None
    # same match, different priority: a distinct entry; the higher one wins
    t.insert(acl_key(src=(ip("10.0.0.0"), 0xFF000000)), 40, egress(4))
    assert t.lookup((1, ip("10.1.1.1"), 85, 17)).action.args == (4,)  # type: ignore[union-attr]
    t.delete(acl_key(src=(ip("10.0.0.0"), 0xFF000000)), 40)
    assert t.lookup((1, ip("10.1.1.1"), 85, 17)).action.args == (2,)  # type: ignore[union-attr]


def test_equal_priority_first_inserted_wins(state: DeviceState) -> None:
    t = state.tables["MyIngress.acl"]
    t.insert(acl_key(src=(ip("10.0.0.0"), 0xFF000000)), 5, egress(1))
    t.insert(acl_key(dport=(0, 100)), 5, egress(2))
    assert t.lookup((0, ip("10.0.0.1"), 50, 0)).action.args == (1,)  # type: ignore[union-attr]


def test_table_full_is_resource_exhausted(state: DeviceState) -> None:
    t = state.tables["MyIngress.acl"]
    for i in range(4):
        t.insert(acl_key(dport=(i, i)), 1, egress(i))
    err = expect_code(Code.RESOURCE_EXHAUSTED, t.insert, acl_key(dport=(9, 9)), 1, egress(9))
    assert "full" in err.message
    t.delete(acl_key(dport=(0, 0)), 1)
    t.insert(acl_key(dport=(9, 9)), 1, egress(9))


@pytest.mark.parametrize(
    ("key", "priority", "what"),
    [
        (acl_key(src=(0x0A000001, 0xFF000000)), 1, "outside its mask"),
        (acl_key(port=(0x200, 0x1FF)), 1, "does not fit"),
        (acl_key(dport=(10, 5)), 1, "low > high"),
        (acl_key(proto=256), 1, "does not fit"),
        (acl_key(dport=(1, 2)), 0, "needs a priority"),
    ],
)
def test_acl_invalid_argument(state: DeviceState, key: tuple, priority: int, what: str) -> None:  # type: ignore[type-arg]
    err = expect_code(
        Code.INVALID_ARGUMENT, state.tables["MyIngress.acl"].insert, key, priority, egress(1)
    )
    assert what in err.message


def test_lpm_and_exact_invalid_argument(state: DeviceState) -> None:
    lpm = state.tables["MyIngress.ipv4_lpm"]
    err = expect_code(Code.INVALID_ARGUMENT, lpm.insert, (LpmMatch(ip("10.1.0.0"), 8),), 0, fwd(1))
    assert "beyond its prefix" in err.message
    expect_code(Code.INVALID_ARGUMENT, lpm.insert, (LpmMatch(0, 33),), 0, fwd(1))
    l2 = state.tables["MyIngress.l2_exact"]
    err = expect_code(Code.INVALID_ARGUMENT, l2.insert, (ExactMatch(1),), 5, egress(1))
    assert "takes no priority" in err.message
    expect_code(Code.INVALID_ARGUMENT, l2.insert, (ExactMatch(1 << 48),), 0, egress(1))
    expect_code(Code.INVALID_ARGUMENT, l2.insert, (TernaryMatch(1, 1),), 0, egress(1))
    # action checks: unknown to table, default-only, arity, width
    expect_code(Code.INVALID_ARGUMENT, l2.insert, (ExactMatch(1),), 0, ActionCall(SET_TAG, (1,)))
    expect_code(Code.INVALID_ARGUMENT, l2.insert, (ExactMatch(1),), 0, ActionCall(NOACTION, ()))
    expect_code(Code.INVALID_ARGUMENT, l2.insert, (ExactMatch(1),), 0, ActionCall(SET_EGRESS, ()))
    expect_code(Code.INVALID_ARGUMENT, l2.insert, (ExactMatch(1),), 0, egress(512))
    assert len(l2) == 0


def test_const_table_and_const_default(state: DeviceState) -> None:
    t = state.tables["MyIngress.eth_filter"]
    t.add_const_entries([((ExactMatch(0x0806),), 0, ActionCall(NOACTION, ()))])
    assert t.lookup((0x0806,)).is_const  # type: ignore[union-attr]
    expect_code(Code.PERMISSION_DENIED, t.insert, (ExactMatch(0x0800),), 0, ActionCall(DROP, ()))
    expect_code(Code.PERMISSION_DENIED, t.delete, (ExactMatch(0x0806),), 0)
    expect_code(Code.PERMISSION_DENIED, t.set_default_action, ActionCall(NOACTION, ()))
    t.clear()
    assert t.lookup((0x0806,)) is not None


def test_default_action_modify_and_reset(state: DeviceState) -> None:
    t = state.tables["MyIngress.l2_exact"]
    t.set_initial_default_action(ActionCall(DROP, ()))
    t.set_default_action(egress(5))
    assert t.default_action == egress(5)
    t.reset_default_action()
    assert t.default_action == ActionCall(DROP, ())
    expect_code(Code.INVALID_ARGUMENT, t.set_default_action, ActionCall(SET_TAG, (1,)))


def test_entry_direct_counter_and_state_reset(state: DeviceState) -> None:
    t = state.tables["MyIngress.l2_exact"]
    e = t.insert((ExactMatch(7),), 0, egress(1))
    e.count(100)
    e.count(60)
    assert (e.direct_packets, e.direct_bytes) == (2, 160)
    state.reset()
    assert len(t) == 0
