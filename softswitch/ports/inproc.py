"""An in-process port: tests put frames in and take the switch's output out.

It behaves like a live port for :meth:`softswitch.device.Switch.serve_ports` (its
``fileno`` is the read end of a pipe that is written to whenever a frame is queued), so
tests can exercise the same packet loop as on veths without root.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import threading


class InProcessPort:
    """A :class:`~softswitch.ports.PortIO` fed by :meth:`put`; output read by :meth:`get`."""

    def __init__(self, name: str = "inproc") -> None:
        self.name = name
        self._rx: collections.deque[bytes] = collections.deque()
        self._tx: queue.Queue[bytes] = queue.Queue()
        self._lock = threading.Lock()
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)

    # ---- test side
    def put(self, data: bytes) -> None:
        """Queue a frame as if it arrived on the wire."""
        with self._lock:
            self._rx.append(bytes(data))
            os.write(self._w, b"x")

    def get(self, timeout: float | None = None) -> bytes:
        """The next frame the switch sent on this port; raises queue.Empty after `timeout`."""
        return self._tx.get(timeout=timeout)

    def sent(self) -> list[bytes]:
        """Every frame sent and not yet taken, without waiting."""
        out = []
        while True:
            try:
                out.append(self._tx.get_nowait())
            except queue.Empty:
                return out

    # ---- switch side (PortIO)
    def fileno(self) -> int:
        """Readable while frames are queued."""
        return self._r

    def recv(self) -> bytes | None:
        """Next queued frame or None."""
        with self._lock:
            if not self._rx:
                return None
            with contextlib.suppress(BlockingIOError):
                os.read(self._r, 1)
            return self._rx.popleft()

    def send(self, data: bytes) -> None:
        """Record a frame the switch transmitted."""
        self._tx.put(bytes(data))

    def close(self) -> None:
        """Close the wake-up pipe."""
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._r = self._w = -1
