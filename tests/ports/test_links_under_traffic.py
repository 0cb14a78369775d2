"""A running switch whose links flap, vanish and come back, and a TUN port; needs root.

The switch runs ``l2fwd.p4`` (port N <-> port N^1) on the tests' own veths: ports 0 and 1
are the pair whose port 0 flaps, ports 2 and 3 the pair that must never notice. The TUN
test also runs on BMv2 when it is on PATH (the reference behaviour). The flap and
re-creation tests run on the softswitch only: simple_switch never reopens a deleted
interface, and after a flap with traffic queued for the down port its transmissions on
that port stay stalled for seconds (docs/DESIGN-softswitch.md, "Ports").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_switch import TARGETS, live_switch
from netdevs import add_veth, drain, frame, ip, raw, tun, veths, wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="live switch ports over veths need root (CAP_NET_ADMIN, CAP_NET_RAW)"
)

PAIRS = (("lfa0", "lfa1"), ("lfb0", "lfb1"), ("lfc0", "lfc1"), ("lfd0", "lfd1"))
PORTS = {0: "lfa0", 1: "lfb0", 2: "lfc0", 3: "lfd0"}
GAP_S = 0.002  # one frame per path every 2 ms: far below what either target forwards


class Traffic:
    """Numbered frames into port 1 (out of port 0) and into port 2 (out of port 3)."""

    def __init__(self) -> None:
        self.tx = {"b": raw("lfb1"), "c": raw("lfc1")}
        self.rx = {"b": raw("lfa1"), "c": raw("lfd1")}
        self.sent = 0
        self.got: dict[str, set[int]] = {"b": set(), "c": set()}
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the receiving sockets may be replaced meanwhile
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(GAP_S):
            seq = self.sent
            for path, s in self.tx.items():
                s.send(frame(f"{path}{seq:08d}".encode()))
            self.sent = seq + 1
            self._collect()

    def _collect(self, wait_s: float = 0.0) -> None:
        with self._lock:
            for path, s in self.rx.items():
                for data in drain(s, wait_s):
                    tag = data[-9:]
                    if data == frame(tag) and tag[:1] == path.encode():
                        self.got[path].add(int(tag[1:]))

    def reopen_rx(self, path: str, ifname: str) -> None:
        """Receive `path`'s frames on a new socket on `ifname` (a re-created interface)."""
        with self._lock:
            self.rx[path].close()
            self.rx[path] = raw(ifname)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._collect(0.5)
        for s in (*self.tx.values(), *self.rx.values()):
            s.close()

    def wait_sent(self, n: int) -> None:
        start = self.sent
        wait_for(f"{n} more frames sent", lambda: self.sent >= start + n)


@pytest.fixture
def links() -> Iterator[None]:
    with veths(*PAIRS):
        yield


def _log_lines(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if text in line]


def _reverse_path_works(tag: bytes) -> None:
    """A frame into port 0 (lfa1 -> lfa0) leaves on port 1 (lfb1)."""
    with raw("lfa1") as into, raw("lfb1") as out:
        got: list[bytes] = []

        def arrived() -> bool:
            into.send(frame(tag))
            got.extend(drain(out, 0.05))
            return frame(tag) in got

        wait_for(f"{tag!r} forwarded from port 0 to port 1", arrived)


def test_flap_under_traffic_resumes_and_the_other_pair_never_stops(links: None, tmp_path: Path):
    with live_switch("softswitch", PORTS, tmp_path) as log, Traffic() as traffic:
        traffic.wait_sent(100)
        wait_for("traffic through both pairs", lambda: all(traffic.got.values()))
        ip("link", "set", "lfa0", "down")
        traffic.wait_sent(150)
        ip("link", "set", "lfa0", "up")
        up_at = traffic.sent
        wait_for("frames out of port 0 again", lambda: any(s >= up_at for s in traffic.got["b"]))
        traffic.wait_sent(150)
        _reverse_path_works(b"reverse!!")
    sent = set(range(traffic.sent))
    assert traffic.got["c"] == sent, "the other pair lost frames during the flap"
    resumed = min(s for s in traffic.got["b"] if s >= up_at)
    assert set(range(resumed, traffic.sent)) <= traffic.got["b"], "port 0 did not resume fully"
    assert len(traffic.got["b"]) < len(sent), "no frame was lost: did the link go down?"
    wait_for("the link-up log line", lambda: bool(_log_lines(log, "lfa0: link up")))
    assert len(_log_lines(log, "lfa0: link down")) == 1
    assert len(_log_lines(log, "lfa0: link up")) == 1
    assert _log_lines(log, "Traceback") == []


def test_deleted_and_recreated_interface_forwards_again(links: None, tmp_path: Path):
    with live_switch("softswitch", PORTS, tmp_path) as log, Traffic() as traffic:
        traffic.wait_sent(100)
        ip("link", "del", "lfa0")
        traffic.wait_sent(100)
        add_veth("lfa0", "lfa1")
        traffic.reopen_rx("b", "lfa1")  # the test's end is a new interface too
        back_at = traffic.sent
        wait_for(
            "frames out of the re-created port 0",
            lambda: any(s >= back_at for s in traffic.got["b"]),
        )
        _reverse_path_works(b"reverse!!")
    assert traffic.got["c"] == set(range(traffic.sent)), "the other pair lost frames"
    assert len(_log_lines(log, "lfa0: interface removed")) == 1
    assert len(_log_lines(log, "lfa0: interface is back")) == 1
    assert _log_lines(log, "Traceback") == []


IP_PACKET = bytes.fromhex("4500001c0001000040110000c0a80001c0a80002003500350008") + b"\x00\x00"


@pytest.mark.parametrize("target", TARGETS)
def test_tun_port_carries_ip_packets(target: str, tmp_path: Path):
    """Frames on a TUN are IP packets with no Ethernet header; they pass as they are."""
    with (
        veths(("lfa0", "lfa1")),
        tun("lftun0") as fd,
        live_switch(target, {0: "lftun0", 1: "lfa0"}, tmp_path),
        raw("lfa1") as peer,
    ):
        got: list[bytes] = []

        def out_of_veth() -> bool:
            os.write(fd, IP_PACKET)
            got.extend(drain(peer, 0.05))
            return IP_PACKET in got

        wait_for("the TUN's IP packet out of port 1", out_of_veth)
        back = IP_PACKET[:-1] + b"\x01"
        from_tun: list[bytes] = []

        def out_of_tun() -> bool:
            peer.send(back)
            from_tun.extend(drain(fd, 0.05))
            return back in from_tun

        wait_for("the veth's packet out of the TUN", out_of_tun)
