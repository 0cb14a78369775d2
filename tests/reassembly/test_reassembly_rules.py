"""The `reassembly:` section of rules.yaml: validated with file:line:col, installed by the
controller's own path (an idempotent default-action write)."""

from __future__ import annotations

import pytest

from controlplane import pipeline_spec as ps
from controlplane.model import ReassemblyConfig
from controlplane.rules import read_rules
from testbed.nids_switch import NidsSwitch

MONITOR = "monitor:\n  port: 1\n  ingress_ports: [0]\n"
NO_STATS = "stats: []\n"  # a file to install says it has no stats rules


def test_section_read() -> None:
    text = MONITOR + "reassembly:\n  slots: 128\n  idle_timeout: 30s\n  hold_segments_total: 0\n"
    rules, problems = read_rules(text, "r.yaml")
    assert problems == []
    assert rules.reassembly == ReassemblyConfig(slots=128, idle_timeout_us=30_000_000)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  slot: 4\n", "r.yaml:5:3: reassembly.slot: unknown field"),
        ("  idle_timeout: 2h\n", "r.yaml:5:17: reassembly.idle_timeout: 7200000000 µs is out"),
        ("  hold_segments_per_flow: 4\n", "r.yaml:5:27: reassembly.hold_segments_per_flow: 4"),
        ("  enabled: maybe\n", "r.yaml:5:12: reassembly.enabled:"),
    ],
)
def test_section_errors(section: str, message: str) -> None:
    _, problems = read_rules(MONITOR + "reassembly:\n" + section, "r.yaml")
    assert any(str(p).startswith(message) for p in problems), [str(p) for p in problems]


def test_needs_monitor() -> None:
    _, problems = read_rules("reassembly:\n  enabled: true\n", "r.yaml")
    assert [str(p) for p in problems] == [
        "r.yaml:2:3: reassembly: needs a 'monitor:' section (where streams are sent)"
    ]


def test_install_enables_once_and_disables() -> None:
    with NidsSwitch() as sw:
        text = MONITOR + NO_STATS + "reassembly:\n  slots: 256\n  idle_timeout: 10s\n"
        assert sw.install_text(text) >= 1
        assert sw.install_text(text) == 0  # the switch holds it already
        cells = sw.p4rt.read_counter(sw.schema.counter(ps.REASM_OUTCOMES_COUNTER).id)
        assert len(cells) == len(ps.REASM_OUTCOMES)
        assert sw.install_text(MONITOR + NO_STATS) == 1  # no section: disabled
