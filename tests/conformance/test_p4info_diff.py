"""Order-insensitive P4Info comparison."""

from __future__ import annotations

from p4.config.v1 import p4info_pb2

from conformance.p4info_diff import differences


def _p4info(order: list[str], width: int = 8, type_info: bool = False) -> p4info_pb2.P4Info:
    p = p4info_pb2.P4Info()
    for i, name in enumerate(order):
        a = p.actions.add()
        a.preamble.id, a.preamble.name = 100 + sorted(order).index(name), name
        prm = a.params.add()
        prm.id, prm.name, prm.bitwidth = 1, "v", width if i == 0 else 8
    if type_info:
        p.type_info.SetInParent()
    return p


def test_reordered_lists_are_equal() -> None:
    assert differences(_p4info(["a", "b"]), _p4info(["a", "b"])) == []
    first, second = _p4info(["a", "b"]), _p4info(["b", "a"])
    second.actions[1].params[0].bitwidth = 8
    assert differences(first, second) == []


def test_field_and_presence_differences_are_named() -> None:
    diffs = differences(_p4info(["a", "b"], width=16), _p4info(["a", "b"], type_info=True))
    assert diffs == ["actions[a].params[v].bitwidth: 16 != 8", "typeInfo: only in the second"]
    only = differences(_p4info(["a"]), _p4info(["a", "b"]))
    assert only == ["actions[b]: only in the second"]
