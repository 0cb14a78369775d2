"""A switch port on a Linux network interface, through an AF_PACKET raw socket.

What simple_switch does with libpcap, done directly: one SOCK_RAW socket per interface,
bound to it for every protocol (ETH_P_ALL), promiscuous, non-blocking. Frames this
socket (or anything else on the host) *sends* out of the interface also appear on an
ETH_P_ALL socket as PACKET_OUTGOING; they are ignored, in the kernel where it can
(PACKET_IGNORE_OUTGOING, Linux >= 4.20) and here otherwise, or the switch would forward
its own output again. VLAN tags that the kernel moved into metadata are put back (as
libpcap does), so the pipeline sees the frame that was on the wire. Needs CAP_NET_RAW.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40

_AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
_BUFSIZE = 4 << 20
_MAX_FRAME = 65536 + 4  # largest frame plus a VLAN tag we may re-insert


class AfPacketPort:
    """A non-blocking :class:`~softswitch.ports.PortIO` on interface `ifname`."""

    def __init__(self, ifname: str, bufsize: int = _BUFSIZE) -> None:
        self.name = ifname
        self.rx_dropped_outgoing = 0  # only counts when the kernel cannot filter them
        self.tx_errors = 0
        try:
            self.ifindex = socket.if_nametoindex(ifname)
        except OSError as e:
            raise OSError(e.errno, f"no network interface named {ifname!r}") from None
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.bind((ifname, ETH_P_ALL))
            for opt, force in ((socket.SO_RCVBUF, 33), (socket.SO_SNDBUF, 32)):
                try:  # SO_*BUFFORCE ignores net.core.*mem_max; needs CAP_NET_ADMIN
                    sock.setsockopt(socket.SOL_SOCKET, force, bufsize)
                except OSError:
                    sock.setsockopt(socket.SOL_SOCKET, opt, bufsize)
            mreq = struct.pack("iHH8s", self.ifindex, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                self.kernel_filters_outgoing = True
            except OSError:
                self.kernel_filters_outgoing = False
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._ancsize = socket.CMSG_SPACE(_AUXDATA.size)

    def fileno(self) -> int:
        """The socket's descriptor, for select/poll."""
        return self._sock.fileno()

    def recv(self) -> bytes | None:
        """The next frame received on the interface, or None if none is queued."""
        sock = self._sock
        while True:
            try:
                data, anc, _flags, addr = sock.recvmsg(_MAX_FRAME, self._ancsize)
            except BlockingIOError:
                return None
            except InterruptedError:
                continue
            if addr[2] == PACKET_OUTGOING:
                self.rx_dropped_outgoing += 1
                continue
            for level, kind, value in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA and len(value) >= _AUXDATA.size:
                    status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(value)
                    if status & TP_STATUS_VLAN_VALID and len(data) >= 12:
                        if not status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = 0x8100
                        data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
            return data

    def send(self, data: bytes) -> None:
        """Transmit one frame; errors (frame too short or too long, link down) drop it."""
        try:
            self._sock.send(data)
        except BlockingIOError:
            self.tx_errors += 1
            log.warning("%s: send buffer full, frame of %d bytes dropped", self.name, len(data))
        except OSError as e:
            self.tx_errors += 1
            reason = errno.errorcode.get(e.errno or 0, str(e.errno))
            log.warning("%s: frame of %d bytes not sent (%s)", self.name, len(data), reason)

    def close(self) -> None:
        """Close the socket (promiscuous mode ends with it)."""
        self._sock.close()

    def __repr__(self) -> str:
        return f"AfPacketPort({self.name!r})"
