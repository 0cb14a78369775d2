"""STF parsing and the STF -> P4Runtime translation, without any switch."""

from __future__ import annotations

import pytest
from p4.config.v1 import p4info_pb2

from conformance import entries, stf
from conformance.runner import compare

SAMPLE = """\
# comment
add test1 503 data.f1:0x****0202 ingress.setb1(val:7, port:3)  # trailing comment
add ex1 extra$0.h:0x25** act1(val:0x25)
setdefault t noop()
remove test1 503 data.f1:0x****0202
mirroring_add 5 4
mc_mgrp_create 1113
mc_node_create 400 6 7
mc_node_associate 1113 0
check_counter ingress.c(3) packets == 2
packet 0 0a 0b0c
expect 2 0a ** 0c $
expect 3 0a0b
wait
"""


def test_parse_every_command() -> None:
    f = stf.parse_text(SAMPLE, "s.stf")
    kinds = [type(c).__name__ for c in f.commands]
    assert kinds == [
        "AddEntry", "AddEntry", "SetDefault", "RemoveEntry", "MirroringAdd", "McGroupCreate",
        "McNodeCreate", "McNodeAssociate", "CheckCounter", "Packet", "Expect", "Expect", "Wait",
    ]  # fmt: skip
    add = f.commands[0]
    assert isinstance(add, stf.AddEntry)
    assert (add.table, add.priority, add.keys) == ("test1", 503, (("data.f1", "0x****0202"),))
    assert add.action == stf.ActionCall("ingress.setb1", (("val", "7"), ("port", "3")))
    node = f.commands[6]
    assert isinstance(node, stf.McNodeCreate) and (node.handle, node.rid, node.ports) == (
        0,
        400,
        (6, 7),
    )
    cc = f.commands[8]
    assert isinstance(cc, stf.CheckCounter)
    assert (cc.name, cc.index, cc.kind, cc.op, cc.value) == ("ingress.c", 3, "packets", "==", 2)
    pkt = f.commands[9]
    assert isinstance(pkt, stf.Packet) and pkt.data == bytes.fromhex("0a0b0c")
    assert f.ports() == [0, 2, 3, 4, 6, 7]


def test_unsupported_command_names_file_and_line() -> None:
    with pytest.raises(stf.StfError, match=r"x\.stf:2: STF command 'frobnicate'"):
        stf.parse_text("wait\nfrobnicate 1\n", "x.stf")


def test_expect_wildcards_prefix_and_exact_length() -> None:
    e = stf.Expect(1, 0, "0a**0c", exact_length=False)
    assert e.matches(bytes.fromhex("0aff0c"))
    assert e.matches(bytes.fromhex("0aff0cdd"))  # a prefix without $
    assert not e.matches(bytes.fromhex("0bff0c"))
    assert not e.matches(bytes.fromhex("0aff"))
    exact = stf.Expect(1, 0, "0a**0c", exact_length=True)
    assert not exact.matches(bytes.fromhex("0aff0cdd"))
    # zero padding up to the minimum frame is accepted only when asked for
    padded = bytes.fromhex("0aff0c") + bytes(11)
    assert not exact.matches(padded)
    assert exact.matches(padded, padded_to=14)
    assert not exact.matches(bytes.fromhex("0aff0c01") + bytes(10), padded_to=14)


def test_compare_reports_the_first_mismatch_per_port() -> None:
    exp = [stf.Expect(3, 1, "aa", False), stf.Expect(4, 1, "bb", False)]
    assert compare(exp, [(1, b"\xaa"), (1, b"\xbb")]) is None
    assert compare(exp, [])[0] == "no-output"  # type: ignore[index]
    kind, reason = compare(exp, [(1, b"\xaa")])  # type: ignore[misc]
    assert kind == "missing-packet" and "line 4" in reason
    kind, reason = compare(exp, [(1, b"\xaa"), (1, b"\xcc")])  # type: ignore[misc]
    assert kind == "wrong-bytes" and "line 4" in reason
    kind, _ = compare(exp, [(1, b"\xaa"), (1, b"\xbb"), (2, b"\x01")])  # type: ignore[misc]
    assert kind == "unexpected-packet"


def _p4info() -> p4info_pb2.P4Info:
    p = p4info_pb2.P4Info()
    t = p.tables.add()
    t.preamble.id, t.preamble.name = 1, "ingress.c.t"
    for fid, name, width, kind in [
        (1, "hdrs.extra[0].h", 16, p4info_pb2.MatchField.TERNARY),
        (2, "hdr.ipv4.dst", 32, p4info_pb2.MatchField.LPM),
        (3, "meta.port", 9, p4info_pb2.MatchField.EXACT),
    ]:
        mf = t.match_fields.add()
        mf.id, mf.name, mf.bitwidth, mf.match_type = fid, name, width, kind
    t.action_refs.add(id=10)
    a = p.actions.add()
    a.preamble.id, a.preamble.name = 10, "ingress.c.set"
    prm = a.params.add()
    prm.id, prm.name, prm.bitwidth = 1, "val", 8
    return p


def test_entry_translation_through_p4info() -> None:
    ix = entries.P4InfoIndex(_p4info())
    cmd = stf.parse_text(
        "add c.t 7 extra$0.h:0x25** ipv4.dst:0x0a000000/8 port:0 set(val:0x07)\n"
    ).commands[0]
    assert isinstance(cmd, stf.AddEntry)
    te = entries.add_entry(ix, cmd)
    assert te.table_id == 1 and te.priority == 8
    tern, lpm, exact = te.match
    assert (tern.ternary.value, tern.ternary.mask) == (b"\x25\x00", b"\xff\x00")
    assert (lpm.lpm.value, lpm.lpm.prefix_len) == (b"\x0a\x00\x00\x00", 8)
    assert exact.exact.value == b"\x00"
    assert te.action.action.params[0].value == b"\x07"


def test_entry_errors_name_the_candidates() -> None:
    ix = entries.P4InfoIndex(_p4info())
    with pytest.raises(entries.EntryError, match="no table named 'nope'"):
        ix.table("nope")
    cmd = stf.parse_text("add t meta.port:1 set(v:1)\n").commands[0]
    assert isinstance(cmd, stf.AddEntry)
    with pytest.raises(entries.EntryError, match="needs parameter 'val'"):
        entries.add_entry(ix, cmd)
    with pytest.raises(entries.EntryError, match="does not fit"):
        entries.parse_number("0x200", 9)


def test_canonical_byte_strings() -> None:
    assert entries.canonical(0) == b"\x00"
    assert entries.canonical(0x1FF) == b"\x01\xff"
