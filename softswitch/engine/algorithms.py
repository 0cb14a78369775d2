"""Hash and checksum algorithms, bit-exact with BMv2's `calculations.cpp`.

Every algorithm takes the input as bytes. BMv2 builds that input by packing
the listed fields bit after bit (fields of invalid headers are skipped) and
padding the last byte with zero bits; `pack_bits` does the same.

Outputs are the raw algorithm results; the v1model `hash()` then applies
`base + (h % max)` and the destination width.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from dataclasses import dataclass


def pack_bits(value: int, nbits: int) -> bytes:
    """`nbits` bits of `value`, left-aligned in whole bytes (zero padding at the end)."""
    pad = -nbits % 8
    return (value << pad).to_bytes((nbits + pad) // 8, "big")


def _reflect(v: int, nbits: int) -> int:
    r = 0
    for _ in range(nbits):
        r = (r << 1) | (v & 1)
        v >>= 1
    return r


@dataclass(frozen=True, slots=True)
class CrcConfig:
    """A CRC in the Rocksoft model, as BMv2's `crc_custom` is configured."""

    width: int
    polynomial: int
    initial_remainder: int
    final_xor_value: int
    data_reflected: bool
    remainder_reflected: bool


class Crc:
    """Table-driven CRC of any width that is a multiple of 8 (BMv2's crc_custom)."""

    def __init__(self, cfg: CrcConfig) -> None:
        self.cfg = cfg
        w = cfg.width
        top = 1 << (w - 1)
        mask = (1 << w) - 1
        table = []
        for dividend in range(256):
            rem = dividend << (w - 8)
            for _ in range(8):
                rem = ((rem << 1) ^ cfg.polynomial) if rem & top else (rem << 1)
                rem &= mask
            table.append(rem)
        self._table = table
        self._mask = mask
        self._refl8 = [_reflect(b, 8) for b in range(256)]

    def __call__(self, data: bytes) -> int:
        cfg = self.cfg
        w = cfg.width
        table = self._table
        mask = self._mask
        shift = w - 8
        rem = cfg.initial_remainder
        if cfg.data_reflected:
            refl = self._refl8
            for b in data:
                rem = (table[refl[b] ^ (rem >> shift)] ^ (rem << 8)) & mask
        else:
            for b in data:
                rem = (table[b ^ (rem >> shift)] ^ (rem << 8)) & mask
        if cfg.remainder_reflected:
            rem = _reflect(rem, w)
        return rem ^ cfg.final_xor_value


# BMv2's default configurations of crcN_custom (calculations.cpp, crc_custom_init).
CRC8_DEFAULT = CrcConfig(8, 0x07, 0x00, 0x00, False, False)
CRC16_DEFAULT = CrcConfig(16, 0x8005, 0x0000, 0x0000, True, True)
CRC32_DEFAULT = CrcConfig(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, True, True)
CRC64_DEFAULT = CrcConfig(64, 0x1B, 0, 0, True, True)

# BMv2's fixed crc16 is CRC-16/ARC (poly 0x8005 reflected, init 0, no final xor).
crc16 = Crc(CRC16_DEFAULT)


def crc32(data: bytes) -> int:
    """CRC-32 (ISO-HDLC), as BMv2's crc32: zlib's CRC."""
    return binascii.crc32(data)


def crc_ccitt(data: bytes) -> int:
    """BMv2's crcCCITT: poly 0x1021, init 0xFFFF, not reflected (CRC-16/CCITT-FALSE)."""
    return binascii.crc_hqx(data, 0xFFFF)


def csum16(data: bytes) -> int:
    """Internet checksum (RFC 1071): ones' complement of the ones' complement sum.

    2**16 = 1 (mod 0xFFFF), so the end-around-carry sum of the 16-bit words is
    the big integer modulo 0xFFFF, except that a non-zero sum is never 0.
    """
    if len(data) & 1:
        data += b"\x00"
    x = int.from_bytes(data, "big")
    s = x % 0xFFFF
    if s == 0 and x != 0:
        s = 0xFFFF
    return s ^ 0xFFFF


def xor16(data: bytes) -> int:
    """XOR of the 16-bit big-endian words; an odd last byte is the word's high byte."""
    if len(data) & 1:
        data += b"\x00"
    r = 0
    for i in range(0, len(data), 2):
        r ^= (data[i] << 8) | data[i + 1]
    return r


def xor32(data: bytes) -> int:
    """XOR of the 32-bit big-endian words, the tail zero-padded at the end."""
    data += b"\x00" * (-len(data) % 4)
    r = 0
    for i in range(0, len(data), 4):
        r ^= int.from_bytes(data[i : i + 4], "big")
    return r


def identity(data: bytes) -> int:
    """The first (at most) 8 bytes as a big-endian integer."""
    return int.from_bytes(data[:8], "big")


ALGORITHMS: dict[str, Callable[[bytes], int]] = {
    "crc16": crc16,
    "crc32": crc32,
    "crc16_custom": Crc(CRC16_DEFAULT),
    "crc32_custom": Crc(CRC32_DEFAULT),
    "crc8_custom": Crc(CRC8_DEFAULT),
    "crc64_custom": Crc(CRC64_DEFAULT),
    "crcCCITT": crc_ccitt,
    "csum16": csum16,
    "cksum16": csum16,
    "xor16": xor16,
    "xor32": xor32,
    "identity": identity,
}
