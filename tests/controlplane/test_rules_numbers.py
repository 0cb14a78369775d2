"""Numbers, sizes and error positions in rules.yaml: every number range-checked at its
file:line:col (never OverflowError/ValueError), YAML errors where they start."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.errors import Problem, RulesError
from controlplane.rules import load_rules, read_rules

HUGE = "1" + "0" * 400
DIGITS = "7" * 5000

# (setting, the rule-file text with {v} where the value goes)
TEMPLATE = """\
monitor:
  port: {monitor_port}
  ingress_ports: [{ingress}]
syn_offload:
  timeout: {timeout}
  sweep_rate: {sweep_rate}
  slots: {syn_slots}
  sweep_monitor_port: 1
stats:
  - name: r
    match: {{dst_port: {dst_port}, src_addr: {src_addr}, protocol: {protocol}}}
    group_by: {{src_addr: {mask}}}
    interval: {interval}
    thresholds: {{packets: {packets}, bytes: {bytes}}}
    id: {id}
    slot: {slot}
    priority: {priority}
"""
GOOD = {
    "monitor_port": "1",
    "ingress": "0",
    "timeout": "5s",
    "sweep_rate": "1000",
    "syn_slots": "1024",
    "dst_port": "22",
    "src_addr": "10.0.0.0/8",
    "protocol": "tcp",
    "mask": "/24",
    "interval": "60s",
    "packets": "10",
    "bytes": "1MB",
    "id": "3",
    "slot": "1",
    "priority": "5",
}
BAD_VALUES = [
    HUGE,
    DIGITS,
    HUGE + "s",
    DIGITS + "ms",
    "0x" + "f" * 5000,
    "1.5",
    "1e9",
    "-1",
    "-0",
    "true",
    "false",
    "null",
    ".inf",
    "-.inf",
    ".nan",
    "1.0e+400",
    "0x",
    "''",
    "[1, 2]",
    "{a: 1}",
    HUGE + "." + HUGE + "s",
    "1." + DIGITS + "s",
    "10.0.0.0/" + DIGITS,
    DIGITS + ".." + DIGITS,
    "1&&&" + DIGITS,
]


def _line_of(text: str, setting: str) -> int:
    marker = "@@"
    marked = TEMPLATE.format(**{**GOOD, setting: marker})
    return next(i for i, line in enumerate(marked.splitlines(), 1) if marker in line)


def test_template_is_valid() -> None:
    _, probs = read_rules(TEMPLATE.format(**GOOD), "r.yaml")
    assert probs == []


def _applies(setting: str, value: str) -> bool:
    """Whether `value` is a mistake for `setting` (`mask: true` groups by every bit;
    a list is what ingress_ports takes)."""
    if setting == "mask" and value == "true":
        return False
    return not (setting == "ingress" and value.startswith("["))


CASES = [(s, v) for s in sorted(GOOD) for v in BAD_VALUES if _applies(s, v)]


@pytest.mark.parametrize(("setting", "value"), CASES, ids=[f"{s}-{v[:16]}" for s, v in CASES])
def test_bad_number_is_reported_at_its_position(setting: str, value: str) -> None:
    text = TEMPLATE.format(**{**GOOD, setting: value})
    _, probs = read_rules(text, "r.yaml")  # must not raise
    line = _line_of(text, setting)
    assert probs, f"{setting}: {value[:30]} accepted"
    assert all(isinstance(p, Problem) for p in probs)
    assert any(p.where.line == line for p in probs), [str(p)[:200] for p in probs]
    for p in probs:
        assert len(p.message) < 400, p.message[:100]  # the 5,000 digits are not echoed


@pytest.mark.parametrize(
    ("setting", "value"),
    [("slot", "4"), ("priority", "0"), ("priority", str(1 << 31)), ("id", "0"), ("id", "65536")],
)
def test_out_of_range(setting: str, value: str) -> None:
    text = TEMPLATE.format(**{**GOOD, setting: value})
    _, probs = read_rules(text, "r.yaml")
    assert [p.where.line for p in probs] == [_line_of(text, setting)]
    assert "out of range" in probs[0].message


def _one(text: str) -> Problem:
    _, probs = read_rules(text, "r.yaml")
    assert len(probs) == 1, [str(p) for p in probs]
    return probs[0]


def test_unclosed_quote_reported_where_it_opens() -> None:
    text = 'monitor:\n  port: 1\n  ingress_ports: [0]\nstats:\n  - name: "abc\n' + "  #\n" * 20
    p = _one(text)
    assert (p.where.line, p.where.col) == (5, 11)
    assert "quote" in p.message or "quoted" in p.message


def test_unclosed_single_quote_reported_where_it_opens() -> None:
    text = "stats:\n  - name: x\n    description: 'it is\n\n\n    slot: 1\n"
    p = _one(text)
    assert (p.where.line, p.where.col) == (3, 18)


def test_unclosed_flow_mapping_reported_where_it_opens() -> None:
    text = "stats:\n  - name: x\n    match: {protocol: tcp\n  - name: y\n"
    p = _one(text)
    assert p.where.line == 3


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("stats:\n  - name: a\x00b\n", (2, 12)),
        ("monitor:\n  port: 1\n  ingress_ports: [0]\n\x07stats: []\n", (4, 1)),
        ("stats:\n  - name: x\n    description: a\x1bb\n", (3, 19)),
        ("stats: []\nmonitor: {port: 1, ingress_ports: [0]} \x0c\n", (2, 40)),
        ("stats:\n  - name: \u00e9\u00e9\x01\n", (2, 13)),
    ],
)
def test_control_characters_at_their_position(text: str, where: tuple[int, int]) -> None:
    p = _one(text)
    assert (p.where.line, p.where.col) == where
    assert "character" in p.message


def test_rule_repeated_through_an_alias_reported_at_the_alias() -> None:
    text = "stats:\n  - &r\n    name: a\n    match: {protocol: tcp}\n  - name: b\n  - *r\n"
    p = _one(text)
    assert (p.where.line, p.where.col) == (6, 5)
    assert "'a'" in p.message and "alias" in p.message


def test_undecodable_byte_at_its_position(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_bytes(b"stats:\n  - name: \xc3\xa9x\xff\n")
    with pytest.raises(RulesError) as e:
        load_rules(f)
    (p,) = e.value.problems
    assert (p.where.line, p.where.col) == (2, 13)


def test_huge_file_refused_unread(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_bytes(b"# " + b"x" * (10 << 20) + b"\n")
    with pytest.raises(RulesError) as e:
        load_rules(f)
    assert "larger than" in str(e.value)
