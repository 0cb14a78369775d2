"""The server driven by p4runtime-shell's own API (p4runtime_sh.shell)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import p4runtime_sh.shell as sh
import pytest
from p4rt_helpers import TOY_P4INFO_PATH, WAIT, FakeSwitch
from p4runtime_sh.p4runtime import P4RuntimeWriteException

from softswitch.server import P4RuntimeServer


@pytest.fixture
def shell(server: P4RuntimeServer, tmp_path: Path) -> Iterator[None]:
    bin_path = tmp_path / "toy.json"
    bin_path.write_bytes(b'{"format": "softswitch-v1"}')
    sh.setup(
        device_id=1,
        grpc_addr=server.address,
        election_id=(0, 1),
        config=sh.FwdPipeConfig(str(TOY_P4INFO_PATH), str(bin_path)),
        verbose=False,
    )
    try:
        yield
    finally:
        sh.teardown()


def test_shell_sets_pipeline(shell: None, switch: FakeSwitch) -> None:
    assert switch.device_config == b'{"format": "softswitch-v1"}'
    assert switch.state is not None and "MyIngress.acl" in switch.state.tables


def test_shell_exact_ternary_lpm_insert_and_read(shell: None, switch: FakeSwitch) -> None:
    te = sh.TableEntry("MyIngress.l2_exact")(action="MyIngress.set_egress")
    te.match["hdr.ethernet.dstAddr"] = "00:11:22:33:44:55"
    te.action["port"] = "3"
    te.insert()

    te = sh.TableEntry("MyIngress.ipv4_lpm")(action="MyIngress.ipv4_forward")
    te.match["hdr.ipv4.dstAddr"] = "10.1.0.0/16"
    te.action["dstAddr"] = "00:00:00:00:00:01"
    te.action["port"] = "2"
    te.insert()

    te = sh.TableEntry("MyIngress.acl")(action="MyIngress.drop")
    te.match["hdr.ipv4.srcAddr"] = "10.0.0.0&&&255.0.0.0"
    te.match["dst_port"] = "80..90"
    te.priority = 7
    te.insert()

    l2 = list(sh.TableEntry("MyIngress.l2_exact").read())
    assert len(l2) == 1
    assert l2[0].match["hdr.ethernet.dstAddr"].exact.value == b"\x11\x22\x33\x44\x55"
    assert l2[0].action["port"].value == b"\x03"
    (lpm,) = sh.TableEntry("MyIngress.ipv4_lpm").read()
    assert lpm.match["hdr.ipv4.dstAddr"].lpm.prefix_len == 16
    assert lpm.match["hdr.ipv4.dstAddr"].lpm.value == b"\x0a\x01\x00\x00"
    (acl,) = sh.TableEntry("MyIngress.acl").read()
    assert acl.priority == 7
    assert acl.match["hdr.ipv4.srcAddr"].ternary.mask == b"\xff\x00\x00\x00"
    assert acl.match["dst_port"].range.low == b"\x50"

    state = switch.state
    assert state is not None
    hit = state.tables["MyIngress.acl"].lookup((0, 0x0A000001, 85, 0))
    assert hit is not None and hit.action.action_id == state.action_ids["MyIngress.drop"]
    hit = state.tables["MyIngress.ipv4_lpm"].lookup((0x0A01FFFF,))
    assert hit is not None and hit.action.args == (1, 2)

    # the shell masks ternary values itself; a duplicate and a missing priority still fail
    dup = sh.TableEntry("MyIngress.l2_exact")(action="MyIngress.set_egress")
    dup.match["hdr.ethernet.dstAddr"] = "00:11:22:33:44:55"
    dup.action["port"] = "4"
    with pytest.raises(P4RuntimeWriteException) as ei:
        dup.insert()
    assert "ALREADY_EXISTS" in str(ei.value)
    bad = sh.TableEntry("MyIngress.acl")(action="MyIngress.drop")
    bad.match["hdr.ipv4.srcAddr"] = "10.0.0.0&&&255.0.0.0"
    with pytest.raises(P4RuntimeWriteException) as ei:
        bad.insert()
    assert "INVALID_ARGUMENT" in str(ei.value)


def test_shell_packet_out_and_packet_in(shell: None, switch: FakeSwitch) -> None:
    pin = sh.PacketIn()
    out = sh.PacketOut(b"hello", egress_port="3", tag="2748")
    out.send()
    assert switch.sent.get(timeout=WAIT) == b"\x01\xaa\xf0hello"
    switch.send_to_cpu(b"\x02\x00world")
    msg = pin.packet_in_queue.get(timeout=WAIT)
    assert msg.packet.payload == b"world"
    assert [(m.metadata_id, m.value) for m in msg.packet.metadata] == [(1, b"\x04"), (2, b"\x00")]
