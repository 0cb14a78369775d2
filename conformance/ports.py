"""Packet paths between the runner and a target: veth pairs or in-process ports.

Both record every frame a target sends, per STF port, in arrival order. Frames shorter
than an Ethernet header are zero-padded to 14 bytes before they enter a target, as the
kernel does when a privileged process sends them on a veth, so that both paths feed
the program the same bytes.
"""

from __future__ import annotations

import contextlib
import errno
import queue
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from typing import Protocol

MIN_FRAME = 14
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def pad(data: bytes) -> bytes:
    return data if len(data) >= MIN_FRAME else data + bytes(MIN_FRAME - len(data))


def read_pcap(path: str) -> list[bytes]:
    """Frames of a classic pcap file (either byte order), as BMv2's --pcap writes them."""
    import struct

    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    frames, pos = [], 24
    while pos + 16 <= len(data):
        incl = struct.unpack(order + "IIII", data[pos : pos + 16])[2]
        frames.append(data[pos + 16 : pos + 16 + incl])
        pos += 16 + incl
    return frames


class PacketPath(Protocol):
    def send(self, port: int, data: bytes) -> None: ...
    def received(self) -> list[tuple[int, bytes]]: ...
    def close(self) -> None: ...


class _Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: list[tuple[int, bytes]] = []

    def record(self, port: int, data: bytes) -> None:
        with self._lock:
            self._frames.append((port, data))

    def received(self) -> list[tuple[int, bytes]]:
        with self._lock:
            return list(self._frames)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def veth_names(index: int) -> tuple[str, str]:
    """(switch side, runner side) names of veth pair `index` (0..15)."""
    return f"cfa{index}", f"cfb{index}"


def create_veths(indices: Iterable[int]) -> None:
    """Create (or recreate) the veth pairs, up, without IPv6 (no stray frames)."""
    for i in indices:
        a, b = veth_names(i)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", a)
        _ip("link", "add", a, "type", "veth", "peer", "name", b)
        for n in (a, b):
            with (
                contextlib.suppress(OSError),
                open(f"/proc/sys/net/ipv6/conf/{n}/disable_ipv6", "w") as f,
            ):
                f.write("1")
            _ip("link", "set", n, "mtu", "9000")
            _ip("link", "set", n, "up")
        _wait_up([a, b])


def _wait_up(names: list[str], timeout: float = 5.0) -> None:
    """Wait until every interface reports operstate `up` (carrier on both veth ends):
    frames sent on a veth whose peer is not up yet are dropped without an error."""
    deadline = time.monotonic() + timeout
    for n in names:
        while time.monotonic() < deadline:
            try:
                with open(f"/sys/class/net/{n}/operstate") as f:
                    if f.read().strip() == "up":
                        break
            except OSError:
                pass
            time.sleep(0.01)


def delete_veths(indices: Iterable[int]) -> None:
    for i in indices:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", veth_names(i)[0])


class VethPath(_Recorder):
    """Raw sockets on the runner side of veth pairs; `mapping` is STF port -> index."""

    def __init__(self, mapping: dict[int, int]) -> None:
        super().__init__()
        self.mapping = mapping
        self._socks: dict[int, socket.socket] = {}
        for port, idx in mapping.items():
            # protocol 0 until bound: an ETH_P_ALL socket would see every interface's
            # frames (loopback gRPC too) before bind() narrows it to one
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            s.bind((veth_names(idx)[1], ETH_P_ALL))  # CPython applies htons
            s.setblocking(False)
            self._socks[port] = s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        by_fd = {s.fileno(): (p, s) for p, s in self._socks.items()}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(by_fd), [], [], 0.05)
            for fd in ready:
                port, s = by_fd[fd]
                while True:
                    try:
                        data, addr = s.recvfrom(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    if addr[2] != PACKET_OUTGOING:
                        self.record(port, data)

    def send(self, port: int, data: bytes) -> None:
        frame = pad(data)
        for attempt in range(50):
            try:
                self._socks[port].send(frame)
                return
            except OSError as e:  # ENXIO/ENETDOWN while the switch (re)opens its end
                if e.errno not in (errno.ENXIO, errno.ENETDOWN) or attempt == 49:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for s in self._socks.values():
            s.close()


class InProcessPath(_Recorder):
    """Frames straight into a softswitch `Switch` in this process (no root needed)."""

    def __init__(self, ports: dict[int, object]) -> None:
        super().__init__()
        self._ports = ports  # STF port -> softswitch.ports.inproc.InProcessPort
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            got = False
            for port, io in self._ports.items():
                try:
                    data = io.get(timeout=0)  # type: ignore[attr-defined]
                except queue.Empty:
                    continue
                self.record(port, data)
                got = True
            if not got:
                time.sleep(0.002)

    def send(self, port: int, data: bytes) -> None:
        self._ports[port].put(pad(data))  # type: ignore[attr-defined]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
