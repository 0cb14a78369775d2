"""The controller's side of the prefilter stage (docs/prefilter.md): the `prefilters:`
section of rules.yaml, its patterns compiled to ternary entries of
`NidsIngress.prefilter.patterns`, the negative-matching exceptions, the config table's
default action, and the software matcher the decoder runs on streams the switch did not
match (software-mode and untracked connections), with the same entries.

```yaml
prefilters:
  enabled: true                 # default when the section is present
  negative_matching:            # optional: cut flows that match nothing
    bytes: 16                   # ... in the first N (1..16) bytes of both directions
    exceptions:                 # flows never cut: any of address, prefix, port
      - {address: 192.0.2.7}            # either endpoint
      - {prefix: 10.1.0.0/16}           # either endpoint
      - {port: 22}                      # responder port
  rules:                        # in priority order
    - service: http             # Zeek's service name
      transport: tcp            # tcp (default) or udp
      orig: ['GET ', 'POST ']   # the originator's stream starts with one of these
      resp: ['HTTP/1.']         # the responder's stream starts with one of these
      any: []                   # either direction (UDP: every datagram)
      both: false               # true: one of orig AND one of resp must match
      ports: [80, 8080]         # optional: responder port (TCP), either port (UDP)
      nocase: false             # letters match either case
```

A pattern is text: `\\xHH` a byte, `\\r \\n \\t \\0 \\\\`, `.` any byte, `[...]` a byte
class (`[\\x00-\\x04]`, `[A-Za-z]`, `[^...]`), `\\.` and `\\[` the characters
themselves. A class becomes as few ternary (value, mask) pairs as cover it exactly; a
pattern whose classes need more than MAX_ENTRIES_PER_PATTERN entries is refused with
the position of the class that breaks the budget.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from yaml.nodes import Node, ScalarNode, SequenceNode

from controlplane import pipeline_spec as ps
from controlplane.model import Where

if TYPE_CHECKING:
    from controlplane.rules import _Reader

HEAD = ps.PF_HEAD_BYTES
MAX_ENTRIES_PER_PATTERN = 64
TCP, UDP = 6, 17
ORIG, RESP = 0, 1

SECTION_FIELDS = ("enabled", "negative_matching", "rules")
NEGATIVE_FIELDS = ("bytes", "exceptions")
EXCEPTION_FIELDS = ("address", "prefix", "port")
RULE_FIELDS = ("service", "transport", "orig", "resp", "any", "both", "ports", "nocase")
DIRECTION_FIELDS = {"orig": ORIG, "resp": RESP, "any": None}

Cube = tuple[int, int]
"""(value, mask) of one byte: the bytes b with b & mask == value."""


# --- patterns ------------------------------------------------------------------------


class PatternError(ValueError):
    """A pattern the switch cannot express; `pos` is its character offset in the text."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def cubes(values: set[int]) -> list[Cube]:
    """As few (value, mask) pairs as cover exactly `values` (bytes): merge pairs that differ
    in one bit while possible, then take a greedy cover of the merged cubes."""
    if len(values) == 256:
        return [(0, 0)]
    level: set[Cube] = {(v, 0xFF) for v in values}
    primes: set[Cube] = set()
    while level:
        nxt: set[Cube] = set()
        used: set[Cube] = set()
        for v, m in level:
            for bit in range(8):
                b = 1 << bit
                if m & b and not v & b and (v | b, m) in level:
                    nxt.add((v, m & ~b))
                    used.add((v, m))
                    used.add((v | b, m))
        primes |= level - used
        level = nxt
    members = {c: {x for x in range(256) if x & c[1] == c[0]} for c in primes}
    left, out = set(values), []
    while left:
        best = max(sorted(members), key=lambda c: len(members[c] & left))
        out.append(best)
        left -= members[best]
    return sorted(out)


_ESCAPES = {"r": 0x0D, "n": 0x0A, "t": 0x09, "0": 0x00, "\\": 0x5C}


def _byte_at(text: str, i: int) -> tuple[int, int]:
    """The byte written at text[i] (an escape, or one character) and the index after it."""
    c = text[i]
    if c != "\\":
        if ord(c) > 0x7F:
            raise PatternError(f"'{c}' is not an ASCII character: write its bytes as \\xHH", i)
        return ord(c), i + 1
    if i + 1 >= len(text):
        raise PatternError("a pattern cannot end with a lone '\\'", i)
    e = text[i + 1]
    if e == "x":
        digits = text[i + 2 : i + 4]
        if len(digits) != 2 or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise PatternError("\\x needs two hex digits (\\x16)", i)
        return int(digits, 16), i + 4
    if e in _ESCAPES:
        return _ESCAPES[e], i + 2
    if e in ".[]-^":
        return ord(e), i + 2
    raise PatternError(f"unknown escape '\\{e}' (known: \\xHH \\r \\n \\t \\0 \\\\ \\. \\[)", i)


def _class_at(text: str, i: int) -> tuple[set[int], int]:
    """The byte class `[...]` starting at text[i] and the index after it."""
    j = i + 1
    negate = j < len(text) and text[j] == "^"
    if negate:
        j += 1
    out: set[int] = set()
    while True:
        if j >= len(text):
            raise PatternError("'[' without its closing ']'", i)
        if text[j] == "]" and (j > i + 1 + negate):
            break
        lo, j = _byte_at(text, j)
        hi = lo
        if j + 1 < len(text) and text[j] == "-" and text[j + 1] != "]":
            hi, j = _byte_at(text, j + 1)
            if hi < lo:
                raise PatternError(f"range \\x{lo:02x}-\\x{hi:02x} is backwards", i)
        out |= set(range(lo, hi + 1))
    if negate:
        out = set(range(256)) - out
    if not out:
        raise PatternError("the class matches no byte", i)
    return out, j + 1


def parse_pattern(text: str, nocase: bool = False) -> list[tuple[list[Cube], int]]:
    """Per byte position: the cubes that cover it and the text offset it was written at."""
    out: list[tuple[list[Cube], int]] = []
    i = 0
    while i < len(text):
        start = i
        if text[i] == ".":
            values = set(range(256))
            i += 1
        elif text[i] == "[":
            values, i = _class_at(text, i)
        else:
            b, i = _byte_at(text, i)
            values = {b}
        if nocase:
            values |= {v ^ 0x20 for v in values if chr(v).isalpha() and v < 0x80}
        out.append((cubes(values), start))
    if not out:
        raise PatternError("an empty pattern matches everything", 0)
    if len(out) > HEAD:
        raise PatternError(
            f"{len(out)} bytes: the switch matches the first {HEAD} bytes of a stream only",
            out[HEAD][1],
        )
    return out


def expand(positions: list[tuple[list[Cube], int]]) -> list[tuple[int, int]]:
    """Every (value, mask) of the first HEAD bytes (first byte in the top bits) that
    together match the pattern; PatternError beyond MAX_ENTRIES_PER_PATTERN."""
    total = 1
    for cs, pos in positions:
        total *= len(cs)
        if total > MAX_ENTRIES_PER_PATTERN:
            raise PatternError(
                f"this class makes the pattern {total} ternary entries or more (at most "
                f"{MAX_ENTRIES_PER_PATTERN}): split the pattern, or widen the class to one "
                "a mask expresses",
                pos,
            )
    out = []
    for combo in itertools.product(*(cs for cs, _ in positions)):
        value = mask = 0
        for k, (v, m) in enumerate(combo):
            shift = 8 * (HEAD - 1 - k)
            value |= v << shift
            mask |= m << shift
        out.append((value, mask))
    return out


# --- the section -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """One pattern of a rule: its text, direction (None: either) and ternary entries."""

    text: str
    direction: int | None
    length: int
    ternary: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PrefilterRule:
    """One service's patterns."""

    service: str
    protocol_id: int
    transport: int
    patterns: tuple[Pattern, ...]
    both: bool = False
    ports: tuple[int, ...] = ()
    where: Where | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Exception_:
    """A negative-matching exception: (value, mask) of orig/resp address and resp port."""

    orig: tuple[int, int] = (0, 0)
    resp: tuple[int, int] = (0, 0)
    port: tuple[int, int] = (0, 0)
    text: str = ""


@dataclass(frozen=True)
class PrefilterConfig:
    """A valid `prefilters:` section."""

    enabled: bool = True
    negative_bytes: int = 0  # 0: negative matching off
    exceptions: tuple[Exception_, ...] = ()
    rules: tuple[PrefilterRule, ...] = ()
    where: Where | None = field(default=None, compare=False)

    def services(self) -> dict[int, str]:
        """Protocol id -> service name."""
        return {r.protocol_id: r.service for r in self.rules}


def _items(node: Node) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else [node]


def _pattern_where(r: _Reader, node: Node, pos: int) -> Where:
    """The position of character `pos` of a one-line scalar's value."""
    w = r.where(node)
    if not isinstance(node, ScalarNode) or node.end_mark.line != node.start_mark.line:
        return w
    quote = 1 if node.style in ("'", '"') else 0
    return Where(w.path, w.line, w.col + quote + pos)


def _read_rule(r: _Reader, node: Node, i: int, ids: dict[str, int]) -> PrefilterRule | None:
    path = f"prefilters.rules[{i}]"
    f = r.mapping(node, path, RULE_FIELDS, "a prefilter rule")
    if f is None:
        return None
    before = len(r.problems)
    if "service" not in f:
        r.error(node, path, "missing 'service' (the protocol's name as Zeek logs it)")
        return None
    service = r.scalar(f["service"][1], f"{path}.service", "a service name")
    if service is not None and not service.replace("-", "").replace("_", "").isalnum():
        r.error(f["service"][1], f"{path}.service", f"'{service}' is not a service name")
    transport = TCP
    if "transport" in f:
        t = r.scalar(f["transport"][1], f"{path}.transport", "tcp or udp")
        if t is not None and t not in ("tcp", "udp"):
            r.error(f["transport"][1], f"{path}.transport", f"'{t}' is not tcp or udp")
        transport = UDP if t == "udp" else TCP
    nocase = bool("nocase" in f and r.boolean(f["nocase"][1], f"{path}.nocase"))
    both = bool("both" in f and r.boolean(f["both"][1], f"{path}.both"))
    patterns: list[Pattern] = []
    for key, direction in DIRECTION_FIELDS.items():
        if key not in f:
            continue
        if transport == UDP and direction is not None:
            r.error(
                f[key][0],
                f"{path}.{key}",
                "a UDP rule matches every datagram on its own: write its patterns under 'any'",
            )
            continue
        for j, pn in enumerate(_items(f[key][1])):
            sub = f"{path}.{key}[{j}]"
            text = r.scalar(pn, sub, "a pattern (text, \\xHH bytes, [classes])")
            if text is None:
                continue
            try:
                positions = parse_pattern(text, nocase)
                ternary = tuple(expand(positions))
            except PatternError as e:
                r.problems.append(_problem(_pattern_where(r, pn, e.pos), sub, str(e)))
                continue
            patterns.append(Pattern(text, direction, len(positions), ternary))
    if not patterns and len(r.problems) == before:
        r.error(node, path, "no patterns: give 'orig', 'resp' or 'any'")
    if both and not (
        any(p.direction == ORIG for p in patterns) and any(p.direction == RESP for p in patterns)
    ):
        r.error(f["both"][1], f"{path}.both", "needs patterns under both 'orig' and 'resp'")
    ports: list[int] = []
    if "ports" in f:
        for j, pn in enumerate(_items(f["ports"][1])):
            v = r.integer(pn, f"{path}.ports[{j}]", 0, 65535, "a port")
            if v is not None:
                ports.append(v)
    if len(r.problems) != before or service is None:
        return None
    pid = ids.setdefault(service, len(ids) + 1)
    return PrefilterRule(
        service, pid, transport, tuple(patterns), both, tuple(ports), r.where(node)
    )


def _problem(where: Where, path: str, message: str) -> Any:
    from controlplane.errors import Problem

    return Problem(where, path, message)


def _addr_cube(text: str, prefix_ok: bool) -> tuple[int, int]:
    """(value, mask) over the 128-bit flow address of an address or prefix."""
    net = ipaddress.ip_network(text, strict=True) if prefix_ok else None
    if net is None:
        a = ipaddress.ip_address(text)
        net = ipaddress.ip_network(f"{a}/{a.max_prefixlen}")
    if net.version == 4:
        mask32 = int(net.netmask)
        return int(net.network_address), ((1 << 128) - (1 << 32)) | mask32
    return int(net.network_address), int(net.netmask)


def _read_exceptions(r: _Reader, node: Node) -> list[Exception_]:
    out: list[Exception_] = []
    for i, item in enumerate(_items(node)):
        path = f"prefilters.negative_matching.exceptions[{i}]"
        f = r.mapping(item, path, EXCEPTION_FIELDS, "an exception (address, prefix or port)")
        if f is None:
            continue
        if len(f) != 1:
            r.error(item, path, "give one of address, prefix, port per exception")
            continue
        (key, (_, vn)) = next(iter(f.items()))
        if key == "port":
            port = r.integer(vn, f"{path}.port", 0, 65535, "a port")
            if port is not None:
                out.append(Exception_(port=(port, 0xFFFF), text=f"port {port}"))
            continue
        text = r.scalar(vn, f"{path}.{key}", f"an IP {key}")
        if text is None:
            continue
        try:
            cube = _addr_cube(text, key == "prefix")
        except ValueError as e:
            r.error(vn, f"{path}.{key}", f"'{text}' is not an IPv4/IPv6 {key}: {e}")
            continue
        # Either endpoint: one entry for the originator, one for the responder.
        out.append(Exception_(orig=cube, text=f"{key} {text} (originator)"))
        out.append(Exception_(resp=cube, text=f"{key} {text} (responder)"))
    return out


def read_prefilters(r: _Reader, node: Node, monitor: list[Any]) -> PrefilterConfig | None:
    """The `prefilters:` section, or None with the mistakes in `r.problems`."""
    f = r.mapping(node, "prefilters", SECTION_FIELDS, "the prefilter settings")
    if f is None:
        return None
    before = len(r.problems)
    enabled = True
    if "enabled" in f:
        enabled = bool(r.boolean(f["enabled"][1], "prefilters.enabled"))
    negative = 0
    exceptions: list[Exception_] = []
    if "negative_matching" in f:
        nn = f["negative_matching"][1]
        nf = r.mapping(nn, "prefilters.negative_matching", NEGATIVE_FIELDS, "the settings")
        if nf is not None:
            if "bytes" not in nf:
                r.error(nn, "prefilters.negative_matching", "missing 'bytes'")
            else:
                v = r.integer(
                    nf["bytes"][1],
                    "prefilters.negative_matching.bytes",
                    1,
                    HEAD,
                    f"a number of stream bytes (the switch matches the first {HEAD})",
                )
                negative = v or 0
            if "exceptions" in nf:
                exceptions = _read_exceptions(r, nf["exceptions"][1])
    rules: list[PrefilterRule] = []
    ids: dict[str, int] = {}
    if "rules" in f:
        for i, item in enumerate(_items(f["rules"][1])):
            rule = _read_rule(r, item, i, ids)
            if rule is not None:
                rules.append(rule)
    n = len(compile_section(tuple(rules)).entries)
    if n > ps.PF_MAX_PATTERNS:
        r.error(
            f["rules"][1],
            "prefilters.rules",
            f"{n} pattern-table entries, the switch has {ps.PF_MAX_PATTERNS} "
            "(build with -D PF_MAX_PATTERNS=N, or drop patterns)",
        )
    if len(exceptions) > ps.PF_MAX_EXCEPTIONS:
        r.error(
            f["negative_matching"][1],
            "prefilters.negative_matching.exceptions",
            f"{len(exceptions)} entries, the switch has {ps.PF_MAX_EXCEPTIONS}",
        )
    if not monitor:
        r.error(node, "prefilters", "needs a 'monitor:' section (where matched flows are sent)")
    if len(r.problems) != before:
        return None
    return PrefilterConfig(enabled, negative, tuple(exceptions), tuple(rules), r.where(node))


# --- entries -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One pattern-table entry (before it becomes a P4Runtime message). protocol_id 0
    is half a pair: class_id names it for the pairs table."""

    protocol: int
    direction: int | None
    length: int
    value: int
    mask: int
    src_port: int | None
    dst_port: int | None
    protocol_id: int
    pattern_id: int
    class_id: int
    label: str

    def key(self) -> tuple[object, ...]:
        """What the table matches on (two entries with one key: the first wins)."""
        return (
            self.protocol,
            self.direction,
            self.length,
            self.value,
            self.mask,
            self.src_port,
            self.dst_port,
        )

    def matches(
        self, protocol: int, direction: int, head: bytes, src_port: int, dst_port: int
    ) -> bool:
        """What the switch's table does with this key."""
        n = min(len(head), HEAD)
        data = int.from_bytes(head[:n].ljust(HEAD, b"\0"), "big")
        return (
            self.protocol == protocol
            and (self.direction is None or self.direction == direction)
            and self.length <= n
            and data & self.mask == self.value
            and (self.src_port is None or self.src_port == src_port)
            and (self.dst_port is None or self.dst_port == dst_port)
        )


@dataclass(frozen=True)
class Compiled:
    """The tables' contents for a section: pattern entries in priority order (first
    wins), pairs (originator class, responder class) -> protocol id."""

    entries: tuple[Entry, ...]
    pairs: dict[tuple[int, int], int]


def _port_keys(rule: PrefilterRule) -> list[tuple[int | None, int | None]]:
    if rule.transport == UDP:
        return [k for p in rule.ports for k in ((None, p), (p, None))] or [(None, None)]
    return [(None, p) for p in rule.ports] or [(None, None)]


def compile_section(rules: tuple[PrefilterRule, ...]) -> Compiled:
    """Every entry of `rules`: one pattern id per pattern (in file order); a pattern of a
    `both` rule is half a pair, one class per distinct pattern (a response two protocols
    share, like FTP's and SMTP's `220 `, is one class, paired with each request)."""
    out: list[Entry] = []
    seen: set[tuple[object, ...]] = set()
    classes: dict[tuple[object, ...], int] = {}
    pairs: dict[tuple[int, int], int] = {}
    pattern_id = 0
    for rule in rules:
        mine: dict[int, list[int]] = {ORIG: [], RESP: []}
        for pat in rule.patterns:
            pattern_id += 1
            ident = (rule.transport, pat.direction, pat.length, pat.ternary, rule.ports)
            cls = classes.setdefault(ident, len(classes) + 1) if rule.both else 0
            if pat.direction is not None and rule.both:
                mine[pat.direction].append(cls)
            for value, mask in pat.ternary:
                for sport, dport in _port_keys(rule):
                    e = Entry(
                        rule.transport,
                        pat.direction,
                        pat.length,
                        value,
                        mask,
                        sport,
                        dport,
                        0 if rule.both else rule.protocol_id,
                        pattern_id,
                        cls,
                        f"prefilter '{rule.service}' pattern {pat.text!r}",
                    )
                    if e.key() not in seen:
                        seen.add(e.key())
                        out.append(e)
        for oc in mine[ORIG]:
            for rc in mine[RESP]:
                pairs.setdefault((oc, rc), rule.protocol_id)
    return Compiled(tuple(out), pairs)


def all_entries(cfg: PrefilterConfig) -> list[Entry]:
    """Every pattern-table entry, in priority order (first wins)."""
    return list(compile_section(cfg.rules).entries)


# --- software matching -----------------------------------------------------------------


class SoftwareMatcher:
    """The pattern and pairs tables in software, for the streams the switch did not
    match (software-mode and untracked connections, flows whose slot was taken)."""

    def __init__(self, cfg: PrefilterConfig) -> None:
        c = compile_section(cfg.rules)
        self.entries = c.entries
        self.pairs = c.pairs
        self.names = cfg.services()

    def lookup(
        self, protocol: int, direction: int, head: bytes, src_port: int, dst_port: int
    ) -> Entry | None:
        """The entry the switch's table would hit (highest priority), None on a miss."""
        if not head:
            return None
        for e in self.entries:
            if e.matches(protocol, direction, head, src_port, dst_port):
                return e
        return None

    def tcp_service(self, orig: bytes, resp: bytes, orig_port: int, resp_port: int) -> int:
        """The protocol id the switch decides for a connection whose streams start with
        `orig` and `resp` (0: none): a direction's own match, else the pair of classes."""
        o = self.lookup(TCP, ORIG, orig, orig_port, resp_port)
        r = self.lookup(TCP, RESP, resp, orig_port, resp_port)
        for e in (o, r):
            if e is not None and e.protocol_id:
                return e.protocol_id
        if o is not None and r is not None:
            return self.pairs.get((o.class_id, r.class_id), 0)
        return 0

    def udp_service(self, payload: bytes, src_port: int, dst_port: int) -> int:
        """The protocol id of a datagram (0: none)."""
        e = self.lookup(UDP, ORIG, payload, src_port, dst_port)
        return 0 if e is None else e.protocol_id
