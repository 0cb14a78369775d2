"""Arbitration, pipeline configuration and capabilities over gRPC."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4rt_helpers import FakeSwitch, RawClient, load_toy_p4info

from softswitch.server import P4RuntimeServer

FwdReq = p4runtime_pb2.SetForwardingPipelineConfigRequest
GetReq = p4runtime_pb2.GetForwardingPipelineConfigRequest


def eid(u: p4runtime_pb2.Uint128) -> int:
    return (u.high << 64) | u.low


def test_capabilities(clients: Callable[[], RawClient]) -> None:
    c = clients()
    resp = c.stub.Capabilities(p4runtime_pb2.CapabilitiesRequest())
    assert resp.p4runtime_api_version == "1.4.1"


def test_primary_backup_and_primary_change(clients: Callable[[], RawClient]) -> None:
    a, b = clients(), clients()
    upd = a.arbitrate(10).arbitration
    assert (upd.status.code, eid(upd.election_id), upd.device_id) == (code_pb2.OK, 10, 1)
    # a lower election id: backup, told the primary's id
    upd = b.arbitrate(5).arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.ALREADY_EXISTS, 10)
    a.set_pipeline()
    with pytest.raises(grpc.RpcError) as ei:
        b.write()
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as ei:
        b.set_pipeline()
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # b takes over with a higher id: everyone is told
    upd = b.arbitrate(20).arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.OK, 20)
    upd = a.next("arbitration").arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.ALREADY_EXISTS, 20)
    b.write()  # an empty batch is fine for the primary
    with pytest.raises(grpc.RpcError) as ei:
        a.write()
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # the primary leaves: no primary (section 5.3), a stays a backup
    b.close()
    upd = a.next("arbitration").arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.NOT_FOUND, 20)
    with pytest.raises(grpc.RpcError) as ei:
        a.write()
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # re-arbitrating below the highest id ever seen does not help ...
    upd = a.arbitrate(10).arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.NOT_FOUND, 20)
    # ... an id at least that high does
    upd = a.arbitrate(20).arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.OK, 20)
    a.write()


def test_primary_downgrades_itself(clients: Callable[[], RawClient]) -> None:
    a, b = clients(), clients()
    a.arbitrate(10)
    b.arbitrate(5)
    upd = a.arbitrate(7).arbitration  # below its own old id: a backup now
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.NOT_FOUND, 10)
    upd = b.next("arbitration").arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.NOT_FOUND, 10)
    with pytest.raises(grpc.RpcError) as ei:
        a.write()
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    upd = b.arbitrate(10).arbitration  # equal to the highest: primary
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.OK, 10)
    upd = a.next("arbitration").arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.ALREADY_EXISTS, 10)


def test_no_primary_ever_leaves_election_id_unset(clients: Callable[[], RawClient]) -> None:
    a = clients()
    upd = a.arbitrate(None).arbitration
    assert upd.status.code == code_pb2.NOT_FOUND
    assert not upd.HasField("election_id")


def test_live_stream_cannot_change_role_or_device(clients: Callable[[], RawClient]) -> None:
    a, b = clients(), clients()
    a.arbitrate(1)
    err = a.arbitrate(1, role="other")
    assert isinstance(err, grpc.RpcError)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    b.arbitrate(2)
    err = b.arbitrate(2, device_id=99)
    assert isinstance(err, grpc.RpcError)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_last_primary_leaves_backup_without_id_told_no_primary(
    clients: Callable[[], RawClient],
) -> None:
    a, b = clients(), clients()
    a.arbitrate(3)
    upd = b.arbitrate(None).arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.ALREADY_EXISTS, 3)
    a.close()
    upd = b.next("arbitration").arbitration
    assert (upd.status.code, eid(upd.election_id)) == (code_pb2.NOT_FOUND, 3)


def test_roles_are_independent(clients: Callable[[], RawClient]) -> None:
    a, b = clients(), clients()
    assert a.arbitrate(1).arbitration.status.code == code_pb2.OK
    upd = b.arbitrate(1, role="mon").arbitration
    assert upd.status.code == code_pb2.OK
    assert upd.role.name == "mon"


def test_duplicate_election_id_ends_stream(clients: Callable[[], RawClient]) -> None:
    a, b = clients(), clients()
    a.arbitrate(7)
    err = b.arbitrate(7)
    assert isinstance(err, grpc.RpcError)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_wrong_device_id(clients: Callable[[], RawClient]) -> None:
    a = clients()
    err = a.arbitrate(1, device_id=99)
    assert isinstance(err, grpc.RpcError)
    assert err.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as ei:
        a.stub.Read(p4runtime_pb2.ReadRequest(device_id=99)).next()
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND


def test_no_pipeline_is_failed_precondition(clients: Callable[[], RawClient]) -> None:
    a = clients()
    a.arbitrate(1)
    for call in (
        lambda: a.write(),
        lambda: a.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry())),
    ):
        with pytest.raises(grpc.RpcError) as ei:
            call()
        assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        # the words finsy looks for
        assert "no forwarding pipeline config" in (ei.value.details() or "")


def test_get_config_before_any_pipeline_is_ok_and_unset(clients: Callable[[], RawClient]) -> None:
    a = clients()
    for rt in (GetReq.ALL, GetReq.COOKIE_ONLY, GetReq.P4INFO_AND_COOKIE):
        r = a.stub.GetForwardingPipelineConfig(GetReq(device_id=1, response_type=rt))
        assert not r.HasField("config")  # section 15


def test_commit_without_saved_config_is_not_found(clients: Callable[[], RawClient]) -> None:
    a = clients()
    a.arbitrate(1)
    with pytest.raises(grpc.RpcError) as ei:
        a.set_pipeline(FwdReq.COMMIT)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND  # section 14
    # VERIFY saves nothing
    a.set_pipeline(FwdReq.VERIFY)
    with pytest.raises(grpc.RpcError) as ei:
        a.set_pipeline(FwdReq.COMMIT)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    # COMMIT carries no config
    a.set_pipeline(FwdReq.VERIFY_AND_SAVE)
    with pytest.raises(grpc.RpcError) as ei:
        a.set_pipeline(FwdReq.COMMIT, p4info=load_toy_p4info())
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_verify_then_commit_and_get_config(
    clients: Callable[[], RawClient], switch: FakeSwitch
) -> None:
    a = clients()
    a.arbitrate(1)
    a.set_pipeline(FwdReq.VERIFY_AND_SAVE, device_config=b"cfg-1", cookie=77)
    assert switch.state is None
    a.set_pipeline(FwdReq.COMMIT)
    assert switch.state is not None and switch.device_config == b"cfg-1"
    p4info = load_toy_p4info()
    r = a.stub.GetForwardingPipelineConfig(GetReq(device_id=1, response_type=GetReq.ALL))
    assert r.config.p4info == p4info
    assert r.config.p4_device_config == b"cfg-1"
    assert r.config.cookie.cookie == 77
    r = a.stub.GetForwardingPipelineConfig(GetReq(device_id=1, response_type=GetReq.COOKIE_ONLY))
    assert not r.config.HasField("p4info") and r.config.p4_device_config == b""
    assert r.config.cookie.cookie == 77
    r = a.stub.GetForwardingPipelineConfig(
        GetReq(device_id=1, response_type=GetReq.P4INFO_AND_COOKIE)
    )
    assert r.config.p4info == p4info and r.config.p4_device_config == b""
    r = a.stub.GetForwardingPipelineConfig(
        GetReq(device_id=1, response_type=GetReq.DEVICE_CONFIG_AND_COOKIE)
    )
    assert not r.config.HasField("p4info") and r.config.p4_device_config == b"cfg-1"
    # COMMIT consumed the saved config
    with pytest.raises(grpc.RpcError) as ei:
        a.set_pipeline(FwdReq.COMMIT)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_config_is_invalid_argument(
    clients: Callable[[], RawClient], switch: FakeSwitch
) -> None:
    a = clients()
    a.arbitrate(1)
    for action in (FwdReq.VERIFY, FwdReq.VERIFY_AND_COMMIT):
        with pytest.raises(grpc.RpcError) as ei:
            a.set_pipeline(action, device_config=b"bad json")
        assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "does not parse" in (ei.value.details() or "")
    assert switch.state is None


def _l2_insert(mac: int, port: int) -> p4runtime_pb2.Update:
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
    te = u.entity.table_entry
    te.table_id = 35992994
    te.match.add(field_id=1).exact.value = mac.to_bytes(6, "big")
    te.action.action.action_id = 25797781
    te.action.action.params.add(param_id=1, value=port.to_bytes(2, "big"))
    return u


def test_reconcile_keeps_entries_verify_and_commit_drops_them(
    primary: RawClient, switch: FakeSwitch
) -> None:
    primary.write(_l2_insert(0xA, 1), _l2_insert(0xB, 2))
    group = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
    group.entity.packet_replication_engine_entry.multicast_group_entry.multicast_group_id = 3
    primary.write(group)
    primary.set_pipeline(FwdReq.RECONCILE_AND_COMMIT)
    assert switch.state is not None
    assert len(switch.state.tables["MyIngress.l2_exact"]) == 2
    assert 3 in switch.state.pre.groups
    # a changed table definition loses its entries on reconcile
    p4info = load_toy_p4info()
    p4info.tables[0].size = 2048
    primary.set_pipeline(FwdReq.RECONCILE_AND_COMMIT, p4info=p4info)
    assert len(switch.state.tables["MyIngress.l2_exact"]) == 0
    primary.write(_l2_insert(0xA, 1))
    primary.set_pipeline(FwdReq.VERIFY_AND_COMMIT)
    assert len(switch.state.tables["MyIngress.l2_exact"]) == 0
    assert switch.state.pre.groups == {}


def test_server_stop_ends_streams(switch: FakeSwitch) -> None:
    srv = P4RuntimeServer(switch, "127.0.0.1:0")
    srv.start()
    c = RawClient(srv.address)
    c.arbitrate(1)
    srv.stop(0)
    c._reader.join(10)  # the server ended the stream
    assert not c._reader.is_alive()
    c.channel.close()
