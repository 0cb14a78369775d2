"""Network devices for the port tests: veth pairs and TUN devices they create and delete.

Names are the tests' own (``lf*``), so they never touch the PTF topology's veths.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003


def ip(*args: str, check: bool = True) -> None:
    """Run `ip ARGS...`."""
    subprocess.run(["ip", *args], check=check, capture_output=not check)


def add_veth(a: str, b: str) -> None:
    """Create veth pair a<->b (removing a leftover of the same name), both up, no IPv6."""
    ip("link", "del", a, check=False)
    ip("link", "add", a, "type", "veth", "peer", "name", b)
    for name in (a, b):
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as f:
            f.write("1")
        ip("link", "set", name, "up")


@contextlib.contextmanager
def veths(*pairs: tuple[str, str]) -> Iterator[None]:
    """The veth pairs, deleted on exit."""
    try:
        for a, b in pairs:
            add_veth(a, b)
        yield
    finally:
        for a, _ in pairs:
            ip("link", "del", a, check=False)


@contextlib.contextmanager
def tun(name: str) -> Iterator[int]:
    """A TUN device (IP packets, no packet-info header), up; yields its descriptor."""
    ip("link", "del", name, check=False)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as f:
            f.write("1")
        ip("link", "set", name, "up")
        yield fd
    finally:
        os.close(fd)  # a non-persistent TUN goes with its last descriptor


def raw(ifname: str) -> socket.socket:
    """A non-blocking ETH_P_ALL socket on `ifname` (the test's end of a link)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, ETH_P_ALL))
    s.setblocking(False)
    return s


def frame(tag: bytes) -> bytes:
    """An Ethernet frame (local EtherType) whose payload ends in `tag`."""
    return bytes.fromhex("02000000000202000000000188b5") + b"payload-" * 6 + tag


def drain(s: socket.socket | int, wait_s: float = 0.0) -> list[bytes]:
    """Every frame readable on `s` now (waiting up to `wait_s` for the first).

    A link error (the interface went down or away) ends the list.
    """
    fd = s if isinstance(s, int) else s.fileno()
    out: list[bytes] = []
    while select.select([fd], [], [], wait_s)[0]:
        try:
            out.append(os.read(fd, 65536) if isinstance(s, int) else s.recv(65536))
        except BlockingIOError:
            break
        except OSError as e:  # the link went down or away under the reader
            if e.errno not in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
                raise
            break
        wait_s = 0.0
    return out


def wait_for(what: str, cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll `cond` until true; fail naming `what` after `timeout_s`."""
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
