"""P4Runtime 1.4.1 conformance of the server: one test per case of the specification.

Section numbers are those of the P4Runtime 1.4.1 specification; docs/p4runtime.md
lists each case with what BMv2's simple_switch_grpc answers.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4rt_helpers import WAIT, FakeSwitch, RawClient, write_errors
from test_server_streams import FLOW_REG, packet_out
from test_server_write_read import (
    ACL,
    DROP,
    ETH,
    L2,
    LPM,
    NOACTION,
    PORT_COUNTER,
    PORT_METER,
    SET_EGRESS,
    VRF,
    acl,
    action,
    fails_with,
    l2,
    lpm,
    read_table,
)

from softswitch.runtime import ActionCall, ExactMatch
from softswitch.server import P4RuntimeServer

Update = p4runtime_pb2.Update
Entity = p4runtime_pb2.Entity
WriteRequest = p4runtime_pb2.WriteRequest


def codes(errs: list[p4runtime_pb2.Error]) -> list[int]:
    return [e.canonical_code for e in errs]


# ----------------------------------------------------------- 8.3 bytestrings


def test_padded_bytestrings_accepted_and_read_back_canonical(primary: RawClient) -> None:
    """Section 8.3: any number of leading zero bytes; Read answers the shortest string."""
    pad = b"\x00" * 5
    primary.write(
        l2(pad + b"\x00\x00\x00\x00\x00\x2a", pad + b"\x03"),  # 11-byte MAC, 6-byte port
        acl(
            7,
            port=(pad + b"\x01", pad + b"\x01\xff"),
            src=(pad + b"\x0a\x00\x00\x00", pad + b"\xff\x00\x00\x00"),
            dport=(pad + b"\x00\x50", pad + b"\x00\x51"),
            proto=pad + b"\x06",
        ),
        lpm(pad + b"\x0a\x00\x00\x00", 8),
    )
    (e,) = read_table(primary, L2)
    assert e.match[0].exact.value == b"\x2a"
    assert e.action.action.params[0].value == b"\x03"
    (a,) = read_table(primary, ACL)
    got = {m.field_id: m for m in a.match}
    assert (got[1].ternary.value, got[1].ternary.mask) == (b"\x01", b"\x01\xff")
    assert (got[2].ternary.value, got[2].ternary.mask) == (b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00")
    assert (got[3].range.low, got[3].range.high) == (b"\x50", b"\x51")
    assert got[4].optional.value == b"\x06"
    (p,) = read_table(primary, LPM)
    assert p.match[0].lpm.value == b"\x0a\x00\x00\x00"
    # the padded and the canonical form name the same entry
    primary.write(l2(b"\x2a", typ=Update.DELETE))
    assert read_table(primary, L2) == []
    # a padded key in a Read finds the entry too
    primary.write(l2(b"\x2b"))
    q = p4runtime_pb2.TableEntry(table_id=L2)
    q.match.add(field_id=1).exact.value = pad + b"\x2b"
    (r,) = primary.read(Entity(table_entry=q))
    assert r.table_entry.match[0].exact.value == b"\x2b"


def test_packet_out_metadata_padded_same_bytes_as_canonical(
    primary: RawClient, switch: FakeSwitch
) -> None:
    primary.send(packet_out(b"x", egress_port=b"\x03", do_flood=b"\x01", tag=b"\x0a\xbc"))
    canonical = switch.sent.get(timeout=WAIT)
    primary.send(
        packet_out(b"x", egress_port=b"\x00\x00\x03", do_flood=b"\x00\x01", tag=b"\x00\x0a\xbc")
    )
    assert switch.sent.get(timeout=WAIT) == canonical == b"\x01\xea\xf0x"


def test_packet_out_metadata_given_twice_is_refused(primary: RawClient) -> None:
    req = packet_out(b"x", egress_port=b"\x01")
    req.packet.metadata.add(metadata_id=1, value=b"\x02")
    primary.send(req)
    err = primary.next("error").error
    assert err.canonical_code == code_pb2.INVALID_ARGUMENT
    assert "twice" in err.message


def test_replica_port_bytes_padded_and_symmetric(primary: RawClient) -> None:
    g = Update(type=Update.INSERT)
    mg = g.entity.packet_replication_engine_entry.multicast_group_entry
    mg.multicast_group_id = 5
    mg.replicas.add(port=b"\x00\x00\x00\x07", instance=1)
    old = Update(type=Update.INSERT)
    og = old.entity.packet_replication_engine_entry.multicast_group_entry
    og.multicast_group_id = 6
    og.replicas.add(egress_port=8, instance=2)
    primary.write(g, old)
    q = Entity()
    q.packet_replication_engine_entry.multicast_group_entry.SetInParent()
    got = {
        e.packet_replication_engine_entry.multicast_group_entry.multicast_group_id: (
            e.packet_replication_engine_entry.multicast_group_entry.replicas[0]
        )
        for e in primary.read(q)
    }
    assert got[5].WhichOneof("port_kind") == "port" and got[5].port == b"\x07"
    assert got[6].WhichOneof("port_kind") == "egress_port" and got[6].egress_port == 8


def test_padded_register_data_and_index_out_of_range(switch: FakeSwitch) -> None:
    srv = P4RuntimeServer(switch, "127.0.0.1:0", enable_register_access=True)
    srv.start()
    c = RawClient(srv.address)
    try:
        c.arbitrate(1)
        c.set_pipeline()
        u = Update(type=Update.MODIFY)
        u.entity.register_entry.register_id = FLOW_REG
        u.entity.register_entry.index.index = 2
        u.entity.register_entry.data.bitstring = b"\x00\x00\x00\x00\x00\x00\x01\x02"
        c.write(u)
        q = p4runtime_pb2.RegisterEntry(register_id=FLOW_REG)
        q.index.index = 2
        (got,) = c.read(Entity(register_entry=q))
        assert got.register_entry.data.bitstring == b"\x01\x02"
        u.entity.register_entry.index.index = 16
        assert codes(fails_with(c, u)) == [code_pb2.OUT_OF_RANGE]
    finally:
        c.close()
        srv.stop(0)


# ------------------------------------------------------------- 9.1 TableEntry


@pytest.mark.parametrize("typ", [Update.INSERT, Update.MODIFY, Update.DELETE])
def test_is_const_in_a_write_is_invalid_argument(primary: RawClient, typ: int) -> None:
    """Section 9.1: `is_const` must be false in INSERT, MODIFY and DELETE."""
    primary.write(l2(b"\x01"))
    u = l2(b"\x01", typ=typ)
    u.entity.table_entry.is_const = True
    (err,) = fails_with(primary, u)
    assert err.canonical_code == code_pb2.INVALID_ARGUMENT
    assert len(read_table(primary, L2)) == 1


def test_modify_without_action_keeps_the_action(primary: RawClient) -> None:
    """Section 9.1.2: MODIFY may leave the action unset; the entry keeps its action."""
    primary.write(l2(b"\x01", b"\x05"))
    m = l2(b"\x01", typ=Update.MODIFY)
    m.entity.table_entry.ClearField("action")
    m.entity.table_entry.counter_data.packet_count = 9
    m.entity.table_entry.counter_data.byte_count = 900
    primary.write(m)
    (e,) = read_table(primary, L2, counter_data=p4runtime_pb2.CounterData())
    assert e.action.action.action_id == SET_EGRESS
    assert e.action.action.params[0].value == b"\x05"
    assert (e.counter_data.packet_count, e.counter_data.byte_count) == (9, 900)
    # INSERT still needs one
    ins = l2(b"\x02")
    ins.entity.table_entry.ClearField("action")
    assert codes(fails_with(primary, ins)) == [code_pb2.INVALID_ARGUMENT]


def test_modify_without_meter_config_resets_the_meter(primary: RawClient) -> None:
    """Section 9.1.7: an unset meter_config in MODIFY restores the default meter."""
    u = lpm(b"\x0a\x00\x00\x00", 8)
    u.entity.table_entry.meter_config.cir = 10
    u.entity.table_entry.meter_config.pir = 20
    primary.write(u)
    primary.write(lpm(b"\x0a\x00\x00\x00", 8, typ=Update.MODIFY))
    (e,) = read_table(primary, LPM, meter_config=p4runtime_pb2.MeterConfig())
    assert not e.HasField("meter_config")


def test_const_table_allows_modify_of_direct_resources_only(
    primary: RawClient, switch: FakeSwitch
) -> None:
    """Section 9.1.4: MODIFY without an action is allowed on const entries; with one it is not."""
    assert switch.state is not None
    switch.state.tables["MyIngress.eth_filter"].add_const_entries(
        [((ExactMatch(0x0806),), 0, ActionCall(NOACTION, ()))]
    )
    m = Update(type=Update.MODIFY)
    te = m.entity.table_entry
    te.table_id = ETH
    te.match.add(field_id=1).exact.value = b"\x08\x06"
    primary.write(m)  # no action: nothing to change, accepted
    action(te, DROP)
    assert codes(fails_with(primary, m)) == [code_pb2.PERMISSION_DENIED]
    d = Update(type=Update.DELETE)
    d.entity.table_entry.CopyFrom(te)
    assert codes(fails_with(primary, d)) == [code_pb2.PERMISSION_DENIED]
    (e,) = read_table(primary, ETH)
    assert e.is_const and e.action.action.action_id == NOACTION


def test_action_scope_is_permission_denied(primary: RawClient) -> None:
    """Section 9.1.2: an action used outside its P4Info scope is PERMISSION_DENIED."""
    u = l2(b"\x01")
    u.entity.table_entry.action.action.action_id = NOACTION  # @defaultonly in l2_exact
    del u.entity.table_entry.action.action.params[:]
    assert codes(fails_with(primary, u)) == [code_pb2.PERMISSION_DENIED]


def test_time_since_last_hit_without_idle_timeout_is_invalid_argument(
    primary: RawClient,
) -> None:
    """Section 9.1.8: idle-timeout fields on a table without idle timeout."""
    primary.write(l2(b"\x01"))
    with pytest.raises(grpc.RpcError) as ei:
        read_table(primary, L2, time_since_last_hit=p4runtime_pb2.TableEntry.IdleTimeout())
    assert codes(write_errors(ei.value)) == [code_pb2.INVALID_ARGUMENT]
    u = l2(b"\x02")
    u.entity.table_entry.time_since_last_hit.elapsed_ns = 0
    idle = l2(b"\x03")
    idle.entity.table_entry.idle_timeout_ns = 10**9
    assert codes(fails_with(primary, u, idle)) == [code_pb2.INVALID_ARGUMENT] * 2
    d = Update(type=Update.MODIFY)
    d.entity.table_entry.table_id = VRF
    d.entity.table_entry.is_default_action = True
    d.entity.table_entry.idle_timeout_ns = 10**9
    assert codes(fails_with(primary, d)) == [code_pb2.INVALID_ARGUMENT]


def test_time_since_last_hit_on_idle_table_is_unimplemented(primary: RawClient) -> None:
    with pytest.raises(grpc.RpcError) as ei:
        read_table(primary, VRF, time_since_last_hit=p4runtime_pb2.TableEntry.IdleTimeout())
    assert codes(write_errors(ei.value)) == [code_pb2.UNIMPLEMENTED]


def test_wildcard_read_filters(primary: RawClient) -> None:
    """Section 9.1.6: priority, action, controller_metadata and metadata filter a read."""
    a1 = acl(1, dport=(b"\x01", b"\x01"))
    a2 = acl(2, dport=(b"\x02", b"\x02"))
    a2.entity.table_entry.controller_metadata = 77
    a3 = acl(2, dport=(b"\x03", b"\x03"))
    a3.entity.table_entry.metadata = b"tag"
    primary.write(a1, a2, a3)
    assert len(read_table(primary, ACL)) == 3
    assert len(read_table(primary, ACL, priority=2)) == 2
    (e,) = read_table(primary, ACL, controller_metadata=77)
    assert e.controller_metadata == 77
    (e,) = read_table(primary, ACL, metadata=b"tag")
    assert e.metadata == b"tag"
    # a match without priority selects every priority of that key
    q = acl(0, dport=(b"\x02", b"\x02")).entity.table_entry
    q.ClearField("action")
    (e,) = [x.table_entry for x in primary.read(Entity(table_entry=q))]
    assert e.priority == 2
    primary.write(l2(b"\x01"), l2(b"\x02"))
    drop = l2(b"\x03")
    drop.entity.table_entry.ClearField("action")
    action(drop.entity.table_entry, DROP)
    primary.write(drop)
    f = p4runtime_pb2.TableEntry(table_id=L2)
    f.action.action.action_id = DROP
    (e,) = [x.table_entry for x in primary.read(Entity(table_entry=f))]
    assert e.match[0].exact.value == b"\x03"
    # table_id 0 takes no other filter
    f.table_id = 0
    with pytest.raises(grpc.RpcError) as ei:
        primary.read(Entity(table_entry=f))
    assert codes(write_errors(ei.value)) == [code_pb2.INVALID_ARGUMENT]


# ---------------------------------------------------- 9.3 / 9.4 counters, meters


def test_counter_index_out_of_range(primary: RawClient) -> None:
    """Section 9.3.2: OUT_OF_RANGE past the end, INVALID_ARGUMENT when negative."""
    ce = p4runtime_pb2.CounterEntry(counter_id=PORT_COUNTER)
    ce.index.index = 512
    with pytest.raises(grpc.RpcError) as ei:
        primary.read(Entity(counter_entry=ce))
    assert codes(write_errors(ei.value)) == [code_pb2.OUT_OF_RANGE]
    m = Update(type=Update.MODIFY)
    m.entity.counter_entry.CopyFrom(ce)
    m.entity.counter_entry.data.packet_count = 1
    assert codes(fails_with(primary, m)) == [code_pb2.OUT_OF_RANGE]


def test_counter_modify_without_data_changes_nothing(
    primary: RawClient, switch: FakeSwitch
) -> None:
    assert switch.state is not None
    switch.state.counters["MyIngress.port_counter"].count(3, 100)
    m = Update(type=Update.MODIFY)
    m.entity.counter_entry.counter_id = PORT_COUNTER
    m.entity.counter_entry.index.index = 3
    primary.write(m)
    assert switch.state.counters["MyIngress.port_counter"].read(3) == (100, 1)


def test_meter_index_out_of_range(primary: RawClient) -> None:
    """Section 9.4.2: OUT_OF_RANGE past the end, INVALID_ARGUMENT when negative."""
    m = Update(type=Update.MODIFY)
    m.entity.meter_entry.meter_id = PORT_METER
    m.entity.meter_entry.index.index = 16
    neg = Update(type=Update.MODIFY)
    neg.entity.meter_entry.meter_id = PORT_METER
    neg.entity.meter_entry.index.index = -3
    assert codes(fails_with(primary, m, neg)) == [code_pb2.OUT_OF_RANGE, code_pb2.INVALID_ARGUMENT]
    with pytest.raises(grpc.RpcError) as ei:
        primary.read(Entity(meter_entry=m.entity.meter_entry))
    assert codes(write_errors(ei.value)) == [code_pb2.OUT_OF_RANGE]


def test_meter_counter_data_is_unimplemented(primary: RawClient) -> None:
    m = Update(type=Update.MODIFY)
    m.entity.meter_entry.meter_id = PORT_METER
    m.entity.meter_entry.counter_data.green.packet_count = 0
    assert codes(fails_with(primary, m)) == [code_pb2.UNIMPLEMENTED]


# ---------------------------------------------------------------- 12 Write


def test_unknown_atomicity_is_invalid_argument(primary: RawClient) -> None:
    with pytest.raises(grpc.RpcError) as ei:
        primary.write(l2(b"\x01"), atomicity=7)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert read_table(primary, L2) == []


# ----------------------------------------------------------------- 13.3 Read


def test_read_with_one_bad_request_returns_the_good_ones(primary: RawClient) -> None:
    """Section 13.3: entities of the good requests, then UNKNOWN with one p4.Error each."""
    primary.write(l2(b"\x01"), l2(b"\x02"))
    ce = p4runtime_pb2.CounterEntry(counter_id=PORT_COUNTER)
    ce.index.index = 4
    req = p4runtime_pb2.ReadRequest(device_id=primary.device_id)
    req.entities.add().table_entry.table_id = L2
    req.entities.add().table_entry.table_id = 12345  # no such table
    req.entities.add().counter_entry.CopyFrom(ce)
    req.entities.add()  # no entity set
    got: list[p4runtime_pb2.Entity] = []
    with pytest.raises(grpc.RpcError) as ei:
        for resp in primary.stub.Read(req):
            got.extend(resp.entities)
    assert [e.WhichOneof("entity") for e in got] == ["table_entry"] * 2 + ["counter_entry"]
    assert codes(write_errors(ei.value)) == [
        code_pb2.OK,
        code_pb2.INVALID_ARGUMENT,
        code_pb2.OK,
        code_pb2.INVALID_ARGUMENT,
    ]


def test_read_needs_no_stream(clients: Callable[[], RawClient], primary: RawClient) -> None:
    """Section 13: Read needs neither an election id nor a StreamChannel."""
    primary.write(l2(b"\x01"))
    reader = clients()
    assert len(read_table(reader, L2)) == 1


# ------------------------------------------------------------ 16 StreamChannel


def test_a_failing_packet_out_keeps_the_stream(
    primary: RawClient, switch: FakeSwitch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An internal error on one packet-out is a stream error, not the end of the stream."""
    sent = switch.packet_out

    def broken(data: bytes) -> None:
        if data.endswith(b"boom"):
            raise KeyError(21257015)
        sent(data)

    monkeypatch.setattr(switch, "packet_out", broken)
    primary.send(packet_out(b"boom"))
    err = primary.next("error").error
    assert err.canonical_code == code_pb2.INTERNAL
    primary.send(packet_out(b"ok"))
    assert switch.sent.get(timeout=WAIT) == b"\x00\x00\x00ok"
    primary.write(l2(b"\x01"))  # still the primary


def test_set_pipeline_for_an_unknown_role_is_not_found(clients: Callable[[], RawClient]) -> None:
    """Section 14: an unknown role is NOT_FOUND, before the primary check."""
    a = clients()
    a.arbitrate(1)
    a.role = "nobody"
    with pytest.raises(grpc.RpcError) as ei:
        a.set_pipeline()
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND


def test_empty_stream_message_is_invalid_argument(primary: RawClient) -> None:
    primary.send(p4runtime_pb2.StreamMessageRequest())
    assert primary.next("error").error.canonical_code == code_pb2.INVALID_ARGUMENT
