"""AfPacketPort over a veth pair created (and deleted) by the test; needs root."""

from __future__ import annotations

import os
import select
import socket
import subprocess
from collections.abc import Iterator

import pytest

from softswitch.ports.afpacket import AfPacketPort

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="AF_PACKET ports over veths need root (CAP_NET_ADMIN, CAP_NET_RAW)"
)

FRAME = bytes.fromhex("02000000000202000000000188b5") + b"payload-" * 8


def _frame(tag: bytes) -> bytes:
    return FRAME + tag


@pytest.fixture
def veth() -> Iterator[tuple[str, str]]:
    a, b = f"tsw{os.getpid() % 100000}a", f"tsw{os.getpid() % 100000}b"
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
    try:
        for i in (a, b):
            subprocess.run(["ip", "link", "set", i, "up"], check=True)
            with open(f"/proc/sys/net/ipv6/conf/{i}/disable_ipv6", "w") as f:
                f.write("1")
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], check=False)


def _raw(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((ifname, 0x0003))
    return s


def _recv_port(port: AfPacketPort, want_tag: bytes) -> list[bytes]:
    """Every frame `port` reads up to and including the one ending in `want_tag`."""
    got: list[bytes] = []
    for _ in range(1000):
        ready, _, _ = select.select([port], [], [], 5.0)
        assert ready, f"nothing received on {port.name}; got {got}"
        while (data := port.recv()) is not None:
            got.append(data)
            if data.endswith(want_tag):
                return got
    raise AssertionError(f"frame ending in {want_tag!r} never came; got {got}")


def test_receives_exact_frame_and_sends_to_peer(veth: tuple[str, str]):
    a, b = veth
    port = AfPacketPort(a)
    peer = _raw(b)
    try:
        peer.send(_frame(b"#1"))
        assert _recv_port(port, b"#1")[-1] == _frame(b"#1")
        port.send(_frame(b"#2"))
        peer.settimeout(5)
        while (data := peer.recv(65536)) != _frame(b"#2"):
            assert not data.endswith(b"#1"), "peer read its own frame"
        assert port.recv() is None
    finally:
        port.close()
        peer.close()


def test_never_reads_its_own_sends(veth: tuple[str, str]):
    a, b = veth
    port = AfPacketPort(a)
    other_on_a = _raw(a)  # another sender on the same interface: PACKET_OUTGOING for port
    peer = _raw(b)
    try:
        port.send(_frame(b"own"))
        other_on_a.send(_frame(b"other"))
        peer.send(_frame(b"marker"))
        assert _recv_port(port, b"marker") == [_frame(b"marker")]
    finally:
        port.close()
        other_on_a.close()
        peer.close()


def test_vlan_tag_is_put_back(veth: tuple[str, str]):
    """The kernel moves 802.1Q tags into metadata on receive; the port restores them."""
    a, b = veth
    tagged = bytes.fromhex("0200000000020200000000018100a07b0800") + bytes(46) + b"v"
    port = AfPacketPort(a)
    peer = _raw(b)
    try:
        peer.send(tagged)
        assert _recv_port(port, b"v")[-1] == tagged
    finally:
        port.close()
        peer.close()


def test_unknown_interface_is_a_clear_error():
    with pytest.raises(OSError, match="no network interface named 'nosuchif0'"):
        AfPacketPort("nosuchif0")
