"""The `prefilters:` section of rules.yaml: patterns compiled to ternary entries (byte
classes split into as few (value, mask) pairs as cover them), every mistake reported
with file:line:col, installed in the same batched diff as the other entries."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from controlplane import pipeline_spec as ps
from controlplane.prefilter import (
    HEAD,
    PatternError,
    SoftwareMatcher,
    compile_section,
    cubes,
    expand,
    parse_pattern,
)
from controlplane.rules import load_rules, read_rules
from testbed.nids_switch import NidsSwitch

ROOT = Path(__file__).resolve().parents[2]
MONITOR = "monitor:\n  port: 1\n  ingress_ports: [0]\nstats: []\n"


def covered(cs: list[tuple[int, int]]) -> set[int]:
    return {b for b in range(256) if any(b & m == v for v, m in cs)}


def test_cubes_cover_exactly() -> None:
    rng = random.Random(7)
    for _ in range(200):
        values = {b for b in range(256) if rng.random() < rng.choice((0.05, 0.5, 0.95))}
        if values:
            assert covered(cubes(values)) == values
    assert cubes(set(range(0x80, 0x100))) == [(0x80, 0x80)]
    five = cubes({0, 1, 2, 3, 4})
    assert len(five) == 2 and covered(five) == {0, 1, 2, 3, 4}
    assert cubes(set(range(256))) == [(0, 0)]


def test_pattern_forms() -> None:
    ((value, mask),) = expand(parse_pattern("GET "))
    assert value >> (8 * (HEAD - 4)) == int.from_bytes(b"GET ", "big")
    assert mask == ((1 << 32) - 1) << (8 * (HEAD - 4))
    assert len(expand(parse_pattern("\\x16\\x03[\\x00-\\x04]"))) == 2
    ((_, mask),) = expand(parse_pattern("ehlo", nocase=True))
    assert mask >> (8 * (HEAD - 4)) == 0xDFDFDFDF
    assert len(expand(parse_pattern("a.b"))) == 1
    assert len(parse_pattern("\\[\\.\\\\")) == 3


@pytest.mark.parametrize(
    ("pattern", "col", "message"),
    [
        ("'\\q'", 15, "unknown escape"),
        ("'ab[c'", 17, "'[' without its closing ']'"),
        ("'\\x1'", 15, "\\x needs two hex digits"),
        ("'0123456789abcdefX'", 31, "17 bytes: the switch matches the first 16"),
        (
            "'[\\x01\\x02\\x04\\x08\\x10\\x20\\x40][\\x01\\x02\\x04\\x08\\x10\\x20\\x40][\\x01\\x02\\x04]'",
            75,
            "makes the pattern 147 ternary entries",
        ),
        ("''", 15, "an empty pattern"),
    ],
)
def test_pattern_errors_name_file_line_col(pattern: str, col: int, message: str) -> None:
    text = MONITOR + f"prefilters:\n  rules:\n    - service: x\n      orig: [{pattern}]\n"
    _, problems = read_rules(text, "r.yaml")
    (p,) = problems
    assert str(p).startswith(f"r.yaml:8:{col}: prefilters.rules[0].orig[0]: "), str(p)
    assert message in str(p)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "  rules:\n    - service: d\n      transport: udp\n      orig: [a]\n",
            "r.yaml:9:7: prefilters.rules[0].orig: a UDP rule matches every datagram",
        ),
        (
            "  rules:\n    - service: d\n      both: true\n      orig: [a]\n",
            "r.yaml:8:13: prefilters.rules[0].both: needs patterns under both",
        ),
        ("  rules:\n    - orig: [a]\n", "r.yaml:7:7: prefilters.rules[0]: missing 'service'"),
        (
            "  negative_matching: {bytes: 17}\n",
            "r.yaml:6:30: prefilters.negative_matching.bytes: 17 is out of range",
        ),
        (
            "  negative_matching:\n    bytes: 8\n    exceptions: [{prefix: 10.0.0.1/8}]\n",
            "r.yaml:8:27: prefilters.negative_matching.exceptions[0].prefix: '10.0.0.1/8'",
        ),
        ("  rule: []\n", "r.yaml:6:3: prefilters.rule: unknown field 'rule' (did you mean"),
    ],
)
def test_section_errors(section: str, message: str) -> None:
    _, problems = read_rules(MONITOR + "prefilters:\n" + section, "r.yaml")
    assert any(str(p).startswith(message) for p in problems), [str(p) for p in problems]


def test_shared_response_is_one_class() -> None:
    text = MONITOR + (
        "prefilters:\n  rules:\n"
        "    - {service: ftp, both: true, orig: ['USER '], resp: ['220 ']}\n"
        "    - {service: smtp, both: true, orig: ['EHLO '], resp: ['220 ']}\n"
    )
    rules, problems = read_rules(text, "r.yaml")
    assert problems == [] and rules.prefilters is not None
    c = compile_section(rules.prefilters.rules)
    assert len(c.entries) == 3  # USER, 220 (once), EHLO
    assert sorted(c.pairs.values()) == [1, 2]
    m = SoftwareMatcher(rules.prefilters)
    assert m.tcp_service(b"EHLO x\r\n", b"220 mx\r\n", 1234, 25) == 2
    assert m.tcp_service(b"USER x\r\n", b"220 ftp\r\n", 1234, 21) == 1
    assert m.tcp_service(b"USER x\r\n", b"", 1234, 21) == 0


def test_default_set_fits_the_switch() -> None:
    rules, problems = load_rules(ROOT / "rules.yaml")
    assert problems == [] and rules.prefilters is not None
    c = compile_section(rules.prefilters.rules)
    assert 0 < len(c.entries) <= ps.PF_MAX_PATTERNS
    services = {r.service for r in rules.prefilters.rules}
    for name in ("http", "ssh", "ssl", "smtp", "ftp", "dns", "sip", "rdp", "mysql"):
        assert name in services


def test_install_in_one_diff_and_idempotent() -> None:
    text = (
        MONITOR
        + "reassembly: {}\n"
        + (
            "prefilters:\n  negative_matching: {bytes: 16, exceptions: [{port: 22}]}\n  rules:\n"
            "    - {service: http, orig: ['GET ', 'POST ']}\n"
            "    - {service: ftp, both: true, orig: ['USER '], resp: ['220 ']}\n"
        )
    )
    with NidsSwitch() as sw:
        assert sw.install_text(text) >= 6
        assert sw.install_text(text) == 0
        counts = {
            t: len(sw.p4rt.read_table(sw.schema.table(t).id))
            for t in (ps.PF_PATTERNS_TABLE, ps.PF_PAIRS_TABLE, ps.PF_EXCEPTIONS_TABLE)
        }
        assert counts == {ps.PF_PATTERNS_TABLE: 4, ps.PF_PAIRS_TABLE: 1, ps.PF_EXCEPTIONS_TABLE: 1}
        # Without the section: entries deleted, the stage disabled.
        assert sw.install_text(MONITOR + "reassembly: {}\n") == 6 + 1
        assert all(not sw.p4rt.read_table(sw.schema.table(t).id) for t in counts)


def test_pattern_error_positions_in_block_scalars() -> None:
    with pytest.raises(PatternError) as e:
        parse_pattern("ab\\")
    assert e.value.pos == 2
