"""AfPacketPort follows its link: down/up, deletion and re-creation, TUN; needs root."""

from __future__ import annotations

import logging
import os
import select
import socket
import threading

import pytest
from netdevs import add_veth, drain, frame, ip, raw, veths, wait_for

from softswitch.ports.afpacket import AfPacketPort, LinkState

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="AF_PACKET ports over veths need root (CAP_NET_ADMIN, CAP_NET_RAW)"
)


def pump(port: AfPacketPort, wait_s: float = 0.05) -> list[bytes]:
    """What the packet loop does: wait on the port's descriptor, then recv until None."""
    got: list[bytes] = []
    if select.select([port.fileno()], [], [], wait_s)[0]:
        while (data := port.recv()) is not None:
            got.append(data)
    return got


def exchange(port: AfPacketPort, peer: socket.socket, tag: bytes) -> None:
    """A frame from the peer reaches the port, and one from the port reaches the peer."""
    got: list[bytes] = []

    def received() -> bool:
        peer.send(frame(tag + b"-in"))
        got.extend(pump(port))
        return frame(tag + b"-in") in got

    wait_for(f"{tag!r} received on {port.name}", received)
    sent: list[bytes] = []

    def delivered() -> bool:
        port.send(frame(tag + b"-out"))
        sent.extend(drain(peer, 0.05))
        return frame(tag + b"-out") in sent

    wait_for(f"{tag!r} sent by {port.name}", delivered)


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_link_flap_costs_only_the_frames_while_down(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="softswitch.ports")
    with veths(("lfa0", "lfa1")):
        port = AfPacketPort("lfa0", poll_s=0.02)
        peer = raw("lfa1")
        try:
            exchange(port, peer, b"before")
            ip("link", "set", "lfa0", "down")
            wait_for(
                "the port to see its link down",
                lambda: not pump(port) and port.state is LinkState.DOWN,
            )
            for _ in range(3):
                port.send(frame(b"while-down"))  # never raises
            assert port.tx_dropped_link == 3
            ip("link", "set", "lfa0", "up")
            wait_for("the port to see its link up", lambda: port.state is LinkState.UP)
            exchange(port, peer, b"after")
            assert port.link_downs == 1
            assert port.reopens == 0
            assert len(messages(caplog, "lfa0: link down")) == 1
            assert len(messages(caplog, "lfa0: link up")) == 1
        finally:
            port.close()
            peer.close()


def test_deleted_interface_is_reopened_when_it_comes_back(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="softswitch.ports")
    with veths(("lfa0", "lfa1")):
        port = AfPacketPort("lfa0", retry_min_s=0.01, retry_max_s=0.2)
        peer = raw("lfa1")
        try:
            old_index = socket.if_nametoindex("lfa0")
            exchange(port, peer, b"before")
            peer.close()
            ip("link", "del", "lfa0")
            wait_for(
                "the port to see its interface gone",
                lambda: not pump(port) and port.state is LinkState.GONE,
            )
            port.send(frame(b"while-gone"))
            assert port.tx_dropped_link == 1
            add_veth("lfa0", "lfa1")
            assert socket.if_nametoindex("lfa0") != old_index
            wait_for("the port to reopen", lambda: port.state is LinkState.UP)
            peer = raw("lfa1")
            exchange(port, peer, b"after")
            assert port.reopens == 1
            assert len(messages(caplog, "lfa0: interface removed")) == 1
            assert len(messages(caplog, "lfa0: interface is back")) == 1
        finally:
            port.close()
            peer.close()


def test_recreated_under_the_same_name_before_the_port_looks():
    """Delete and re-create at once: the port sees a new ifindex and reopens."""
    with veths(("lfa0", "lfa1")):
        port = AfPacketPort("lfa0", retry_min_s=0.01, retry_max_s=0.2)
        try:
            ip("link", "del", "lfa0")
            add_veth("lfa0", "lfa1")
            wait_for("the port to reopen", lambda: not pump(port) and port.reopens == 1)
            wait_for("the port to be up", lambda: port.state is LinkState.UP)
            with raw("lfa1") as peer:
                exchange(port, peer, b"again")
        finally:
            port.close()


def test_port_opened_on_a_down_interface_comes_up():
    with veths(("lfa0", "lfa1")):
        ip("link", "set", "lfa0", "down")
        port = AfPacketPort("lfa0", poll_s=0.02)
        try:
            assert port.state is LinkState.DOWN
            port.send(frame(b"x"))
            assert port.tx_dropped_link == 1
            ip("link", "set", "lfa0", "up")
            wait_for("the port to be up", lambda: port.state is LinkState.UP)
            with raw("lfa1") as peer:
                exchange(port, peer, b"up")
        finally:
            port.close()


def test_close_stops_following_the_link():
    with veths(("lfa0", "lfa1")):
        port = AfPacketPort("lfa0")
        ip("link", "del", "lfa0")
        wait_for("gone", lambda: not pump(port) and port.state is LinkState.GONE)
        assert any(t.name == "port-lfa0-link" for t in threading.enumerate())
        port.close()
        assert not any(t.name == "port-lfa0-link" for t in threading.enumerate())
