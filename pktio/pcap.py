"""Capture files: a classic-pcap reader and writer, and a pcapng reader.

Our own code rather than Scapy's, because pcap mode and the benchmark read every packet
through here: records are parsed out of large buffered chunks with ``struct.unpack_from``.

- classic pcap: both byte orders, microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d)
  magic, snaplen and link type;
- pcapng: sections of either byte order, interface description blocks (link type,
  snaplen, ``if_tsresol``, ``if_tsoffset``), enhanced, simple and obsolete packet blocks;
  other blocks are skipped by length;
- gzip-compressed files of either format are read transparently.

Timestamps are integer nanoseconds since the epoch throughout, so no precision is lost
between formats.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

LINKTYPE_ETHERNET = 1

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D

_GLOBAL_HDR = struct.Struct("IHHiIII")  # byte order prefix added per file
_CHUNK = 1 << 20


class PcapError(ValueError):
    """A capture file that is not pcap/pcapng or is corrupt; says which file and where."""


class PcapRecord(NamedTuple):
    """One captured frame: `data` may be shorter than `orig_len` (snaplen)."""

    ts_ns: int
    data: bytes
    orig_len: int
    linktype: int


def open_capture(path: str | Path) -> PcapReader | PcapngReader:
    """Open a pcap or pcapng file (optionally gzip-compressed), chosen by its magic."""
    path = Path(path)
    f: BinaryIO = path.open("rb")
    try:
        head = f.read(4)
        f.seek(0)
        if head[:2] == b"\x1f\x8b":
            f = gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[assignment]
            head = f.read(4)
            f.seek(0)
        if len(head) == 4 and struct.unpack("<I", head)[0] == PCAPNG_SHB:
            return PcapngReader(f, str(path))
        return PcapReader(f, str(path))
    except BaseException:
        f.close()
        raise


class _Chunked:
    """A byte buffer over a stream that refills on demand (records never split)."""

    def __init__(self, f: BinaryIO, pos: int = 0) -> None:
        self.f = f
        self.buf = b""
        self.pos = 0
        self.offset = pos  # file offset of buf[0], for error messages

    def need(self, n: int) -> bool:
        """Make `n` bytes available at `pos`; False at a clean end of file."""
        if len(self.buf) - self.pos >= n:
            return True
        rest = self.buf[self.pos :]
        self.offset += self.pos
        more = self.f.read(max(_CHUNK, n - len(rest)))
        self.buf = rest + more
        self.pos = 0
        return len(self.buf) >= n


class PcapReader:
    """Iterate the records of a classic pcap file.

    Attributes: ``linktype``, ``snaplen``, ``nanosecond`` (timestamp resolution of the
    file), ``big_endian``. Iterating yields :class:`PcapRecord`.
    """

    def __init__(self, f: BinaryIO | str | Path, name: str | None = None) -> None:
        if isinstance(f, str | Path):
            name = name or str(f)
            f = Path(f).open("rb")  # noqa: SIM115 - the reader owns it until close()
        self._f = f
        self.name = name or getattr(f, "name", "<pcap>")
        hdr = f.read(24)
        if len(hdr) < 24:
            raise PcapError(f"{self.name}: too short for a pcap header ({len(hdr)} bytes)")
        magic_le = struct.unpack("<I", hdr[:4])[0]
        magic_be = struct.unpack(">I", hdr[:4])[0]
        if magic_le in (MAGIC_US, MAGIC_NS):
            self._endian, magic = "<", magic_le
        elif magic_be in (MAGIC_US, MAGIC_NS):
            self._endian, magic = ">", magic_be
        else:
            raise PcapError(f"{self.name}: not a pcap file (magic {hdr[:4].hex()})")
        self.big_endian = self._endian == ">"
        self.nanosecond = magic == MAGIC_NS
        _, self.version_major, self.version_minor, _, _, self.snaplen, network = struct.unpack(
            self._endian + "IHHiIII", hdr
        )
        # The upper bits of `network` carry FCS length flags (pcap-linktype(7)).
        self.linktype = network & 0x0FFFFFFF

    def __iter__(self) -> Iterator[PcapRecord]:
        rec = struct.Struct(self._endian + "IIII")
        unpack_from = rec.unpack_from
        scale = 1 if self.nanosecond else 1000
        linktype = self.linktype
        src = _Chunked(self._f, 24)
        while src.need(16):
            sec, frac, incl, orig = unpack_from(src.buf, src.pos)
            if not src.need(16 + incl):
                raise PcapError(
                    f"{self.name}: record at byte {src.offset + src.pos} is cut short "
                    f"({incl} bytes announced)"
                )
            start = src.pos + 16
            src.pos = start + incl
            yield PcapRecord(
                sec * 1_000_000_000 + frac * scale, src.buf[start : src.pos], orig, linktype
            )
        if src.pos < len(src.buf):
            raise PcapError(f"{self.name}: {len(src.buf) - src.pos} trailing bytes")

    def close(self) -> None:
        """Close the underlying file."""
        self._f.close()

    def __enter__(self) -> PcapReader:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Interface(NamedTuple):
    linktype: int
    snaplen: int
    ts_num: int  # ts_ns = (raw * ts_num >> ts_shift) // ts_den + offset_ns
    ts_den: int
    ts_shift: int
    offset_ns: int


def _interface(endian: str, body: bytes) -> _Interface:
    linktype, _, snaplen = struct.unpack_from(endian + "HHI", body, 0)
    tsresol = 6
    offset_s = 0
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, pos)
        value = body[pos + 4 : pos + 4 + length]
        if code == 0:
            break
        if code == 9 and length >= 1:
            tsresol = value[0]
        elif code == 14 and length >= 8:
            offset_s = struct.unpack(endian + "q", value[:8])[0]
        pos += 4 + ((length + 3) & ~3)
    if tsresol & 0x80:  # power of two: units of 2**-n seconds
        num, den, shift = 1_000_000_000, 1, tsresol & 0x7F
    elif tsresol <= 9:
        num, den, shift = 10 ** (9 - tsresol), 1, 0
    else:
        num, den, shift = 1, 10 ** (tsresol - 9), 0
    return _Interface(linktype, snaplen, num, den, shift, offset_s * 1_000_000_000)


class PcapngReader:
    """Iterate the packets of a pcapng file (all sections, all interfaces).

    ``linktype``/``snaplen`` are those of the first interface; each record carries its own
    interface's link type. ``nanosecond`` is True when any interface has a finer
    resolution than microseconds (known after reading the first section's interfaces).
    """

    def __init__(self, f: BinaryIO | str | Path, name: str | None = None) -> None:
        if isinstance(f, str | Path):
            name = name or str(f)
            f = Path(f).open("rb")  # noqa: SIM115 - the reader owns it until close()
        self._f = f
        self.name = name or getattr(f, "name", "<pcapng>")
        self.big_endian = False
        self.linktype = LINKTYPE_ETHERNET
        self.snaplen = 0
        self.nanosecond = False
        # Read the first section's interface descriptions so the attributes are known
        # before iteration, as for classic pcap.
        self._first: list[_Interface] | None = None
        for block_type, endian, body in self._blocks(peek=True):
            if block_type == 1:
                iface = _interface(endian, body)
                self._first = [iface]
                self.linktype, self.snaplen = iface.linktype, iface.snaplen
                self.nanosecond = iface.ts_num < 1000 or iface.ts_shift > 0
                break
            if block_type in (2, 3, 6):
                break
        self._f.seek(0)

    def _blocks(self, peek: bool = False) -> Iterator[tuple[int, str, bytes]]:
        src = _Chunked(self._f)
        endian = "<"
        while src.need(12):
            raw_type = src.buf[src.pos : src.pos + 4]
            if raw_type == b"\x0a\x0d\x0d\x0a":
                bom = src.buf[src.pos + 8 : src.pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    endian = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    endian = ">"
                else:
                    raise PcapError(f"{self.name}: bad pcapng byte-order magic {bom.hex()}")
                self.big_endian = endian == ">"
            block_type, total = struct.unpack_from(endian + "II", src.buf, src.pos)
            if total < 12 or total % 4:
                raise PcapError(
                    f"{self.name}: bad pcapng block length {total} at byte {src.offset + src.pos}"
                )
            if not src.need(total):
                raise PcapError(
                    f"{self.name}: block at byte {src.offset + src.pos} is cut short "
                    f"({total} bytes announced)"
                )
            body = src.buf[src.pos + 8 : src.pos + total - 4]
            src.pos += total
            yield block_type, endian, body
            if peek and block_type not in (PCAPNG_SHB, 1):
                return
        if src.pos < len(src.buf):
            raise PcapError(f"{self.name}: {len(src.buf) - src.pos} trailing bytes")

    def __iter__(self) -> Iterator[PcapRecord]:
        ifaces: list[_Interface] = []
        for block_type, endian, body in self._blocks():
            if block_type == PCAPNG_SHB:
                ifaces = []
            elif block_type == 1:
                ifaces.append(_interface(endian, body))
            elif block_type == 6 or block_type == 2:
                if block_type == 6:
                    if_id, hi, lo, incl, orig = struct.unpack_from(endian + "IIIII", body, 0)
                else:  # obsolete Packet Block: 16-bit interface id and drop count
                    if_id, _, hi, lo, incl, orig = struct.unpack_from(endian + "HHIIII", body, 0)
                if if_id >= len(ifaces):
                    raise PcapError(f"{self.name}: packet on undeclared interface {if_id}")
                i = ifaces[if_id]
                raw = (hi << 32) | lo
                ts_ns = ((raw * i.ts_num) >> i.ts_shift) // i.ts_den + i.offset_ns
                yield PcapRecord(ts_ns, body[20 : 20 + incl], orig, i.linktype)
            elif block_type == 3:  # Simple Packet Block: no timestamp, interface 0
                if not ifaces:
                    raise PcapError(f"{self.name}: simple packet block before any interface")
                (orig,) = struct.unpack_from(endian + "I", body, 0)
                incl = min(orig, ifaces[0].snaplen or orig)
                yield PcapRecord(0, body[4 : 4 + incl], orig, ifaces[0].linktype)

    def close(self) -> None:
        """Close the underlying file."""
        self._f.close()

    def __enter__(self) -> PcapngReader:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PcapWriter:
    """Write a classic pcap file.

    ``nanosecond`` selects the 0xa1b23c4d magic; ``big_endian`` the byte order (the
    default, little-endian, is what every capture tool writes on x86). Frames longer than
    ``snaplen`` are cut, keeping their original length in the record.
    """

    def __init__(
        self,
        f: BinaryIO | str | Path,
        linktype: int = LINKTYPE_ETHERNET,
        snaplen: int = 262144,
        nanosecond: bool = False,
        big_endian: bool = False,
    ) -> None:
        if isinstance(f, str | Path):
            f = Path(f).open("wb")  # noqa: SIM115 - the writer owns it until close()
        self._f = f
        self.linktype = linktype
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        self._endian = ">" if big_endian else "<"
        self._rec = struct.Struct(self._endian + "IIII")
        magic = MAGIC_NS if nanosecond else MAGIC_US
        f.write(struct.pack(self._endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self.count = 0

    def write(self, data: bytes, ts_ns: int, orig_len: int | None = None) -> None:
        """Append one frame captured at `ts_ns` (nanoseconds since the epoch)."""
        sec, ns = divmod(ts_ns, 1_000_000_000)
        frac = ns if self.nanosecond else ns // 1000
        orig = len(data) if orig_len is None else max(orig_len, len(data))
        if len(data) > self.snaplen:
            data = data[: self.snaplen]
        self._f.write(self._rec.pack(sec, frac, len(data), orig))
        self._f.write(data)
        self.count += 1

    def flush(self) -> None:
        """Flush buffered records to the file."""
        self._f.flush()

    def close(self) -> None:
        """Flush and close the file."""
        self._f.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
