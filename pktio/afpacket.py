"""A raw AF_PACKET socket on one Linux network interface, and interface look-ups.

What simple_switch does with libpcap, done directly: one SOCK_RAW socket per interface,
bound to it for every protocol (ETH_P_ALL), promiscuous, non-blocking. Frames this
socket (or anything else on the host) *sends* out of the interface also appear on an
ETH_P_ALL socket as PACKET_OUTGOING; they are ignored, in the kernel where it can
(PACKET_IGNORE_OUTGOING, Linux >= 4.20) and here otherwise, or a switch would forward
its own output again. On Ethernet interfaces, VLAN tags that the kernel moved into
metadata are put back (as libpcap does), so the reader sees the frame that was on the
wire. On interfaces without a link-layer header (TUN devices, ARPHRD_NONE) frames are the
bytes the interface carries (an IP packet), received and sent as they are, as libpcap
(DLT_RAW) passes them. Needs CAP_NET_RAW.

Link events reach a raw socket as errors: when the interface goes down the kernel reports
ENETDOWN once on the socket (the socket keeps its binding and receives again when the link
comes back up); when the interface is deleted the socket is left bound to nothing and
never receives again (a new interface of the same name has a new index). :meth:`recv`
turns those errors into "no frame" and tells ``on_link_error``, so a reader never dies of
a link flap; following the link (and reopening) is the caller's job.
"""

from __future__ import annotations

import errno
import fcntl
import socket
import struct
from collections.abc import Callable

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ARPHRD_ETHER = 1
ARPHRD_NONE = 0xFFFE  # TUN devices: no link-layer header

SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
IFF_RUNNING = 0x40

# Errors a raw socket reports for its link rather than for one frame.
LINK_ERRNOS = frozenset({errno.ENETDOWN, errno.ENXIO, errno.ENODEV})

_AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
_IFREQ_FLAGS = struct.Struct("16sH14x")  # struct ifreq with ifr_flags
DEFAULT_BUFSIZE = 4 << 20
_MAX_FRAME = 65536 + 4  # largest frame plus a VLAN tag we may re-insert


def interface_index(ifname: str) -> int | None:
    """The interface's index, or None when no interface has that name."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        return None


def interface_flags(ifname: str) -> int | None:
    """The interface's IFF_* flags (SIOCGIFFLAGS), or None when it does not exist."""
    name = ifname.encode()
    if len(name) >= 16:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            out = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, _IFREQ_FLAGS.pack(name, 0))
        except OSError:
            return None
    return int(_IFREQ_FLAGS.unpack(out)[1])


def interface_is_up(ifname: str) -> bool:
    """True when the interface exists and is administratively up (IFF_UP)."""
    flags = interface_flags(ifname)
    return flags is not None and bool(flags & IFF_UP)


class RawSocket:
    """A non-blocking, promiscuous AF_PACKET socket bound to interface `ifname`.

    ``ifindex`` is the index it was opened on and ``hatype`` the interface's ARPHRD type.
    :meth:`recv` returns None when no frame is queued and also after a link error (it
    then calls ``on_link_error`` with the error, in the calling thread); :meth:`send`
    raises OSError, so the caller decides what a lost frame costs.
    """

    def __init__(
        self,
        ifname: str,
        bufsize: int = DEFAULT_BUFSIZE,
        on_link_error: Callable[[OSError], None] | None = None,
    ) -> None:
        self.name = ifname
        self.on_link_error = on_link_error
        self.rx_dropped_outgoing = 0  # only counts when the kernel cannot filter them
        self.link_errors = 0
        ifindex = interface_index(ifname)
        if ifindex is None:
            raise OSError(errno.ENODEV, f"no network interface named {ifname!r}")
        self.ifindex = ifindex
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.bind((ifname, ETH_P_ALL))
            bound = sock.getsockname()  # (ifname, proto, pkttype, hatype, addr)
            self.hatype: int = bound[3]
            for opt, force in ((socket.SO_RCVBUF, 33), (socket.SO_SNDBUF, 32)):
                try:  # SO_*BUFFORCE ignores net.core.*mem_max; needs CAP_NET_ADMIN
                    sock.setsockopt(socket.SOL_SOCKET, force, bufsize)
                except OSError:
                    sock.setsockopt(socket.SOL_SOCKET, opt, bufsize)
            mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
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
        self._restore_vlan = self.hatype == ARPHRD_ETHER

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
            except OSError as e:
                if e.errno not in LINK_ERRNOS:
                    raise
                self.link_errors += 1
                if self.on_link_error is not None:
                    self.on_link_error(e)
                return None
            if addr[2] == PACKET_OUTGOING:
                self.rx_dropped_outgoing += 1
                continue
            if self._restore_vlan:
                for level, kind, value in anc:
                    if (
                        level == SOL_PACKET
                        and kind == PACKET_AUXDATA
                        and len(value) >= _AUXDATA.size
                    ):
                        status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(value)
                        if status & TP_STATUS_VLAN_VALID and len(data) >= 12:
                            if not status & TP_STATUS_VLAN_TPID_VALID:
                                tpid = 0x8100
                            data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
            return data

    def send(self, data: bytes) -> None:
        """Transmit one frame; raises OSError (BlockingIOError when the buffer is full)."""
        self._sock.send(data)

    def close(self) -> None:
        """Close the socket (promiscuous mode ends with it)."""
        self._sock.close()

    def __repr__(self) -> str:
        return f"RawSocket({self.name!r}, ifindex={self.ifindex})"
