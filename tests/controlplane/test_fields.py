"""Value syntax of rules.yaml: matches, masks, sizes, counts, durations."""

from __future__ import annotations

import pytest

from controlplane.fields import (
    FIELDS,
    IPV4_HIGH,
    FieldError,
    Range,
    Ternary,
    as_range,
    as_ternary,
    format_match,
    intersect,
    parse_count,
    parse_duration_us,
    parse_group_mask,
    parse_match,
    parse_size,
)

SRC = FIELDS["src_addr"]
PROTO = FIELDS["protocol"]
SPORT = FIELDS["src_port"]
FLAGS = FIELDS["tcp_flags"]
FRAG = FIELDS["is_fragment"]
V4 = IPV4_HIGH


@pytest.mark.parametrize(
    ("text", "spec", "expected"),
    [
        # IPv4: the low 32 bits, the upper 96 bits 0 (IPv4 packets only)
        ("10.0.0.0/8", SRC, Ternary(0x0A000000, V4 | 0xFF000000)),
        ("10.0.0.0/255.0.0.0", SRC, Ternary(0x0A000000, V4 | 0xFF000000)),
        ("10.1.2.3", SRC, Ternary(0x0A010203, V4 | 0xFFFFFFFF)),
        ("10.0.0.0&&&255.0.0.0", SRC, Ternary(0x0A000000, V4 | 0xFF000000)),
        ("0x0a000000&&&0xff000000", SRC, Ternary(0x0A000000, V4 | 0xFF000000)),
        ("0.0.0.0/0", SRC, Ternary(0, V4)),  # any IPv4 address
        # IPv6: all 128 bits
        ("2001:db8::/32", SRC, Ternary(0x20010DB8 << 96, 0xFFFFFFFF << 96)),
        ("2001:db8::1", SRC, Ternary((0x20010DB8 << 96) | 1, (1 << 128) - 1)),
        ("2001:db8::&&&ffff:ffff::", SRC, Ternary(0x20010DB8 << 96, 0xFFFFFFFF << 96)),
        ("::/0", SRC, Ternary(0, 0)),
        ("tcp", PROTO, Ternary(6, 0xFF)),
        ("UDP", PROTO, Ternary(17, 0xFF)),
        ("17", PROTO, Ternary(17, 0xFF)),
        ("0x11", PROTO, Ternary(17, 0xFF)),
        ("53", SPORT, Range(53, 53)),
        ("1024..65535", SPORT, Range(1024, 65535)),
        ("0x0000&&&0xfc00", SPORT, Range(0, 1023)),  # prefix ternary on a range field
        ("SYN !ACK", FLAGS, Ternary(0x02, 0x12)),
        ("syn,-ack", FLAGS, Ternary(0x02, 0x12)),
        ("0x02&&&0x12", FLAGS, Ternary(0x02, 0x12)),
        ("FIN", FLAGS, Ternary(0x01, 0x01)),
        ("1", FRAG, Ternary(1, 1)),
        ("true", FRAG, Ternary(1, 1)),
        ("4..7", PROTO, Ternary(4, 0xFC)),  # aligned block on a ternary field
    ],
)
def test_parse_match(text: str, spec: object, expected: object) -> None:
    assert parse_match(text, spec) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "spec", "message"),
    [
        ("10.0.0.0/33", SRC, "'10.0.0.0/33' is not an IPv4 prefix (/33 > /32)"),
        ("10.0.0.256/8", SRC, "'10.0.0.256/8' is not an IPv4 prefix"),
        (
            "10.1.0.0/8",
            SRC,
            "'10.1.0.0/8' has bits set outside the /8 prefix (did you mean 10.0.0.0/8?)",
        ),
        ("10.0.0.0/255.0.0.256", SRC, "'10.0.0.0/255.0.0.256' is not an IPv4 prefix"),
        ("300.1.1.1", SRC, "'300.1.1.1' is not an IPv4 address"),
        ("2001:db8::/129", SRC, "'2001:db8::/129' is not an IPv6 prefix (/129 > /128)"),
        ("2001:db8::zz", SRC, "'2001:db8::zz' is not an IPv6 address"),
        (
            "2001:db8::1/32",
            SRC,
            "'2001:db8::1/32' has bits set outside the /32 prefix (did you mean 2001:db8::/32?)",
        ),
        (
            "0x12&&&0x02",
            FLAGS,
            "'0x12&&&0x02': value 0x12 has bits outside its mask 0x2 (did you mean 0x2?)",
        ),
        ("1024..80", SPORT, "range '1024..80' is empty: 1024 > 80"),
        ("70000", SPORT, "'70000' does not fit src_port (16 bits, at most 65535)"),
        (
            "tpc",
            PROTO,
            "'tpc' is not a value for protocol (a number or one of ah, esp, gre, icmp, icmpv6, igmp, sctp, tcp, udp)",  # noqa: E501
        ),
        (
            "0x0001&&&0x00ff",
            SPORT,
            "'0x0001&&&0x00ff': the switch matches src_port by range and mask 0xff is not a prefix; write lo..hi",  # noqa: E501
        ),
        (
            "3..9",
            PROTO,
            "'3..9': the switch matches protocol by value&&&mask and 3..9 is not one aligned power-of-two block; write value&&&mask or split the rule",  # noqa: E501
        ),
    ],
)
def test_parse_match_errors(text: str, spec: object, message: str) -> None:
    with pytest.raises(FieldError) as e:
        parse_match(text, spec)  # type: ignore[arg-type]
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("text", "spec", "mask"),
    [
        # address masks count from the first bit of either family's address
        ("/24", SRC, 0xFFFFFF << 104),
        ("/32", SRC, 0xFFFFFFFF << 96),
        ("/64", SRC, ((1 << 64) - 1) << 64),
        ("true", SRC, (1 << 128) - 1),
        ("255.255.0.0", SRC, 0xFFFF << 112),
        ("ffff:ffff:ffff:ffff::", SRC, ((1 << 64) - 1) << 64),
        ("0xff00", SPORT, 0xFF00),
        ("true", SPORT, 0xFFFF),
        ("all", PROTO, 0xFF),
        ("0b11", PROTO, 3),
    ],
)
def test_group_mask(text: str, spec: object, mask: int) -> None:
    assert parse_group_mask(text, spec) == mask  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "24",
            "'24' is not a group-by mask: write /N for the top N bits, 0x... for a mask, a dotted mask such as 255.255.255.0, an IPv6 mask such as ffff:ffff:: or true for every bit",  # noqa: E501
        ),
        ("/129", "'/129' is not a prefix length for src_addr (/0../128)"),
        ("ffff:zz::", "'ffff:zz::' is not an IPv6 mask"),
        ("/0", "'/0' groups by no bit of src_addr; leave the field out instead"),
    ],
)
def test_group_mask_errors(text: str, message: str) -> None:
    with pytest.raises(FieldError) as e:
        parse_group_mask(text, SRC)
    assert str(e.value) == message


def test_sizes_counts_durations() -> None:
    assert parse_size("1500") == 1500
    assert parse_size("64kB") == 64_000
    assert parse_size("1MB") == 1_000_000
    assert parse_size("1.5MB") == 1_500_000
    assert parse_size("1MiB") == 1 << 20
    assert parse_count("10k") == 10_000
    assert parse_count("2M") == 2_000_000
    assert parse_duration_us("1s") == 1_000_000
    assert parse_duration_us("500ms") == 500_000
    assert parse_duration_us("60s") == 60_000_000
    assert parse_duration_us("250us") == 250
    assert parse_duration_us("2m") == 120_000_000
    assert parse_duration_us("0") == 0
    for bad, msg in [
        ("10Mb", "'10Mb': thresholds count bytes; write MB"),
        ("lots", "'lots' is not a size in bytes (e.g. 1500, 64kB, 10MB, 1MiB)"),
    ]:
        with pytest.raises(FieldError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            parse_size(bad)
    with pytest.raises(FieldError, match="needs a unit"):
        parse_duration_us("60")
    with pytest.raises(FieldError, match="is not a duration"):
        parse_duration_us("5 fortnights")


def test_conversions_and_intersection() -> None:
    assert as_ternary(Range(1024, 2047), 16) == Ternary(1024, 0xFC00)
    assert as_ternary(Range(1, 2), 16) is None
    assert as_range(Ternary(0x0A00, 0xFF00), 16) == Range(0x0A00, 0x0AFF)
    assert as_range(Ternary(1, 1), 16) is None
    assert intersect(
        Ternary(0x0A000000, 0xFF000000), Ternary(0x0A010000, 0xFFFF0000), 32
    ) == Ternary(0x0A010000, 0xFFFF0000)
    assert intersect(Ternary(6, 0xFF), Ternary(17, 0xFF), 8) is None
    assert intersect(Range(0, 100), Range(50, 200), 16) == Range(50, 100)
    assert intersect(Range(0, 10), Range(11, 20), 16) is None


@pytest.mark.parametrize(
    ("spec", "m", "text"),
    [
        (SRC, Ternary(0x0A000000, V4 | 0xFF000000), "10.0.0.0/8"),
        (SRC, Ternary(0x0A000001, V4 | 0xFF0000FF), "10.0.0.1&&&255.0.0.255"),
        (SRC, Ternary(0x20010DB8 << 96, 0xFFFFFFFF << 96), "2001:db8::/32"),
        (SRC, Ternary((0x20010DB8 << 96) | 1, (1 << 128) - 1), "2001:db8::1"),
        (FLAGS, Ternary(2, 0x12), "0x2&&&0x12"),
        (SPORT, Range(53, 53), "53"),
        (SPORT, Range(1, 9), "1..9"),
        (FRAG, Ternary(1, 1), "1"),
    ],
)
def test_format_round_trips(spec: object, m: object, text: str) -> None:
    assert format_match(m, spec) == text  # type: ignore[arg-type]
    assert parse_match(text, spec) == m  # type: ignore[arg-type]
