"""bit<W>/int<W> operators, saturation, shifts, slices, concatenation and casts."""

from __future__ import annotations

import pytest
from engine_harness import load


def s8(v: int) -> int:
    return v - 256 if v & 0x80 else v


def u8(v: int) -> int:
    return v & 0xFF


def expected(a: int, b: int, c: int, d: int) -> bytes:
    sc, sd = s8(c), s8(d)
    t = (a & 0xF0) | (b & 0x0F)
    fields8 = [
        u8(a + b),
        u8(a - b),
        u8(a * b),
        u8(a << 3),
        u8(a << b) if b < 8 else 0,
        a >> 2,
        u8(sc >> 2),
        min(a + b, 255),
        max(a - b, 0),
        u8(max(-128, min(127, sc + sd))),
        u8(max(-128, min(127, sc - sd))),
        u8(-a),
        a ^ 0xFF,
        int(sc < sd),
        int(a < b),
        a >> 4,
    ]
    out = bytes(fields8)
    out += ((a << 8) | b).to_bytes(2, "big")
    out += (sc & 0xFFFF).to_bytes(2, "big")
    rest = [
        a & 0x0F,
        int(a == b),
        a // 4,
        a % 4,
        t,
        u8(sc >> b),
        a if a > 100 else b,
        (a & b) | (a ^ 0x0F),
    ]
    return out + bytes(rest)


@pytest.mark.parametrize(
    "a,b,c,d",
    [
        (200, 100, 0x80, 0x01),
        (3, 9, 0x7F, 0x7F),
        (0, 0, 0xFF, 0x80),
        (255, 7, 0x90, 0x10),
        (17, 200, 0x05, 0xFB),
        (101, 101, 0x40, 0x40),
    ],
)
def test_operators(a: int, b: int, c: int, d: int) -> None:
    sw = load("arith.p4")
    data = bytes([a, b, c, d]) + b"tail"
    out = sw.run(0, data)
    assert out == [(1, bytes([a, b, c, d]) + expected(a, b, c, d) + b"tail")]
