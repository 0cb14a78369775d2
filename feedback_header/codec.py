"""Pure-Python codec for the feedback header (imports no Scapy).

    d = decode(frame)                 # Decoded: l2, header, records, payload
    d.original                        # the frame as it was before the switch inserted the header
    strip(frame)                      # same, for any frame: unchanged if it has no header
    encode(l2, records, payload, orig_ethertype=0x0800, device_id=1, timestamp=...)
    insert(frame, records, ...)       # put a header into an ordinary Ethernet frame
    json_lines(d)                     # one JSON object per TLV (for `controlplane watch`)

Malformed input raises `FeedbackDecodeError` carrying the byte offset (from the start of
the frame) of the first field found inconsistent; decoding never raises IndexError or
struct.error. The rules are in docs/feedback-header.md, "Decoding rules".
"""

from __future__ import annotations

import ipaddress
import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from feedback_header import spec
from feedback_header.records import RECORD_TYPES, FixedPart, Record, UnknownRecord

AnyRecord = Record | UnknownRecord
"""A decoded TLV: a typed record, or an unknown type kept raw."""

ETHERTYPE = spec.ETHERTYPE
FIXED_SIZE = spec.FIXED.size
_VLAN_TPIDS = frozenset(spec.VLAN_TPIDS)
_HISTORY_LETTER = {v.code: v.name for v in spec.HISTORY_CODES.values}
_HISTORY_CODE = {v.name: v.code for v in spec.HISTORY_CODES.values}


class FeedbackDecodeError(ValueError):
    """Input is not a well-formed feedback frame; `offset` is where decoding stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"offset {offset}: {message}")
        self.offset = offset
        self.message = message


class FeedbackEncodeError(ValueError):
    """A value does not fit the wire format."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A frame carrying a feedback header, taken apart.

    `l2` is the Ethernet addresses and every VLAN tag (all bytes before the feedback
    EtherType field); `payload` is every byte after the feedback header: the original
    packet from its network header on, or Ethernet padding when there is none.
    """

    l2: bytes
    header: FixedPart
    records: tuple[AnyRecord, ...]
    payload: bytes
    ethertype: int = ETHERTYPE

    @property
    def has_original(self) -> bool:
        """True unless this is a records-only frame (orig_ethertype 0x0000)."""
        return self.header.orig_ethertype != spec.ORIG_ETHERTYPE_NONE

    @property
    def is_foreign(self) -> bool:
        """True if the header wraps a frame the network sent with the feedback EtherType
        (flag FOREIGN): `payload` is the network's bytes, never to be decoded."""
        return bool(self.header.flags & spec.FLAG_FOREIGN)

    @property
    def original(self) -> bytes | None:
        """The frame without the feedback header, as an unmodified monitor expects it."""
        if not self.has_original:
            return None
        return self.l2 + self.header.orig_ethertype.to_bytes(2, "big") + self.payload

    def encode(self) -> bytes:
        """Bytes of this frame; `decode(f).encode() == f` for every well-formed `f`."""
        h = self.header
        return encode(
            self.l2,
            self.records,
            self.payload,
            orig_ethertype=h.orig_ethertype,
            device_id=h.device_id,
            timestamp=h.timestamp,
            flags=h.flags,
            version=h.version,
            reserved=h.reserved,
            ethertype=self.ethertype,
        )


def _ethertype_field(frame: bytes) -> tuple[int, int] | None:
    """(offset, value) of the EtherType after the MAC addresses and at most
    `spec.MAX_VLAN_TAGS` VLAN tags: where the switch puts its header. Behind more tags
    the value is a tag's TPID, so such a frame carries no header (the switch never puts
    one deeper)."""
    off = 12
    n = len(frame)
    for _ in range(spec.MAX_VLAN_TAGS + 1):
        if off + 2 > n:
            return None
        et = (frame[off] << 8) | frame[off + 1]
        if et not in _VLAN_TPIDS:
            break
        off += 4
    else:
        off -= 4
    return off, et


def find_header(frame: bytes, ethertype: int = ETHERTYPE) -> int | None:
    """Offset of the fixed part in `frame`, or None if the frame carries no feedback header."""
    found = _ethertype_field(frame)
    if found is None or found[1] != ethertype:
        return None
    return found[0] + 2


def is_feedback(frame: bytes, ethertype: int = ETHERTYPE) -> bool:
    """True if the frame's EtherType (after VLAN tags) is the feedback EtherType."""
    return find_header(frame, ethertype) is not None


def _fixed(frame: bytes, h0: int) -> FixedPart:
    n = len(frame)
    if n - h0 < FIXED_SIZE:
        raise FeedbackDecodeError(
            f"fixed part truncated: {n - h0} of {FIXED_SIZE} bytes present", n
        )
    hdr = FixedPart.unpack_from(frame, h0)
    if hdr.version != spec.VERSION:
        raise FeedbackDecodeError(f"unsupported version {hdr.version}", h0)
    if hdr.length < FIXED_SIZE:
        raise FeedbackDecodeError(f"length {hdr.length} below the fixed part's size", h0 + 2)
    if h0 + hdr.length > n:
        raise FeedbackDecodeError(
            f"length {hdr.length} runs past the end of the frame "
            f"({n - h0} bytes from the fixed part on)",
            h0 + 2,
        )
    return hdr


def decode(frame: bytes | bytearray | memoryview, ethertype: int = ETHERTYPE) -> Decoded:
    """Decode a whole Ethernet frame that carries a feedback header.

    Raises FeedbackDecodeError if the frame has no feedback header or it is malformed.
    """
    if not isinstance(frame, bytes):
        frame = bytes(frame)
    found = _ethertype_field(frame)
    if found is None:
        raise FeedbackDecodeError(
            f"frame ends before its EtherType ({len(frame)} bytes)", len(frame)
        )
    if found[1] != ethertype:
        raise FeedbackDecodeError(
            f"no feedback header (EtherType {found[1]:#06x}, not {ethertype:#06x})", found[0]
        )
    h0 = found[0] + 2
    hdr = _fixed(frame, h0)
    end = h0 + hdr.length
    records: list[AnyRecord] = []
    types = RECORD_TYPES
    p = h0 + FIXED_SIZE
    while p < end:
        if end - p < 2:
            raise FeedbackDecodeError("TLV header truncated by the header length", p)
        t = frame[p]
        ln = frame[p + 1]
        if ln < 2:
            raise FeedbackDecodeError(f"TLV length {ln} below 2", p + 1)
        if p + ln > end:
            raise FeedbackDecodeError(
                f"TLV length {ln} runs past the header length ({end - p} bytes left)", p + 1
            )
        cls = types.get(t)
        if cls is None:
            records.append(UnknownRecord(t, frame[p + 2 : p + ln]))
        elif ln != cls.SIZE:
            raise FeedbackDecodeError(
                f"{cls.NAME} length {ln}, this version defines {cls.SIZE}", p + 1
            )
        else:
            records.append(cls.unpack_from(frame, p))
        p += ln
    if len(records) != hdr.tlv_count:
        raise FeedbackDecodeError(
            f"tlv_count {hdr.tlv_count} but {len(records)} TLVs fill the header", h0 + 6
        )
    return Decoded(frame[: found[0]], hdr, tuple(records), frame[end:], ethertype)


def try_decode(frame: bytes | bytearray | memoryview, ethertype: int = ETHERTYPE) -> Decoded | None:
    """Like decode(), but None for a frame without a feedback header (still raises if
    the header is there but malformed)."""
    if find_header(bytes(frame), ethertype) is None:
        return None
    return decode(frame, ethertype)


def strip(frame: bytes | bytearray | memoryview, ethertype: int = ETHERTYPE) -> bytes:
    """The frame as it was before the switch inserted the header.

    A frame without a feedback header is returned unchanged; a records-only frame
    (orig_ethertype 0x0000) gives b"" (nothing for the monitor). Only the fixed part is
    checked, so a frame with malformed TLVs still strips if its length field is sound.
    """
    frame = bytes(frame)
    found = _ethertype_field(frame)
    if found is None or found[1] != ethertype:
        return frame
    off = found[0]
    hdr = _fixed(frame, off + 2)
    if hdr.orig_ethertype == spec.ORIG_ETHERTYPE_NONE:
        return b""
    return frame[:off] + hdr.orig_ethertype.to_bytes(2, "big") + frame[off + 2 + hdr.length :]


def encode(
    l2: bytes,
    records: Sequence[AnyRecord],
    payload: bytes = b"",
    *,
    orig_ethertype: int = spec.ORIG_ETHERTYPE_NONE,
    device_id: int = 0,
    timestamp: int = 0,
    flags: int = 0,
    version: int = spec.VERSION,
    reserved: int = 0,
    ethertype: int = ETHERTYPE,
) -> bytes:
    """Build a frame: `l2` (MAC addresses and VLAN tags), feedback EtherType, fixed part,
    `records` in order, then `payload` (the original packet after its EtherType field).
    Length and TLV count are computed."""
    if len(l2) < 12 or (len(l2) - 12) % 4:
        raise FeedbackEncodeError(f"l2 must be 12 bytes plus 4 per VLAN tag, got {len(l2)}")
    parts: list[bytes] = []
    for r in records:
        if isinstance(r, UnknownRecord) and not (0 <= r.type_code <= 255 and len(r.value) <= 253):
            raise FeedbackEncodeError(f"unknown TLV {r.type_code}: value too long or bad type")
        try:
            parts.append(r.pack())
        except struct.error as e:
            raise FeedbackEncodeError(f"{type(r).__name__}: {e}") from e
    body = b"".join(parts)
    length = FIXED_SIZE + len(body)
    if length > 0xFFFF or len(parts) > 0xFF:
        raise FeedbackEncodeError(f"{len(parts)} TLVs, {length} bytes: too many for one header")
    fixed = FixedPart(
        version=version,
        flags=flags,
        length=length,
        device_id=device_id,
        tlv_count=len(parts),
        reserved=reserved,
        timestamp=timestamp,
        orig_ethertype=orig_ethertype,
    )
    try:
        head = fixed.pack()
        et = ethertype.to_bytes(2, "big")
    except (struct.error, OverflowError) as e:
        raise FeedbackEncodeError(f"fixed part: {e}") from e
    return bytes(l2) + et + head + body + bytes(payload)


def insert(
    frame: bytes,
    records: Sequence[AnyRecord],
    *,
    device_id: int = 0,
    timestamp: int = 0,
    flags: int = 0,
    ethertype: int = ETHERTYPE,
) -> bytes:
    """Insert a feedback header into an ordinary Ethernet frame, after its VLAN tags:
    what the switch does (a frame that already has the feedback EtherType there gets
    flag FOREIGN). The inverse of strip()."""
    found = _ethertype_field(frame)
    if found is None:
        raise FeedbackEncodeError("frame too short for an Ethernet header")
    off, et = found
    if et == ethertype:
        flags |= spec.FLAG_FOREIGN
    return encode(
        frame[:off],
        records,
        frame[off + 2 :],
        orig_ethertype=et,
        device_id=device_id,
        timestamp=timestamp,
        flags=flags,
        ethertype=ethertype,
    )


# --- history letters -------------------------------------------------------------------------


def history_letters(value: int) -> str:
    """Zeek-style history string of a 48-bit history field ("?" for reserved codes)."""
    out = []
    for shift in range(4 * (spec.HISTORY_LETTERS - 1), -1, -4):
        code = (value >> shift) & 0xF
        if code:
            out.append(_HISTORY_LETTER.get(code, "?"))
    return "".join(out)


def history_value(letters: str) -> int:
    """48-bit history field for a history string, as the switch builds it."""
    if len(letters) > spec.HISTORY_LETTERS:
        raise ValueError(f"history {letters!r}: more than {spec.HISTORY_LETTERS} letters")
    value = 0
    for ch in letters:
        if ch not in _HISTORY_CODE:
            raise ValueError(f"history {letters!r}: no code for letter {ch!r}")
        value = (value << 4) | _HISTORY_CODE[ch]
    return value


# --- JSON -----------------------------------------------------------------------------------

_FIELDS_BY_TYPE: dict[int, tuple[spec.Field, ...]] = {t.code: t.value_fields for t in spec.TLVS}


def _render(f: spec.Field, value: int) -> Any:
    if f.fmt == "ipv4":
        return str(ipaddress.IPv4Address(value))
    if f.fmt == "ipv6":
        return str(ipaddress.IPv6Address(value))
    if f.fmt == "history":
        return history_letters(value)
    if f.fmt == "enum" and f.enum is not None:
        return spec.ENUMS[f.enum].by_code().get(value, value)
    if f.fmt == "flags" and f.enum is not None:
        names: list[Any] = [v.name for v in spec.ENUMS[f.enum].values if value & v.code]
        rest = value & ~sum(v.code for v in spec.ENUMS[f.enum].values)
        return [*names, rest] if rest else names
    return value


def _fields_to_dict(obj: object, fields: Iterable[spec.Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.reserved:
            continue
        value = _render(f, getattr(obj, f.name))
        if f.group:
            out.setdefault(f.group, {})[f.name.removeprefix(f.group + "_")] = value
        else:
            out[f.name] = value
    return out


def record_to_dict(rec: AnyRecord) -> dict[str, Any]:
    """JSON-able dict of one record: {"type": name, fields...}; addresses dotted, enums by
    name, history as letters, the group key nested under "key"; reserved fields left out."""
    if isinstance(rec, UnknownRecord):
        return {"type": "unknown", "type_code": rec.type_code, "value": rec.value.hex()}
    return {"type": rec.NAME, **_fields_to_dict(rec, _FIELDS_BY_TYPE[rec.TYPE])}


def header_to_dict(header: FixedPart) -> dict[str, Any]:
    """JSON-able dict of the fixed part (length and tlv_count left out: they describe bytes)."""
    skip = {"length", "tlv_count"}
    return _fields_to_dict(header, (f for f in spec.FIXED.fields if f.name not in skip))


def json_lines(d: Decoded) -> list[str]:
    """One compact JSON line per TLV: the fixed part's fields under "header", then the
    record's fields (type first)."""
    head = header_to_dict(d.header)
    return [
        json.dumps({**record_to_dict(r), "header": head}, separators=(",", ":")) for r in d.records
    ]
