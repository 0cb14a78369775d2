"""hash() over several fields: the fields are packed back to back (BMv2's
BufBuilder), so the result equals the algorithm over the concatenated bytes."""

from __future__ import annotations

import zlib

from engine_harness import load


def csum16(data: bytes) -> int:
    s = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def test_multi_field_hash_is_over_the_concatenation() -> None:
    sw = load("hash_fields.p4")
    data = bytes.fromhex("0a000001c00002509c40005007")
    [(port, out)] = sw.run(0, data)
    assert port == 1
    assert out[:13] == data
    assert int.from_bytes(out[13:17], "big") == zlib.crc32(data)
    assert int.from_bytes(out[17:19], "big") == csum16(data[:12])
