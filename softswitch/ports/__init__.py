"""Ports: where the switch's packets come from and go to.

A live port is any object with the :class:`PortIO` methods: the switch's packet loop
waits on ``fileno()`` and calls ``recv()`` until it returns None, and ``send()`` for each
packet the pipeline emits on that port; neither raises into the loop. Implementations:
:mod:`.afpacket` (Linux interfaces, following their link: down/up, deletion and
re-creation) and :mod:`.inproc` (in-process, for tests). The raw sockets and capture
files underneath are :mod:`pktio`; offline pcap mode is
:meth:`softswitch.device.Switch.run_pcap` over :mod:`pktio.pcap`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class PortIO(Protocol):
    """A live, non-blocking packet port."""

    name: str

    def fileno(self) -> int:
        """A file descriptor that becomes readable when ``recv`` has a packet."""
        ...

    def recv(self) -> bytes | None:
        """The next received frame, or None when there is none now (never blocks)."""
        ...

    def send(self, data: bytes) -> None:
        """Transmit one frame; a frame the port cannot send is dropped and counted, not raised."""
        ...

    def close(self) -> None:
        """Release the port's resources."""
        ...
