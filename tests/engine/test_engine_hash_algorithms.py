"""Hash and checksum algorithms against known check values and BMv2's definitions."""

from __future__ import annotations

from softswitch.engine import algorithms as alg

CHECK = b"123456789"

# An IPv4 header (RFC 1071 style example) whose checksum field is 0xb861.
IPV4 = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")


def test_crc32_check_value() -> None:
    assert alg.crc32(CHECK) == 0xCBF43926
    assert alg.ALGORITHMS["crc32_custom"](CHECK) == 0xCBF43926


def test_crc16_is_crc16_arc() -> None:
    assert alg.crc16(CHECK) == 0xBB3D
    assert alg.ALGORITHMS["crc16_custom"](CHECK) == 0xBB3D


def test_crc_ccitt_and_crc8_custom() -> None:
    assert alg.crc_ccitt(CHECK) == 0x29B1  # CRC-16/CCITT-FALSE
    assert alg.ALGORITHMS["crc8_custom"](CHECK) == 0xF4  # CRC-8 (poly 0x07)


def test_generic_crc_non_reflected_matches_crc32_bzip2() -> None:
    c = alg.Crc(alg.CrcConfig(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, False, False))
    assert c(CHECK) == 0xFC891918


def test_csum16_of_ipv4_header() -> None:
    assert alg.csum16(IPV4) == 0xB861
    with_sum = IPV4[:10] + b"\xb8\x61" + IPV4[12:]
    assert alg.csum16(with_sum) == 0


def test_csum16_edge_cases() -> None:
    assert alg.csum16(b"") == 0xFFFF
    assert alg.csum16(b"\x00\x00") == 0xFFFF
    assert alg.csum16(b"\xff\xff") == 0x0000
    # odd length: the last byte is the high byte of a zero-padded word
    assert alg.csum16(b"\x01") == 0xFEFF
    assert alg.csum16(b"\x12\x34\x56") == (~(0x1234 + 0x5600)) & 0xFFFF


def test_xor16_and_identity() -> None:
    assert alg.xor16(b"\x12\x34\x56\x78") == 0x1234 ^ 0x5678
    assert alg.xor16(b"\x12\x34\x56") == 0x1234 ^ 0x5600
    assert alg.identity(b"\x01\x02") == 0x0102
    assert alg.identity(bytes(range(1, 11))) == 0x0102030405060708


def test_pack_bits_pads_at_the_end() -> None:
    assert alg.pack_bits(0b101, 3) == b"\xa0"
    assert alg.pack_bits(0x1234, 16) == b"\x12\x34"
    assert alg.pack_bits(0x1FF, 9) == b"\xff\x80"
    assert alg.pack_bits(0, 0) == b""
