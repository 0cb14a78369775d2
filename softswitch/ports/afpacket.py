"""A switch port on a Linux network interface that survives its link.

The frames go through a :class:`pktio.afpacket.RawSocket`; this layer follows the link,
so a port costs only its own packets while its interface is unusable:

- **link down** (``ip link set IF down``): the kernel reports ENETDOWN on the socket;
  the port logs ``IF: link down``, counts every frame sent to it as dropped, and logs
  ``IF: link up`` when the interface is up again. The socket keeps its binding and
  receives again by itself, so forwarding resumes at once (as on simple_switch, which
  says nothing either way).
- **interface deleted**: the socket is closed and the port logs ``IF: interface removed``;
  a background thread looks for an interface of that name again, with a back-off from
  ``retry_min_s`` doubling up to ``retry_max_s``, and reopens the socket by name on the
  new interface (new ifindex), logging ``IF: interface is back``. simple_switch never
  reopens: its port stays dead until the switch restarts.

Every transition is logged once, with the interface name. Nothing here raises into the
packet loop: ``recv`` returns None and ``send`` counts a frame it cannot send. The port's
``fileno()`` is an epoll descriptor that stays the same across reopens, so the packet
loop registers it once. TUN devices (no Ethernet header) work as any other interface:
frames are the bytes the device carries.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import os
import select
import threading

from pktio.afpacket import (
    DEFAULT_BUFSIZE,
    LINK_ERRNOS,
    RawSocket,
    interface_index,
    interface_is_up,
)

log = logging.getLogger(__name__)


class LinkState(enum.Enum):
    """Where a port's interface is."""

    UP = "up"
    DOWN = "down"  # exists, administratively down
    GONE = "gone"  # deleted; waiting for an interface of the same name


class AfPacketPort:
    """A non-blocking :class:`~softswitch.ports.PortIO` on interface `ifname`.

    Counters: ``rx``, ``tx`` (frames handed to the kernel), ``tx_dropped_link`` (sent while
    the link was down or the interface gone), ``tx_errors`` (other send failures: buffer
    full, frame too long), ``rx_errors``, ``link_downs``, ``reopens``.
    """

    def __init__(
        self,
        ifname: str,
        bufsize: int = DEFAULT_BUFSIZE,
        retry_min_s: float = 0.05,
        retry_max_s: float = 1.0,
        poll_s: float = 0.1,
    ) -> None:
        self.name = ifname
        self._bufsize = bufsize
        self._retry = (retry_min_s, retry_max_s)
        self._poll_s = poll_s
        self.rx = self.tx = self.tx_dropped_link = self.tx_errors = self.rx_errors = 0
        self.link_downs = self.reopens = 0
        self._link_error = False
        self._woken = False  # the wake-up pipe holds a byte for recv() to take
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._watching = False  # a watcher thread runs (or is about to); under the lock
        self._sock: RawSocket | None = self._open()  # raises if there is no such interface
        self._ep = select.epoll()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._ep.register(self._wake_r, select.EPOLLIN)
        self._ep.register(self._sock.fileno(), select.EPOLLIN)
        self.state = LinkState.UP
        if not interface_is_up(ifname):
            with self._lock:
                self._set_down()

    def _open(self) -> RawSocket:
        return RawSocket(self.name, self._bufsize, on_link_error=self._on_link_error)

    def _on_link_error(self, _e: OSError) -> None:
        self._link_error = True  # acted on by the caller of RawSocket.recv, under the lock

    # ---- PortIO

    def fileno(self) -> int:
        """An epoll descriptor, readable when the socket has frames or the link changed."""
        return self._ep.fileno()

    def recv(self) -> bytes | None:
        """The next frame, or None when none is queued (or the interface is unusable)."""
        if self._woken:
            self._woken = False
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 4096)
        with self._lock:
            sock = self._sock
            if sock is None:
                return None
            try:
                data = sock.recv()
            except OSError as e:
                self.rx_errors += 1
                log.warning("%s: receive failed (%s)", self.name, _reason(e))
                return None
            if self._link_error:
                self._link_error = False
                self._check_link()
                return None
            if data is not None:
                self.rx += 1
                if self.state is LinkState.DOWN:
                    self._set_up("link up")
            return data

    def send(self, data: bytes) -> None:
        """Transmit one frame; a frame the port cannot send is counted, never raised."""
        with self._lock:
            sock = self._sock
            if sock is None:
                self.tx_dropped_link += 1
                return
            try:
                sock.send(data)
            except BlockingIOError:
                self.tx_errors += 1
                log.warning("%s: send buffer full, frame of %d bytes dropped", self.name, len(data))
            except OSError as e:
                if e.errno in LINK_ERRNOS:
                    self.tx_dropped_link += 1
                    if self.state is LinkState.UP:
                        self._check_link()
                else:
                    self.tx_errors += 1
                    log.warning(
                        "%s: frame of %d bytes not sent (%s)", self.name, len(data), _reason(e)
                    )
            else:
                self.tx += 1
                if self.state is LinkState.DOWN:
                    self._set_up("link up")

    def close(self) -> None:
        """Stop following the link and close the socket."""
        self._stop.set()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=5)
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
        self._ep.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # ---- following the link (every method below runs with self._lock held)

    def _check_link(self) -> None:
        """After a link error: find out what happened to the interface."""
        sock = self._sock
        assert sock is not None
        if interface_index(self.name) != sock.ifindex:
            self._set_gone()
        elif not interface_is_up(self.name):
            if self.state is LinkState.UP:
                self._set_down()
        elif self.state is LinkState.UP:  # went down and came back before we looked
            self.link_downs += 1
            log.warning("%s: link went down and came back up", self.name)

    def _set_down(self) -> None:
        self.state = LinkState.DOWN
        self.link_downs += 1
        log.warning("%s: link down; frames sent to it are dropped until it is up", self.name)
        self._start_watcher()

    def _set_gone(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                self._ep.unregister(sock.fileno())
            sock.close()
            self._sock = None
        if self.state is LinkState.UP:
            self.link_downs += 1
        self.state = LinkState.GONE
        log.warning(
            "%s: interface removed; frames sent to it are dropped; reopening when an "
            "interface of that name appears",
            self.name,
        )
        self._start_watcher()

    def _set_up(self, how: str) -> None:
        self.state = LinkState.UP
        log.warning("%s: %s", self.name, how)
        self._woken = True
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"u")  # let the packet loop read what queued meanwhile

    def _start_watcher(self) -> None:
        if self._watching or self._stop.is_set():
            return
        self._watching = True
        self._watcher = threading.Thread(
            target=self._watch, name=f"port-{self.name}-link", daemon=True
        )
        self._watcher.start()

    def _watch(self) -> None:
        """Poll a down link until it is up; reopen a removed interface (with back-off)."""
        retry_min, retry_max = self._retry
        delay = 0.0
        while not self._stop.wait(delay):
            with self._lock:
                if self.state is LinkState.UP or self._stop.is_set():
                    self._watching = False
                    return
                if self.state is LinkState.DOWN:
                    assert self._sock is not None
                    if interface_index(self.name) != self._sock.ifindex:
                        self._set_gone()
                        delay = 0.0
                    elif interface_is_up(self.name):
                        self._set_up("link up")
                    else:
                        delay = self._poll_s
                    continue
                delay = min(max(delay * 2, retry_min), retry_max)
                try:
                    sock = self._open()
                except OSError:
                    continue
                self._sock = sock
                self._ep.register(sock.fileno(), select.EPOLLIN)
                self.reopens += 1
                if interface_is_up(self.name):
                    self._set_up(f"interface is back (ifindex {sock.ifindex}); reopened")
                else:
                    self.state = LinkState.DOWN
                    log.warning(
                        "%s: interface is back (ifindex %d) but down; reopened",
                        self.name,
                        sock.ifindex,
                    )
                    delay = self._poll_s
        with self._lock:
            self._watching = False

    def __repr__(self) -> str:
        return f"AfPacketPort({self.name!r}, {self.state.value})"


def _reason(e: OSError) -> str:
    return errno.errorcode.get(e.errno or 0, str(e.errno))
