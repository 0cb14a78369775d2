"""pcap/pcapng reading and writing: exact bytes, timestamps and real Zeek traces."""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import pytest

from pktio.pcap import (
    PcapError,
    PcapngReader,
    PcapReader,
    PcapRecord,
    PcapWriter,
    open_capture,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "traces" / "zeek"
needs_traces = pytest.mark.skipif(not TRACES.is_dir(), reason=f"no Zeek traces at {TRACES}")

FRAMES = [bytes(range(60)), b"\xff" * 14, bytes(1500)]
TIMES = [1_700_000_000_123_456_789, 1_700_000_000_123_457_000, 1_700_000_001_000_000_001]


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanosecond", [False, True])
def test_round_trip_keeps_frames_and_time(tmp_path: Path, big_endian: bool, nanosecond: bool):
    path = tmp_path / "x.pcap"
    with PcapWriter(path, linktype=1, nanosecond=nanosecond, big_endian=big_endian) as w:
        for ts, data in zip(TIMES, FRAMES, strict=True):
            w.write(data, ts)
    with open_capture(path) as r:
        assert isinstance(r, PcapReader)
        assert (r.big_endian, r.nanosecond, r.linktype, r.snaplen) == (
            big_endian, nanosecond, 1, 262144,
        )  # fmt: skip
        recs = list(r)
    want = [t if nanosecond else t // 1000 * 1000 for t in TIMES]
    assert recs == [PcapRecord(t, d, len(d), 1) for t, d in zip(want, FRAMES, strict=True)]


def test_writer_bytes_are_classic_pcap(tmp_path: Path):
    path = tmp_path / "x.pcap"
    with PcapWriter(path, snaplen=65535) as w:
        w.write(b"\xaa\xbb", 3_000_002_000)
    assert path.read_bytes() == (
        struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
        + struct.pack("<IIII", 3, 2, 2, 2)
        + b"\xaa\xbb"
    )


def test_snaplen_cuts_frame_but_keeps_original_length(tmp_path: Path):
    path = tmp_path / "x.pcap"
    with PcapWriter(path, snaplen=10) as w:
        w.write(bytes(range(20)), 0)
    (rec,) = list(open_capture(path))
    assert rec.data == bytes(range(10))
    assert rec.orig_len == 20


def test_big_endian_nanosecond_file_written_by_hand(tmp_path: Path):
    path = tmp_path / "be.pcap"
    path.write_bytes(
        struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 96, 105)
        + struct.pack(">IIII", 7, 999_999_999, 3, 40)
        + b"abc"
    )
    r = open_capture(path)
    assert (r.linktype, r.snaplen, r.big_endian, r.nanosecond) == (105, 96, True, True)
    assert list(r) == [PcapRecord(7_999_999_999, b"abc", 40, 105)]
    r.close()


def test_gzip_pcap_reads_like_plain(tmp_path: Path):
    buf = io.BytesIO()
    w = PcapWriter(buf)
    w.write(b"\x01\x02\x03", 5_000_000_000)
    path = tmp_path / "x.pcap.gz"
    path.write_bytes(gzip.compress(buf.getvalue()))
    with open_capture(path) as r:
        assert list(r) == [PcapRecord(5_000_000_000, b"\x01\x02\x03", 3, 1)]


def test_truncated_record_is_an_error_naming_the_file(tmp_path: Path):
    path = tmp_path / "cut.pcap"
    with PcapWriter(path) as w:
        w.write(bytes(100), 0)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(PcapError, match=r"cut\.pcap: record at byte 24 is cut short"):
        list(open_capture(path))


def test_not_a_capture_is_an_error(tmp_path: Path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"hello world, this is not a pcap")
    with pytest.raises(PcapError, match="not a pcap file"):
        open_capture(path)


def _block(endian: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def _opt(endian: str, code: int, value: bytes) -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _pcapng(endian: str, tsresol: int | None, ts_raw: int, data: bytes, offset_s: int = 0) -> bytes:
    shb = _block(endian, 0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if tsresol is not None:
        opts += _opt(endian, 9, bytes([tsresol]))
    if offset_s:
        opts += _opt(endian, 14, struct.pack(endian + "q", offset_s))
    if opts:
        opts += _opt(endian, 0, b"")
    idb = _block(endian, 1, struct.pack(endian + "HHI", 1, 0, 65535) + opts)
    epb = _block(
        endian,
        6,
        struct.pack(endian + "IIIII", 0, ts_raw >> 32, ts_raw & 0xFFFFFFFF, len(data), len(data))
        + data,
    )
    return shb + idb + epb


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize(
    ("tsresol", "raw", "ts_ns"),
    [
        (None, 1_600_000_000_000_001, 1_600_000_000_000_001_000),  # default: microseconds
        (9, 1_600_000_000_000_000_007, 1_600_000_000_000_000_007),  # nanoseconds
        (3, 1_600_000_000_123, 1_600_000_000_123_000_000),  # milliseconds
        (0x80 | 10, 3 * 1024 + 512, 3_500_000_000),  # 2**-10 s
    ],
)
def test_pcapng_timestamps(tmp_path: Path, endian: str, tsresol: int | None, raw: int, ts_ns: int):
    path = tmp_path / "x.pcapng"
    path.write_bytes(_pcapng(endian, tsresol, raw, b"\x11\x22\x33\x44\x55"))
    with open_capture(path) as r:
        assert isinstance(r, PcapngReader)
        assert r.linktype == 1
        assert r.big_endian == (endian == ">")
        assert list(r) == [PcapRecord(ts_ns, b"\x11\x22\x33\x44\x55", 5, 1)]


def test_pcapng_tsoffset_is_added(tmp_path: Path):
    path = tmp_path / "x.pcapng"
    path.write_bytes(_pcapng("<", 9, 5, b"z", offset_s=100))
    assert [r.ts_ns for r in open_capture(path)] == [100_000_000_005]


@needs_traces
def test_every_zeek_trace_reads_like_scapy():
    """All real captures parse, with the same frames as Scapy's reader (our cross-check)."""
    from scapy.utils import RawPcapNgReader, RawPcapReader

    files = [p for p in sorted(TRACES.rglob("*.pcap*")) if p.suffix in (".pcap", ".pcapng", ".gz")]
    assert len(files) > 500
    total = 0
    for p in files:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        scapy_reader = RawPcapNgReader if raw[:4] == b"\x0a\x0d\x0d\x0a" else RawPcapReader
        expected = [data for data, _ in scapy_reader(io.BytesIO(raw))]
        with open_capture(p) as r:
            got = [rec.data for rec in r]
        assert got == expected, p
        total += len(got)
    assert total > 100_000


@needs_traces
def test_nanosecond_trace_timestamps():
    with open_capture(TRACES / "http" / "get-to-ssh-server.pcap") as r:
        assert r.nanosecond
        recs = list(r)
    raw = (TRACES / "http" / "get-to-ssh-server.pcap").read_bytes()
    sec, frac, incl, orig = struct.unpack_from("<IIII", raw, 24)
    assert recs[0].ts_ns == sec * 1_000_000_000 + frac
    assert recs[0].data == raw[40 : 40 + incl]
    assert recs[0].orig_len == orig


@needs_traces
def test_multi_interface_pcapng_per_interface_resolution():
    """Interface 0 has nanosecond, interface 1 microsecond stamps (values as tshark shows)."""
    with open_capture(TRACES / "pcapng-multi-interface.pcapng") as r:
        recs = list(r)
    assert len(recs) == 6
    assert [rec.linktype for rec in recs] == [1] * 6
    assert [rec.ts_ns for rec in recs[:3]] == [
        1_767_663_089_500_330_493,
        1_767_663_089_514_291_940,
        1_767_663_437_111_897_000,
    ]
