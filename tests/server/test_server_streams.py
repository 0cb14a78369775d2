"""Packet-out, packet-in and digests over the StreamChannel; register access flag."""

from __future__ import annotations

from collections.abc import Callable

from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4rt_helpers import WAIT, FakeSwitch, RawClient

from softswitch.server import P4RuntimeServer

LEARN = 398033514
FLOW_REG = 373369485


def packet_out(payload: bytes, **md: bytes) -> p4runtime_pb2.StreamMessageRequest:
    ids = {"egress_port": 1, "do_flood": 2, "tag": 3}
    req = p4runtime_pb2.StreamMessageRequest()
    req.packet.payload = payload
    for name, value in md.items():
        req.packet.metadata.add(metadata_id=ids[name], value=value)
    return req


def test_packet_out_header_layout(primary: RawClient, switch: FakeSwitch) -> None:
    # egress_port:9=3, do_flood:1=1, tag:12=0xabc, then 2 pad bits: 0x01eaf0
    primary.send(packet_out(b"\xde\xad", egress_port=b"\x03", do_flood=b"\x01", tag=b"\x0a\xbc"))
    assert switch.sent.get(timeout=WAIT) == b"\x01\xea\xf0\xde\xad"
    # missing metadata is zero
    primary.send(packet_out(b"x", tag=b"\x00\x01"))
    assert switch.sent.get(timeout=WAIT) == b"\x00\x00\x04x"


def test_packet_out_refused(clients: Callable[[], RawClient], switch: FakeSwitch) -> None:
    a, b = clients(), clients()
    a.arbitrate(2)
    a.set_pipeline()
    b.arbitrate(1)
    b.send(packet_out(b"p", egress_port=b"\x01"))
    err = b.next("error").error
    assert err.canonical_code == code_pb2.PERMISSION_DENIED
    assert err.packet_out.packet_out.payload == b"p"
    a.send(packet_out(b"p", egress_port=b"\x02\x00"))  # 512 does not fit in 9 bits
    assert a.next("error").error.canonical_code == code_pb2.OUT_OF_RANGE
    a.send(packet_out(b"ok"))
    assert switch.sent.get(timeout=WAIT) == b"\x00\x00\x00ok"
    assert switch.sent.empty()


def test_packet_in_metadata(clients: Callable[[], RawClient], switch: FakeSwitch) -> None:
    a, b = clients(), clients()
    a.arbitrate(2)
    a.set_pipeline()
    b.arbitrate(1)
    switch.send_to_cpu(b"\x02\x00payload")  # ingress_port:9 = 4, _pad:7 = 0
    pkt = a.next("packet").packet
    assert pkt.payload == b"payload"
    assert [(m.metadata_id, m.value) for m in pkt.metadata] == [(1, b"\x04"), (2, b"\x00")]
    switch.send_to_cpu(b"\xff\xfe")
    pkt = a.next("packet").packet
    assert [(m.metadata_id, m.value) for m in pkt.metadata] == [(1, b"\x01\xff"), (2, b"\x7e")]
    assert pkt.payload == b""
    assert b.inbox.empty()  # backups get no packet-in


def test_digest_lists_and_acks(primary: RawClient, switch: FakeSwitch) -> None:
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
    cfg = u.entity.digest_entry
    cfg.digest_id = LEARN
    cfg.config.max_list_size = 2
    cfg.config.max_timeout_ns = 60 * 10**9
    cfg.config.ack_timeout_ns = 60 * 10**9
    primary.write(u)
    assert switch.state is not None
    q = switch.state.digests
    q.emit(LEARN, (0x001122334455, 3))
    q.emit(LEARN, (0x001122334455, 3))  # duplicate: dropped
    q.emit(LEARN, (0x0A, 511))
    dl = primary.next("digest").digest
    assert (dl.digest_id, dl.list_id) == (LEARN, 1)
    assert [[m.bitstring for m in d.struct.members] for d in dl.data] == [
        [b"\x11\x22\x33\x44\x55", b"\x03"],  # canonical: leading zero byte dropped
        [b"\x0a", b"\x01\xff"],
    ]
    q.emit(LEARN, (0x0A, 511))  # still unacked: filtered
    ack = p4runtime_pb2.StreamMessageRequest()
    ack.digest_ack.digest_id = LEARN
    ack.digest_ack.list_id = 1
    primary.send(ack)
    # the ack is handled in stream order: a packet-out after it proves it was seen
    primary.send(packet_out(b"sync"))
    switch.sent.get(timeout=WAIT)
    q.emit(LEARN, (0x0A, 511))
    q.emit(LEARN, (0x0B, 1))
    dl = primary.next("digest").digest
    assert dl.list_id == 2
    assert [d.struct.members[0].bitstring for d in dl.data] == [b"\x0a", b"\x0b"]


def test_register_access_when_enabled(switch: FakeSwitch) -> None:
    srv = P4RuntimeServer(switch, "127.0.0.1:0", enable_register_access=True)
    srv.start()
    c = RawClient(srv.address)
    try:
        c.arbitrate(1)
        c.set_pipeline()
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
        u.entity.register_entry.register_id = FLOW_REG
        u.entity.register_entry.index.index = 2
        u.entity.register_entry.data.bitstring = b"\x12\x34\x56\x78"
        c.write(u)
        assert switch.state is not None
        assert switch.state.registers["MyIngress.flow_reg"].read(2) == 0x12345678
        q = p4runtime_pb2.Entity()
        q.register_entry.register_id = FLOW_REG
        got = c.read(q)
        assert len(got) == 16
        assert got[2].register_entry.data.bitstring == b"\x12\x34\x56\x78"
        assert got[0].register_entry.data.bitstring == b"\x00"
    finally:
        c.close()
        srv.stop(0)
