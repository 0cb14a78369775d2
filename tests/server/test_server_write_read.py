"""Write and Read over gRPC: every entity, every match kind, error codes, batches."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4rt_helpers import FakeSwitch, RawClient, write_errors

Update = p4runtime_pb2.Update
Entity = p4runtime_pb2.Entity
WriteRequest = p4runtime_pb2.WriteRequest

L2, LPM, ACL, ETH, VRF = 35992994, 37375156, 37519123, 46393460, 43358271
NOACTION, DROP, SET_EGRESS, IPV4_FWD, SET_TAG = 21257015, 25652968, 25797781, 28792405, 33442339
PORT_COUNTER, L2_COUNTER, PORT_METER, LPM_METER = 318731500, 331961283, 350933998, 362764258
FLOW_REG, LEARN = 373369485, 398033514


def action(te: p4runtime_pb2.TableEntry, action_id: int, *params: bytes) -> None:
    te.action.action.action_id = action_id
    for i, p in enumerate(params, 1):
        te.action.action.params.add(param_id=i, value=p)


def l2(mac: bytes, port: bytes = b"\x01", typ: int = Update.INSERT) -> Update:
    u = Update(type=typ)
    te = u.entity.table_entry
    te.table_id = L2
    te.match.add(field_id=1).exact.value = mac
    if typ != Update.DELETE:
        action(te, SET_EGRESS, port)
    return u


def lpm(value: bytes, plen: int, typ: int = Update.INSERT) -> Update:
    u = Update(type=typ)
    te = u.entity.table_entry
    te.table_id = LPM
    m = te.match.add(field_id=1).lpm
    m.value, m.prefix_len = value, plen
    action(te, IPV4_FWD, b"\x00\x00\x00\x00\x00\x01", b"\x02")
    return u


def acl(
    priority: int,
    port: tuple[bytes, bytes] | None = None,
    src: tuple[bytes, bytes] | None = None,
    dport: tuple[bytes, bytes] | None = None,
    proto: bytes | None = None,
    typ: int = Update.INSERT,
) -> Update:
    u = Update(type=typ)
    te = u.entity.table_entry
    te.table_id = ACL
    te.priority = priority
    if port:
        t = te.match.add(field_id=1).ternary
        t.value, t.mask = port
    if src:
        t = te.match.add(field_id=2).ternary
        t.value, t.mask = src
    if dport:
        r = te.match.add(field_id=3).range
        r.low, r.high = dport
    if proto is not None:
        te.match.add(field_id=4).optional.value = proto
    action(te, SET_EGRESS, b"\x05")
    return u


def read_table(c: RawClient, table_id: int = 0, **kw: object) -> list[p4runtime_pb2.TableEntry]:
    te = p4runtime_pb2.TableEntry(table_id=table_id, **kw)  # type: ignore[arg-type]
    return [e.table_entry for e in c.read(Entity(table_entry=te))]


def codes(e: grpc.RpcError) -> list[int]:
    return [x.canonical_code for x in write_errors(e)]


def fails_with(c: RawClient, *updates: Update, atomicity: int = 0) -> list[p4runtime_pb2.Error]:
    with pytest.raises(grpc.RpcError) as ei:
        c.write(*updates, atomicity=atomicity)
    return write_errors(ei.value)


def test_insert_every_match_kind_and_read_back_canonical(
    primary: RawClient, switch: FakeSwitch
) -> None:
    primary.write(
        l2(b"\x00\x00\x00\x00\x00\x0a"),  # full width
        l2(b"\x0b", b"\x00\x03"),  # canonical mac, full-width param
        lpm(b"\x0a\x01\x00\x00", 16),
        acl(10, port=(b"\x00\x05", b"\x01\xff"), dport=(b"\x00\x50", b"\x01\xbb"), proto=b"\x06"),
    )
    entries = read_table(primary, L2)
    assert [(e.match[0].exact.value, e.action.action.params[0].value) for e in entries] == [
        (b"\x0a", b"\x01"),
        (b"\x0b", b"\x03"),
    ]
    (e,) = read_table(primary, LPM)
    assert (e.match[0].lpm.value, e.match[0].lpm.prefix_len) == (b"\x0a\x01\x00\x00", 16)
    assert e.action.action.params[0].value == b"\x01"
    (e,) = read_table(primary, ACL)
    assert e.priority == 10
    # the don't-care srcAddr is omitted; the others come back canonical
    assert [m.field_id for m in e.match] == [1, 3, 4]
    assert (e.match[0].ternary.value, e.match[0].ternary.mask) == (b"\x05", b"\x01\xff")
    assert (e.match[1].range.low, e.match[1].range.high) == (b"\x50", b"\x01\xbb")
    assert e.match[2].optional.value == b"\x06"
    # and the data plane sees them
    assert switch.state is not None
    hit = switch.state.tables["MyIngress.acl"].lookup((5, 0, 443, 6))
    assert hit is not None and hit.action.args == (5,)


def test_read_wildcards(primary: RawClient) -> None:
    primary.write(l2(b"\x01"), l2(b"\x02"), lpm(b"\x0a\x00\x00\x00", 8))
    assert len(read_table(primary)) == 3  # table_id 0: every table
    assert len(read_table(primary, L2)) == 2  # empty match: every entry
    one = p4runtime_pb2.TableEntry(table_id=L2)
    one.match.add(field_id=1).exact.value = b"\x02"
    got = [e.table_entry for e in primary.read(Entity(table_entry=one))]
    assert [e.match[0].exact.value for e in got] == [b"\x02"]
    one.match[0].exact.value = b"\x03"
    assert primary.read(Entity(table_entry=one)) == []


def test_already_exists_not_found_and_modify(primary: RawClient) -> None:
    primary.write(l2(b"\x01"))
    errs = fails_with(primary, l2(b"\x00\x00\x00\x00\x00\x01"))  # same key, other width
    assert [e.canonical_code for e in errs] == [code_pb2.ALREADY_EXISTS]
    assert [e.canonical_code for e in fails_with(primary, l2(b"\x09", typ=Update.MODIFY))] == [
        code_pb2.NOT_FOUND
    ]
    assert [e.canonical_code for e in fails_with(primary, l2(b"\x09", typ=Update.DELETE))] == [
        code_pb2.NOT_FOUND
    ]
    primary.write(l2(b"\x01", b"\x07", typ=Update.MODIFY))
    (e,) = read_table(primary, L2)
    assert e.action.action.params[0].value == b"\x07"
    primary.write(l2(b"\x01", typ=Update.DELETE))
    assert read_table(primary, L2) == []


@pytest.mark.parametrize(
    ("update", "what"),
    [
        (acl(1, src=(b"\x0a\x00\x00\x01", b"\xff\x00\x00\x00")), "outside its mask"),
        (acl(1, src=(b"\x0a", b"\x00")), "must be omitted"),
        (acl(0, src=(b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00")), "priority"),
        (acl(1, dport=(b"\x00", b"\xff\xff")), "must be omitted"),
        (acl(1, dport=(b"\x09", b"\x08")), "low > high"),
        (lpm(b"\x0a\x01\x00\x00", 8), "beyond its prefix"),
        (lpm(b"\x0a\x00\x00\x00", 33), "prefix length"),
        (lpm(b"\x00", 0), "must be omitted"),
    ],
)
def test_invalid_argument(primary: RawClient, update: Update, what: str) -> None:
    (err,) = fails_with(primary, update)
    assert err.canonical_code == code_pb2.INVALID_ARGUMENT
    assert what in err.message


@pytest.mark.parametrize(
    "update",
    [
        acl(1, port=(b"\x02\x00", b"\x02\x00")),  # 512 in 9 bits
        acl(1, proto=b"\x01\x00"),
        l2(b"\x01\x00\x00\x00\x00\x00\x00"),  # 2**48 in 48 bits
        l2(b""),
        l2(b"\x01", b"\x02\x00"),  # action param 512 in 9 bits
    ],
)
def test_bytestring_out_of_range(primary: RawClient, update: Update) -> None:
    """Section 8.3: an empty string or a value wider than the field is OUT_OF_RANGE."""
    (err,) = fails_with(primary, update)
    assert err.canonical_code == code_pb2.OUT_OF_RANGE
    assert "empty" in err.message or "does not fit" in err.message


def test_more_invalid_arguments(primary: RawClient) -> None:
    u = l2(b"\x01")
    u.entity.table_entry.priority = 3  # priority on an exact table
    bad_param = l2(b"\x02")
    bad_param.entity.table_entry.action.action.params[0].param_id = 9
    no_match = l2(b"\x03")
    del no_match.entity.table_entry.match[:]
    wrong_action = l2(b"\x04")
    wrong_action.entity.table_entry.action.action.action_id = SET_TAG
    bad_table = l2(b"\x05")
    bad_table.entity.table_entry.table_id = 12345
    errs = fails_with(primary, u, bad_param, no_match, wrong_action, bad_table)
    assert [e.canonical_code for e in errs] == [code_pb2.INVALID_ARGUMENT] * 5
    assert "takes no priority" in errs[0].message
    assert "no param with id 9" in errs[1].message


def test_resource_exhausted(primary: RawClient) -> None:
    ups = [acl(1, dport=(bytes([i]), bytes([i]))) for i in range(5)]
    assert [e.canonical_code for e in fails_with(primary, *ups)] == [0, 0, 0, 0, 8]
    assert len(read_table(primary, ACL)) == 4


def test_const_table_permission_denied_and_default_entry(primary: RawClient) -> None:
    u = Update(type=Update.INSERT)
    te = u.entity.table_entry
    te.table_id = ETH
    te.match.add(field_id=1).exact.value = b"\x08\x00"
    action(te, DROP)
    assert [e.canonical_code for e in fails_with(primary, u)] == [code_pb2.PERMISSION_DENIED]
    d = Update(type=Update.MODIFY)
    d.entity.table_entry.table_id = ETH
    d.entity.table_entry.is_default_action = True
    action(d.entity.table_entry, NOACTION)
    assert [e.canonical_code for e in fails_with(primary, d)] == [code_pb2.PERMISSION_DENIED]


def test_default_entry_modify_read_reset(primary: RawClient, switch: FakeSwitch) -> None:
    d = Update(type=Update.MODIFY)
    d.entity.table_entry.table_id = L2
    d.entity.table_entry.is_default_action = True
    action(d.entity.table_entry, DROP)
    primary.write(d)
    (e,) = read_table(primary, L2, is_default_action=True)
    assert e.is_default_action and e.action.action.action_id == DROP
    assert read_table(primary, L2) == []  # the default entry is not in wildcard reads
    d.entity.table_entry.ClearField("action")  # MODIFY without action: back to the initial one
    primary.write(d)
    (e,) = read_table(primary, L2, is_default_action=True)
    assert e.action.action.action_id == NOACTION
    ins = Update(type=Update.INSERT)
    ins.entity.table_entry.CopyFrom(d.entity.table_entry)
    action(ins.entity.table_entry, DROP)
    assert [x.canonical_code for x in fails_with(primary, ins)] == [code_pb2.INVALID_ARGUMENT]


def test_continue_on_error_vs_rollback(primary: RawClient, switch: FakeSwitch) -> None:
    batch = [l2(b"\x01"), l2(b"\x01"), l2(b"\x02")]
    errs = fails_with(primary, *batch)
    assert [e.canonical_code for e in errs] == [code_pb2.OK, code_pb2.ALREADY_EXISTS, code_pb2.OK]
    assert len(read_table(primary, L2)) == 2
    primary.write(l2(b"\x01", typ=Update.DELETE), l2(b"\x02", typ=Update.DELETE))
    for atomicity in (WriteRequest.ROLLBACK_ON_ERROR, WriteRequest.DATAPLANE_ATOMIC):
        pre = [l2(b"\x07")]
        primary.write(*pre)
        batch = [
            l2(b"\x05"),
            l2(b"\x07", b"\x09", typ=Update.MODIFY),
            l2(b"\x07", typ=Update.DELETE),
            l2(b"\x05"),  # fails: ALREADY_EXISTS
            l2(b"\x06"),
        ]
        errs = fails_with(primary, *batch, atomicity=atomicity)
        assert [e.canonical_code for e in errs] == [
            code_pb2.ABORTED,
            code_pb2.ABORTED,
            code_pb2.ABORTED,
            code_pb2.ALREADY_EXISTS,
            code_pb2.ABORTED,
        ]
        # nothing of the batch remains; the entry it modified then deleted is back as it was
        (e,) = read_table(primary, L2)
        assert (e.match[0].exact.value, e.action.action.params[0].value) == (b"\x07", b"\x01")
        assert switch.state is not None
        assert switch.state.tables["MyIngress.l2_exact"].lookup((7,)) is not None
        primary.write(l2(b"\x07", typ=Update.DELETE))


def test_direct_counter_in_entry_and_direct_counter_entry(
    primary: RawClient, switch: FakeSwitch
) -> None:
    u = l2(b"\x01")
    u.entity.table_entry.counter_data.byte_count = 100
    u.entity.table_entry.counter_data.packet_count = 2
    primary.write(u)
    assert switch.state is not None
    switch.state.tables["MyIngress.l2_exact"].lookup((1,)).count(60)  # type: ignore[union-attr]
    (e,) = read_table(primary, L2, counter_data=p4runtime_pb2.CounterData())
    assert (e.counter_data.byte_count, e.counter_data.packet_count) == (160, 3)
    (e,) = read_table(primary, L2)
    assert not e.HasField("counter_data")
    dce = p4runtime_pb2.DirectCounterEntry()
    dce.table_entry.table_id = L2
    (got,) = primary.read(Entity(direct_counter_entry=dce))
    assert got.direct_counter_entry.data.byte_count == 160
    assert got.direct_counter_entry.table_entry.match[0].exact.value == b"\x01"
    m = Update(type=Update.MODIFY)
    m.entity.direct_counter_entry.table_entry.CopyFrom(got.direct_counter_entry.table_entry)
    m.entity.direct_counter_entry.data.packet_count = 9
    primary.write(m)
    (got,) = primary.read(Entity(direct_counter_entry=dce))
    assert (
        got.direct_counter_entry.data.packet_count,
        got.direct_counter_entry.data.byte_count,
    ) == (
        9,
        0,
    )
    m.entity.direct_counter_entry.table_entry.match[0].exact.value = b"\x02"
    assert [x.canonical_code for x in fails_with(primary, m)] == [code_pb2.NOT_FOUND]
    bad = lpm(b"\x0a\x00\x00\x00", 8)
    bad.entity.table_entry.counter_data.packet_count = 1
    assert [x.canonical_code for x in fails_with(primary, bad)] == [code_pb2.INVALID_ARGUMENT]


def test_counter_entries(primary: RawClient, switch: FakeSwitch) -> None:
    assert switch.state is not None
    switch.state.counters["MyIngress.port_counter"].count(3, 100)
    ce = p4runtime_pb2.CounterEntry(counter_id=PORT_COUNTER)
    ce.index.index = 3
    (got,) = primary.read(Entity(counter_entry=ce))
    assert (got.counter_entry.data.byte_count, got.counter_entry.data.packet_count) == (100, 1)
    assert len(primary.read(Entity(counter_entry=p4runtime_pb2.CounterEntry()))) == 512
    m = Update(type=Update.MODIFY)
    m.entity.counter_entry.CopyFrom(ce)
    m.entity.counter_entry.data.packet_count = 42
    primary.write(m)
    assert switch.state.counters["MyIngress.port_counter"].read(3) == (0, 42)
    m.entity.counter_entry.index.index = 512
    ins = Update(type=Update.INSERT)
    ins.entity.counter_entry.CopyFrom(ce)
    neg = Update(type=Update.MODIFY)
    neg.entity.counter_entry.CopyFrom(ce)
    neg.entity.counter_entry.index.index = -1
    assert [x.canonical_code for x in fails_with(primary, m, ins, neg)] == [
        code_pb2.OUT_OF_RANGE,  # section 9.3.2
        code_pb2.INVALID_ARGUMENT,
        code_pb2.INVALID_ARGUMENT,
    ]


def test_meter_and_direct_meter(primary: RawClient, switch: FakeSwitch) -> None:
    m = Update(type=Update.MODIFY)
    me = m.entity.meter_entry
    me.meter_id = PORT_METER
    me.index.index = 2
    me.config.cir, me.config.cburst, me.config.pir, me.config.pburst = 1000, 2, 2000, 3
    primary.write(m)
    q = p4runtime_pb2.MeterEntry(meter_id=PORT_METER)
    q.index.index = 2
    (got,) = primary.read(Entity(meter_entry=q))
    assert (got.meter_entry.config.cir, got.meter_entry.config.pburst) == (1000, 3)
    assert switch.state is not None
    cell = switch.state.meters["MyIngress.port_meter"].cells[2]
    assert [cell.execute(1, 1_000_000) for _ in range(4)] == [0, 0, 1, 2]
    q.index.index = 1
    (got,) = primary.read(Entity(meter_entry=q))
    assert not got.meter_entry.HasField("config")
    # direct meter: in the entry, then by DirectMeterEntry
    u = lpm(b"\x0a\x00\x00\x00", 8)
    cfg = u.entity.table_entry.meter_config
    cfg.cir, cfg.cburst, cfg.pir, cfg.pburst = 10, 20, 30, 40
    primary.write(u)
    (e,) = read_table(primary, LPM, meter_config=p4runtime_pb2.MeterConfig())
    assert (e.meter_config.cir, e.meter_config.pburst) == (10, 40)
    dm = Update(type=Update.MODIFY)
    dm.entity.direct_meter_entry.table_entry.CopyFrom(e)
    dm.entity.direct_meter_entry.table_entry.ClearField("action")
    dm.entity.direct_meter_entry.table_entry.ClearField("meter_config")
    dm.entity.direct_meter_entry.config.cir = 5
    dm.entity.direct_meter_entry.config.pir = 6
    primary.write(dm)
    (got,) = primary.read(
        Entity(
            direct_meter_entry=p4runtime_pb2.DirectMeterEntry(
                table_entry=p4runtime_pb2.TableEntry(table_id=LPM)
            )
        )
    )
    assert (got.direct_meter_entry.config.cir, got.direct_meter_entry.config.pir) == (5, 6)
    dm.entity.direct_meter_entry.config.cir = 7  # CIR > PIR
    assert [x.canonical_code for x in fails_with(primary, dm)] == [code_pb2.INVALID_ARGUMENT]


def test_register_unimplemented_by_default(primary: RawClient) -> None:
    u = Update(type=Update.MODIFY)
    u.entity.register_entry.register_id = FLOW_REG
    u.entity.register_entry.index.index = 1
    u.entity.register_entry.data.bitstring = b"\x05"
    assert [x.canonical_code for x in fails_with(primary, u)] == [code_pb2.UNIMPLEMENTED]
    with pytest.raises(grpc.RpcError) as ei:
        primary.read(Entity(register_entry=p4runtime_pb2.RegisterEntry(register_id=FLOW_REG)))
    assert [x.canonical_code for x in write_errors(ei.value)] == [code_pb2.UNIMPLEMENTED]


def test_action_profile_entities_unimplemented(primary: RawClient) -> None:
    u = Update(type=Update.INSERT)
    u.entity.action_profile_member.action_profile_id = 1
    assert [x.canonical_code for x in fails_with(primary, u)] == [code_pb2.UNIMPLEMENTED]


def test_pre_entries(primary: RawClient, switch: FakeSwitch) -> None:
    g = Update(type=Update.INSERT)
    mg = g.entity.packet_replication_engine_entry.multicast_group_entry
    mg.multicast_group_id = 1
    mg.replicas.add(egress_port=1, instance=0)
    mg.replicas.add(egress_port=2, instance=1)
    s = Update(type=Update.INSERT)
    cs = s.entity.packet_replication_engine_entry.clone_session_entry
    cs.session_id = 100
    cs.replicas.add(egress_port=64, instance=1)
    cs.packet_length_bytes = 128
    primary.write(g, s)
    assert switch.state is not None
    assert switch.state.pre.multicast(1) == [(1, 0), (2, 1)]
    assert switch.state.pre.clone_session(100).packet_length_bytes == 128  # type: ignore[union-attr]
    ent = Entity()
    ent.packet_replication_engine_entry.multicast_group_entry.multicast_group_id = 0
    (got,) = primary.read(ent)
    assert [
        (r.egress_port, r.instance)
        for r in got.packet_replication_engine_entry.multicast_group_entry.replicas
    ] == [(1, 0), (2, 1)]
    assert [x.canonical_code for x in fails_with(primary, g)] == [code_pb2.ALREADY_EXISTS]
    g.type = Update.DELETE
    primary.write(g)
    assert [x.canonical_code for x in fails_with(primary, g)] == [code_pb2.NOT_FOUND]


def test_digest_entry_write_read(primary: RawClient) -> None:
    u = Update(type=Update.INSERT)
    u.entity.digest_entry.digest_id = LEARN
    u.entity.digest_entry.config.max_list_size = 4
    u.entity.digest_entry.config.max_timeout_ns = 1_000_000
    primary.write(u)
    assert [x.canonical_code for x in fails_with(primary, u)] == [code_pb2.ALREADY_EXISTS]
    (got,) = primary.read(Entity(digest_entry=p4runtime_pb2.DigestEntry()))
    assert got.digest_entry.digest_id == LEARN
    assert got.digest_entry.config.max_list_size == 4
    u.type = Update.DELETE
    primary.write(u)
    assert [x.canonical_code for x in fails_with(primary, u)] == [code_pb2.NOT_FOUND]
    u.entity.digest_entry.digest_id = 1234
    assert [x.canonical_code for x in fails_with(primary, u)] == [code_pb2.INVALID_ARGUMENT]
