"""RawSocket over a veth pair and a TUN device created (and deleted) by the test; needs root."""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct
import subprocess
from collections.abc import Iterator

import pytest

from pktio.afpacket import ARPHRD_ETHER, ARPHRD_NONE, RawSocket

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="AF_PACKET ports over veths need root (CAP_NET_ADMIN, CAP_NET_RAW)"
)

FRAME = bytes.fromhex("02000000000202000000000188b5") + b"payload-" * 8


def _frame(tag: bytes) -> bytes:
    return FRAME + tag


@pytest.fixture
def veth() -> Iterator[tuple[str, str]]:
    a, b = "lfa0", "lfa1"
    subprocess.run(["ip", "link", "del", a], check=False, capture_output=True)
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


def _recv_port(port: RawSocket, want_tag: bytes) -> list[bytes]:
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
    port = RawSocket(a)
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
    port = RawSocket(a)
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
    port = RawSocket(a)
    peer = _raw(b)
    try:
        peer.send(tagged)
        assert _recv_port(port, b"v")[-1] == tagged
    finally:
        port.close()
        peer.close()


def test_unknown_interface_is_a_clear_error():
    with pytest.raises(OSError, match="no network interface named 'nosuchif0'"):
        RawSocket("nosuchif0")


def test_veth_is_ethernet(veth: tuple[str, str]):
    sock = RawSocket(veth[0])
    try:
        assert sock.hatype == ARPHRD_ETHER
        assert sock.ifindex == socket.if_nametoindex(veth[0])
    finally:
        sock.close()


def test_link_down_is_no_frame_and_the_socket_receives_again_after_up(veth: tuple[str, str]):
    """The kernel facts the switch's ports are built on: ENETDOWN once, then it works again."""
    a, b = veth
    errors: list[int | None] = []
    sock = RawSocket(a, on_link_error=lambda e: errors.append(e.errno))
    peer = _raw(b)
    try:
        subprocess.run(["ip", "link", "set", a, "down"], check=True)
        ready, _, _ = select.select([sock], [], [], 5.0)
        assert ready, "a link going down must wake the reader"
        assert sock.recv() is None
        assert errors == [errno.ENETDOWN]
        with pytest.raises(OSError) as down:
            sock.send(_frame(b"down"))
        assert down.value.errno == errno.ENETDOWN
        subprocess.run(["ip", "link", "set", a, "up"], check=True)
        _send_until_received(peer, sock, b"after-up")
        sock.send(_frame(b"out"))
        peer.settimeout(5)
        while not (data := peer.recv(65536)).endswith(b"out"):
            pass
        assert data == _frame(b"out")
    finally:
        sock.close()
        peer.close()


def _send_until_received(sender: socket.socket, sock: RawSocket, tag: bytes) -> None:
    """Send a frame ending in `tag` until `sock` reads it (the peer's carrier may lag)."""
    for _ in range(100):
        sender.send(_frame(tag))
        ready, _, _ = select.select([sock], [], [], 0.1)
        while ready and (data := sock.recv()) is not None:
            if data == _frame(tag):
                return
    raise AssertionError(f"frame {tag!r} never received on {sock.name}")


TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IP_PACKET = bytes.fromhex(
    "4500001c0001000040110000c0a80001c0a800020035003500080000"  # IPv4/UDP, no payload
)


@pytest.fixture
def tun() -> Iterator[tuple[str, int]]:
    name = "lftun0"
    subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as f:
            f.write("1")
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name, fd
    finally:
        os.close(fd)  # the (non-persistent) device goes with its last descriptor


def test_tun_carries_ip_packets_as_they_are(tun: tuple[str, int]):
    name, fd = tun
    sock = RawSocket(name)
    try:
        assert sock.hatype == ARPHRD_NONE
        os.write(fd, IP_PACKET)
        ready, _, _ = select.select([sock], [], [], 5.0)
        assert ready
        assert sock.recv() == IP_PACKET
        reply = IP_PACKET[:-1] + b"\x01"
        sock.send(reply)
        for _ in range(50):  # the kernel may send its own packets out of the TUN too
            ready, _, _ = select.select([fd], [], [], 5.0)
            assert ready, "the frame sent on the TUN never reached its reader"
            if os.read(fd, 65536) == reply:
                break
        else:
            raise AssertionError("the frame sent on the TUN never reached its reader")
    finally:
        sock.close()
