"""The stats stage's fields and the value syntax of rules.yaml.

One table (`FIELDS`) says, per rule field, its width, how the switch matches it
(docs/stats-stage.md) and which `count_group` parameter carries its group-by mask.
The parsers are pure functions from the text a user wrote to integers; they raise
`FieldError` with a message that names the mistake, and the caller adds the file
position. Accepted syntax (p4runtime-shell's plus a few conveniences):

- match values: `value&&&mask`, `prefix/len`, `prefix/255.255.0.0`, `lo..hi`, a plain
  value (exact), IPv4 dotted quads and IPv6 addresses (`2001:db8::/32`), `0x`/`0b`
  numbers, protocol names (`tcp`), TCP flag sets (`SYN !ACK`: SYN set, ACK clear);
- group-by masks: `/24`, a dotted mask, an IPv6 mask, `0x`/`0b` masks, `true`/`all`
  (every bit);

Addresses (docs/stats-stage.md, "IPv6"): the switch's address fields are 128 bits wide.
An IPv6 address is itself; an IPv4 address sits in the low 32 bits with the upper 96 bits
0, so an IPv4 match (`10.0.0.0/8`) is written with those 96 bits in its mask and matches
IPv4 packets only. A group-by mask on an address counts from the address's first bit in
either family: `/24` groups IPv4 sources by /24 and IPv6 ones by /24, `/64` IPv6 by /64
and IPv4 by the whole address (the switch applies the mask's top 32 bits to IPv4).
- sizes (`1500`, `64kB`, `1MB`, `1MiB`), counts (`10k`), durations (`1s`, `500ms`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MatchKind = Literal["ternary", "range"]


class FieldError(ValueError):
    """A value that does not parse or does not fit; the message is shown to the user."""


@dataclass(frozen=True)
class FieldSpec:
    """One rule field: P4Info match-field name, width, match kind, group-by parameter."""

    name: str
    width: int
    kind: MatchKind
    group_param: str | None
    is_addr: bool = False
    in_monitor_stream: bool = True  # can software see it in the packets the monitor gets?
    family: int = 0  # an address field as one family reads it (4 or 6); 0: either

    @property
    def full(self) -> int:
        """All `width` bits set."""
        return (1 << self.width) - 1


ADDR_WIDTH = 128
"""Width of the switch's address fields (both families, docs/stats-stage.md)."""

IPV4_WIDTH = 32

IPV4_HIGH = ((1 << (ADDR_WIDTH - IPV4_WIDTH)) - 1) << IPV4_WIDTH
"""The upper 96 bits of an address field, 0 for IPv4: in the mask of every IPv4 match."""

FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("ingress_port", 9, "ternary", "port_mask", in_monitor_stream=False),
        FieldSpec("src_addr", ADDR_WIDTH, "ternary", "src_mask", is_addr=True),
        FieldSpec("dst_addr", ADDR_WIDTH, "ternary", "dst_mask", is_addr=True),
        FieldSpec("protocol", 8, "ternary", "proto_mask"),
        FieldSpec("src_port", 16, "range", "sport_mask"),
        FieldSpec("dst_port", 16, "range", "dport_mask"),
        FieldSpec("tcp_flags", 8, "ternary", "flags_mask"),
        FieldSpec("is_fragment", 1, "ternary", None),
        FieldSpec("is_ipv4", 1, "ternary", None),
        FieldSpec("is_ipv6", 1, "ternary", None),
    )
}
"""Rule fields in P4Info key order (docs/stats-stage.md)."""

GROUP_FIELDS = tuple(f.name for f in FIELDS.values() if f.group_param)
"""Fields a rule can group by."""

PROTOCOLS = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51}
PROTOCOLS.update({"icmpv6": 58, "sctp": 132})

TCP_FLAGS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10}
TCP_FLAGS.update({"URG": 0x20, "ECE": 0x40, "CWR": 0x80})


@dataclass(frozen=True)
class Ternary:
    """Match `field & mask == value`; `value` has no bits outside `mask`."""

    value: int
    mask: int

    def __str__(self) -> str:
        return f"0x{self.value:x}&&&0x{self.mask:x}"


@dataclass(frozen=True)
class Range:
    """Match packets whose field is in `lo..hi` (inclusive)."""

    lo: int
    hi: int

    def __str__(self) -> str:
        return f"{self.lo}..{self.hi}"


Match = Ternary | Range


# --- numbers ---------------------------------------------------------------------------


def _int_literal(text: str) -> int | None:
    """Decimal, 0x hex, 0b binary or 0o octal; None if `text` is none of these."""
    t = text.strip().replace("_", "")
    try:
        if re.fullmatch(r"0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|[0-9]+", t):
            return int(t, 0) if not re.fullmatch(r"0[0-9]+", t) else int(t, 10)
    except ValueError:
        return None
    return None


def _family_spec(spec: FieldSpec, text: str) -> FieldSpec:
    """The address field `spec` as the family `text` is written in: IPv6 if it has a
    colon, else IPv4 (numbers included); other fields unchanged."""
    if not spec.is_addr or spec.family:
        return spec
    value = text.split("&&&", 1)[0].split("/", 1)[0].split("..", 1)[0]
    if ":" in value:
        return FieldSpec(spec.name, ADDR_WIDTH, spec.kind, spec.group_param, True, family=6)
    return FieldSpec(spec.name, IPV4_WIDTH, spec.kind, spec.group_param, True, family=4)


def _is_ipv4_match(t: Ternary) -> bool:
    return t.mask & IPV4_HIGH == IPV4_HIGH and t.value >> IPV4_WIDTH == 0


def parse_value(text: str, spec: FieldSpec) -> int:
    """One value of field `spec`: a number, an IPv4 or IPv6 address or a protocol name."""
    t = text.strip()
    spec = _family_spec(spec, t)
    if spec.is_addr and spec.width == ADDR_WIDTH:
        try:
            return int(ipaddress.IPv6Address(t))
        except ValueError:
            raise FieldError(f"'{t}' is not an IPv6 address") from None
    if spec.name == "protocol" and t.lower() in PROTOCOLS:
        return PROTOCOLS[t.lower()]
    if spec.width == 1 and t.lower() in ("true", "false", "yes", "no"):
        return 1 if t.lower() in ("true", "yes") else 0
    if spec.is_addr and "." in t:
        try:
            return int(ipaddress.IPv4Address(t))
        except ValueError:
            raise FieldError(f"'{t}' is not an IPv4 address") from None
    v = _int_literal(t)
    if v is None:
        hint = ""
        if spec.name == "protocol":
            hint = f" (a number or one of {', '.join(sorted(PROTOCOLS))})"
        elif spec.is_addr:
            hint = " (an IPv4 address such as 10.0.0.1)"
        raise FieldError(f"'{t}' is not a value for {spec.name}{hint}")
    if v > spec.full:
        raise FieldError(f"'{t}' does not fit {spec.name} ({spec.width} bits, at most {spec.full})")
    return v


def prefix_mask(length: int, width: int) -> int:
    """The mask of a `/length` prefix of a `width`-bit field."""
    return ((1 << length) - 1) << (width - length)


def prefix_length(mask: int, width: int) -> int | None:
    """N if `mask` is a /N prefix mask of a `width`-bit field, else None."""
    for n in range(width + 1):
        if prefix_mask(n, width) == mask:
            return n
    return None


def _fmt(v: int, spec: FieldSpec) -> str:
    if spec.is_addr and spec.width == ADDR_WIDTH:
        return str(ipaddress.IPv6Address(v))
    if spec.is_addr:
        return str(ipaddress.IPv4Address(v))
    return f"0x{v:x}" if spec.kind == "ternary" and spec.width > 1 else str(v)


# --- match values ----------------------------------------------------------------------


def _parse_mask(text: str, spec: FieldSpec) -> int:
    t = text.strip()
    if spec.is_addr and spec.width == ADDR_WIDTH and ":" in t:
        try:
            return int(ipaddress.IPv6Address(t))
        except ValueError:
            raise FieldError(f"'{t}' is not an IPv6 mask") from None
    if spec.is_addr and spec.width == IPV4_WIDTH and "." in t:
        try:
            return int(ipaddress.IPv4Address(t))
        except ValueError:
            raise FieldError(f"'{t}' is not an IPv4 mask") from None
    v = _int_literal(t)
    if v is None or v > spec.full:
        raise FieldError(f"'{t}' is not a {spec.width}-bit mask for {spec.name}")
    return v


def _parse_tcp_flags(text: str) -> Ternary | None:
    """`SYN !ACK` (or `SYN,-ACK`): named flags that must be set (or, with ! or -, clear)."""
    tokens = [t for t in re.split(r"[\s,|+]+", text.strip()) if t]
    if not tokens or not all(t.lstrip("!-").upper() in TCP_FLAGS for t in tokens):
        return None
    value = mask = 0
    for tok in tokens:
        bit = TCP_FLAGS[tok.lstrip("!-").upper()]
        mask |= bit
        if not tok.startswith(("!", "-")):
            value |= bit
    return Ternary(value, mask)


def _ternary(value: int, mask: int, spec: FieldSpec, text: str) -> Ternary:
    if value & ~mask:
        raise FieldError(
            f"'{text}': value {_fmt(value, spec)} has bits outside its mask {_fmt(mask, spec)} "
            f"(did you mean {_fmt(value & mask, spec)}?)"
        )
    return Ternary(value, mask)


def parse_match(text: str, spec: FieldSpec) -> Match:
    """A match on field `spec` in the kind the switch uses for it (`spec.kind`).

    A ternary written on a range field is accepted when its mask is a prefix (it is a
    range), and a range on a ternary field when it is an aligned power-of-two block.
    An address is matched in the family it is written in (module docstring).
    """
    t = text.strip()
    family = _family_spec(spec, t)
    if family is not spec:
        in_family = parse_match(t, family)
        if family.width == IPV4_WIDTH:
            assert isinstance(in_family, Ternary)
            return Ternary(in_family.value, in_family.mask | IPV4_HIGH)
        return in_family
    m: Match
    if "&&&" in t:
        v_text, m_text = t.split("&&&", 1)
        value, mask = parse_value(v_text, spec), _parse_mask(m_text, spec)
        m = _ternary(value, mask, spec, t)
    elif ".." in t:
        lo_text, hi_text = t.split("..", 1)
        lo, hi = parse_value(lo_text, spec), parse_value(hi_text, spec)
        if lo > hi:
            raise FieldError(f"range '{t}' is empty: {lo} > {hi}")
        m = Range(lo, hi)
    elif "/" in t:
        p_text, l_text = t.split("/", 1)
        kind = f"a prefix of the {spec.width}-bit {spec.name}"
        if spec.is_addr:
            kind = "an IPv6 prefix" if spec.width == ADDR_WIDTH else "an IPv4 prefix"
        try:
            value = parse_value(p_text, spec)
        except FieldError:
            raise FieldError(f"'{t}' is not {kind}") from None
        if re.fullmatch(r"[0-9]+", l_text.strip()):
            length = int(l_text)
            if length > spec.width:
                raise FieldError(f"'{t}' is not {kind} (/{length} > /{spec.width})")
            mask = prefix_mask(length, spec.width)
        else:
            try:
                mask = _parse_mask(l_text, spec)
            except FieldError:
                raise FieldError(f"'{t}' is not {kind}") from None
        if value & ~mask:
            n = prefix_length(mask, spec.width)
            where = f"the /{n} prefix" if n is not None else f"the mask {_fmt(mask, spec)}"
            raise FieldError(
                f"'{t}' has bits set outside {where} (did you mean "
                f"{_fmt(value & mask, spec)}/{l_text.strip()}?)"
            )
        m = Ternary(value, mask)
    elif spec.name == "tcp_flags" and (flags := _parse_tcp_flags(t)) is not None:
        m = flags
    else:
        value = parse_value(t, spec)
        return Ternary(value, spec.full) if spec.kind == "ternary" else Range(value, value)
    converted = as_ternary(m, spec.width) if spec.kind == "ternary" else as_range(m, spec.width)
    if converted is None:
        if spec.kind == "range":
            raise FieldError(
                f"'{t}': the switch matches {spec.name} by range and mask 0x{m.mask:x} "  # type: ignore[union-attr]
                "is not a prefix; write lo..hi"
            )
        raise FieldError(
            f"'{t}': the switch matches {spec.name} by value&&&mask and {t} is not one "
            "aligned power-of-two block; write value&&&mask or split the rule"
        )
    return converted


def address_family(m: Match) -> int:
    """4 or 6: the family of an address match, as `parse_match` wrote it."""
    assert isinstance(m, Ternary)
    return 4 if _is_ipv4_match(m) else 6


def with_address_family(
    match: Sequence[tuple[str, Match]],
) -> tuple[list[tuple[str, Match]], str | None]:
    """`match` (a rule's field matches, in key order) with the family flag its address
    matches imply (`is_ipv4: true` for an IPv4 address, `is_ipv6: true` for an IPv6 one),
    or, as the second item, why no packet can match it."""
    out = list(match)
    have = dict(match)
    families = {n: address_family(m) for n, m in match if FIELDS[n].is_addr}
    if len(set(families.values())) > 1:
        return out, "src_addr and dst_addr are of different address families"
    if not families:
        return out, None
    family = next(iter(families.values()))
    flag, other = ("is_ipv4", "is_ipv6") if family == 4 else ("is_ipv6", "is_ipv4")
    names = " and ".join(families)
    for name, want in ((flag, 1), (other, 0)):
        given = have.get(name)
        if given is not None and not matches(given, want):
            return out, f"{names} is IPv{family} but the rule matches {name} {1 - want}"
    if flag not in have:
        out.append((flag, Ternary(1, 1)))
    order = list(FIELDS)
    return sorted(out, key=lambda nm: order.index(nm[0])), None


def as_ternary(m: Match, width: int) -> Ternary | None:
    """`m` as value/mask, or None if it cannot be written as one."""
    if isinstance(m, Ternary):
        return m
    size = m.hi - m.lo + 1
    if size & (size - 1) or m.lo % size:
        return None
    return Ternary(m.lo, ((1 << width) - 1) & ~(size - 1))


def as_range(m: Match, width: int) -> Range | None:
    """`m` as lo..hi, or None if its mask is not a prefix mask."""
    if isinstance(m, Range):
        return m
    if prefix_length(m.mask, width) is None:
        return None
    return Range(m.value, m.value | (((1 << width) - 1) & ~m.mask))


def is_dont_care(m: Match, width: int) -> bool:
    """True if `m` matches every value (P4Runtime: omit the field from the entry)."""
    if isinstance(m, Ternary):
        return m.mask == 0
    return m.lo == 0 and m.hi == (1 << width) - 1


def matches(m: Match, value: int) -> bool:
    """Whether a field value satisfies `m`."""
    if isinstance(m, Ternary):
        return value & m.mask == m.value
    return m.lo <= value <= m.hi


def intersect(a: Match, b: Match, width: int) -> Match | None:
    """The values both `a` and `b` match (None if none); same kind as `a` where possible."""
    if isinstance(a, Ternary) and isinstance(b, Ternary):
        if (a.value ^ b.value) & a.mask & b.mask:
            return None
        return Ternary(a.value | b.value, a.mask | b.mask)
    if isinstance(a, Range) and isinstance(b, Range):
        lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
        return Range(lo, hi) if lo <= hi else None
    ta, tb = as_ternary(a, width), as_ternary(b, width)
    if ta is not None and tb is not None:
        return intersect(ta, tb, width)
    ra, rb = as_range(a, width), as_range(b, width)
    if ra is not None and rb is not None:
        return intersect(ra, rb, width)
    # A non-prefix ternary against a non-block range: check value by value (small fields only).
    t, r = (a, b) if isinstance(a, Ternary) else (b, a)
    assert isinstance(t, Ternary) and isinstance(r, Range)
    hit = next((v for v in range(r.lo, r.hi + 1) if v & t.mask == t.value), None)
    return None if hit is None else Ternary(hit, (1 << width) - 1)


def values_in(m: Match, width: int) -> int:
    """How many field values `m` matches."""
    if isinstance(m, Ternary):
        return 1 << (width - bin(m.mask).count("1"))
    return m.hi - m.lo + 1


# --- group-by masks --------------------------------------------------------------------


def parse_group_mask(text: str, spec: FieldSpec) -> int:
    """A group-by mask for `spec`: `/N`, a dotted mask, `0x..`/`0b..`, or `true`/`all`."""
    t = text.strip()
    if t.lower() in ("true", "all", "yes"):
        return spec.full
    if t.startswith("/"):
        n = _int_literal(t[1:])
        if n is None or n > spec.width:
            raise FieldError(f"'{t}' is not a prefix length for {spec.name} (/0../{spec.width})")
        mask = prefix_mask(n, spec.width)
    elif spec.is_addr and "." in t:
        try:
            mask = int(ipaddress.IPv4Address(t)) << (spec.width - IPV4_WIDTH)
        except ValueError:
            raise FieldError(f"'{t}' is not an IPv4 mask") from None
    elif spec.is_addr and ":" in t:
        try:
            mask = int(ipaddress.IPv6Address(t)) << (spec.width - ADDR_WIDTH)
        except ValueError:
            raise FieldError(f"'{t}' is not an IPv6 mask") from None
    elif re.fullmatch(r"0[xXbB][0-9a-fA-F_]+", t):
        v = _int_literal(t)
        if v is None or v > spec.full:
            raise FieldError(f"'{t}' is not a {spec.width}-bit mask for {spec.name}")
        mask = v
    else:
        raise FieldError(
            f"'{t}' is not a group-by mask: write /N for the top N bits, 0x... for a mask"
            + (
                ", a dotted mask such as 255.255.255.0, an IPv6 mask such as ffff:ffff::"
                if spec.is_addr
                else ""
            )
            + " or true for every bit"
        )
    if mask == 0:
        raise FieldError(f"'{t}' groups by no bit of {spec.name}; leave the field out instead")
    return mask


# --- sizes, counts, durations ----------------------------------------------------------

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_COUNT_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}
_TIME_UNITS = {"us": 1, "µs": 1, "ms": 1000, "s": 10**6, "m": 60 * 10**6, "min": 60 * 10**6}
_TIME_UNITS["h"] = 3600 * 10**6


def _scaled(text: str, units: dict[str, int], what: str, examples: str) -> int:
    m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([A-Za-zµ]*)\s*", text)
    if m is None or m.group(2).lower() not in units:
        raise FieldError(f"'{text.strip()}' is not {what} (e.g. {examples})")
    number, unit = m.group(1).replace("_", ""), m.group(2)
    if what == "a size in bytes" and len(unit) >= 2 and unit[-1] == "b" and unit[0] != "b":
        raise FieldError(f"'{text.strip()}': thresholds count bytes; write {unit[:-1]}B")
    scale = units[unit.lower()]
    whole, _, frac = number.partition(".")
    value = int(whole) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
    if frac and (int(whole + frac) * scale) % 10 ** len(frac):
        raise FieldError(f"'{text.strip()}' is not a whole number of {what.split()[-1]}")
    return value


def parse_size(text: str) -> int:
    """Bytes: `1500`, `64kB`, `1.5MB` (powers of 10), `1MiB` (powers of 2)."""
    return _scaled(text, _SIZE_UNITS, "a size in bytes", "1500, 64kB, 10MB, 1MiB")


def parse_count(text: str) -> int:
    """A packet count: `1000`, `10k`, `2M`."""
    return _scaled(text, _COUNT_UNITS, "a packet count", "1000, 10k, 2M")


def parse_duration_us(text: str) -> int:
    """Microseconds from `1s`, `500ms`, `250us`, `2m`, `1h`; a bare `0` means off."""
    t = text.strip()
    if t in ("0", "off"):
        return 0
    if re.fullmatch(r"[0-9]+", t):
        raise FieldError(f"'{t}' needs a unit (e.g. {t}s or {t}ms)")
    return _scaled(t, _TIME_UNITS, "a duration", "1s, 500ms, 60s")


def format_match(m: Match, spec: FieldSpec) -> str:
    """`m` in the YAML syntax (round-trips through parse_match)."""
    if isinstance(m, Range):
        return str(m.lo) if m.lo == m.hi else f"{m.lo}..{m.hi}"
    if spec.is_addr and spec.width == ADDR_WIDTH and _is_ipv4_match(m):
        v4 = FieldSpec(spec.name, IPV4_WIDTH, spec.kind, spec.group_param, True, family=4)
        return format_match(Ternary(m.value, m.mask & ~IPV4_HIGH), v4)
    if m.mask == spec.full:
        return _fmt(m.value, spec)
    n = prefix_length(m.mask, spec.width)
    if spec.is_addr and n is not None:
        return f"{_fmt(m.value, spec)}/{n}"
    return f"{_fmt(m.value, spec)}&&&{_fmt(m.mask, spec)}"
