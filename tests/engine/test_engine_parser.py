"""Parser: select kinds, stacks, lookahead/advance/verify and BMv2's error behaviour
(no drop: headers extracted so far stay valid, the rest is payload)."""

from __future__ import annotations

import pytest
from engine_harness import load

ETH = bytes.fromhex("0a0b0c0d0e0f 010203040506")
IPV4 = bytes.fromhex("450000140001000040060000c0a80001c0a80002")


def eth(t: int) -> bytes:
    return ETH + t.to_bytes(2, "big")


def res(err: int, nvlan: int = 0, path: int = 0, last_tci: int = 0) -> bytes:
    return bytes([err, nvlan, path, last_tci])


@pytest.fixture(scope="module")
def sw():  # type: ignore[no-untyped-def]
    return load("parser.p4")


def test_ipv4_parses(sw) -> None:  # type: ignore[no-untyped-def]
    pkt = eth(0x0800) + IPV4 + b"data"
    assert sw.run(0, pkt) == [(2, res(0) + pkt)]


def test_two_vlans_then_ipv4(sw) -> None:  # type: ignore[no-untyped-def]
    pkt = eth(0x8100) + bytes.fromhex("0001 8100 0007 0800") + IPV4
    assert sw.run(0, pkt) == [(2, res(0, 2, 0, 7) + pkt)]


def test_third_vlan_is_stack_out_of_bounds(sw) -> None:  # type: ignore[no-untyped-def]
    pkt = eth(0x8100) + bytes.fromhex("0001 8100 0002 8100 0003 0800") + IPV4
    assert sw.run(0, pkt) == [(2, res(3, 2, 0, 2) + pkt)]


def test_truncated_ipv4_is_packet_too_short(sw) -> None:  # type: ignore[no-untyped-def]
    pkt = eth(0x0800) + IPV4[:10]
    assert sw.run(0, pkt) == [(2, res(1) + pkt)]


def test_short_ethernet(sw) -> None:  # type: ignore[no-untyped-def]
    pkt = b"\x01\x02\x03\x04\x05"
    assert sw.run(0, pkt) == [(2, res(1) + pkt)]


def test_verify_sets_program_error(sw) -> None:  # type: ignore[no-untyped-def]
    pkt = eth(0x0800) + b"\x65" + IPV4[1:]
    assert sw.run(0, pkt) == [(2, res(4) + pkt)]


def test_mask_and_range_cases(sw) -> None:  # type: ignore[no-untyped-def]
    assert sw.run(0, eth(0x9012))[0][1][:4] == res(0, path=1)
    assert sw.run(0, eth(0x06FF))[0][1][:4] == res(0, path=2)
    assert sw.run(0, eth(0x0700))[0][1][:4] == res(0, path=0)


def test_select_without_match_is_no_match(sw) -> None:  # type: ignore[no-untyped-def]
    assert sw.run(0, eth(0x1234) + b"\x01")[0][1][:4] == res(0)
    assert sw.run(0, eth(0x1234) + b"\x02")[0][1][:4] == res(2)
    # lookahead past the end is PacketTooShort
    assert sw.run(0, eth(0x1234))[0][1][:4] == res(1)


def test_advance(sw) -> None:  # type: ignore[no-untyped-def]
    pkt = eth(0x5555) + b"\xaa\xbb" + IPV4
    # the advanced-over bytes are consumed by the parser and not re-emitted
    assert sw.run(0, pkt) == [(2, res(0, path=3) + eth(0x5555) + IPV4)]
