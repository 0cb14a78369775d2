"""The `reassembly:` section of rules.yaml: validated with file:line:col, installed by the
controller's own path (an idempotent default-action write)."""

from __future__ import annotations

import pytest
from p4.v1 import p4runtime_pb2

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
    assert rules.reassembly == ReassemblyConfig(
        slots=128, idle_timeout_us=30_000_000, hold_segments_total=0
    )
    text = MONITOR + "reassembly:\n  hold_segments_per_flow: 15\n  gap_timeout: 2ms\n"
    rules, problems = read_rules(text, "r.yaml")
    assert problems == [] and rules.reassembly is not None
    assert (rules.reassembly.hold_segments_per_flow, rules.reassembly.gap_timeout_us) == (15, 2000)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  slot: 4\n", "r.yaml:5:3: reassembly.slot: unknown field"),
        ("  idle_timeout: 2h\n", "r.yaml:5:17: reassembly.idle_timeout: 7200000000 µs is out"),
        ("  hold_segments_per_flow: 16\n", "r.yaml:5:27: reassembly.hold_segments_per_flow:"),
        ("  hold_segments_total: -1\n", "r.yaml:5:24: reassembly.hold_segments_total:"),
        ("  hold_segments_total: 1025\n", "r.yaml:5:24: reassembly.hold_segments_total:"),
        ("  gap_timeout: 2s\n", "r.yaml:5:16: reassembly.gap_timeout: 2000000 µs is out"),
        ("  gap_timeout: soon\n", "r.yaml:5:16: reassembly.gap_timeout:"),
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
        # The hold budgets reach the switch's config table.
        text = MONITOR + NO_STATS + "reassembly:\n  hold_segments_per_flow: 3\n  gap_timeout: 5ms\n"
        assert sw.install_text(text) == 1
        (e,) = [x.table_entry for x in sw.p4rt.read([_default_entity(sw)])]
        params = {p.param_id: int.from_bytes(p.value, "big") for p in e.action.action.params}
        a = sw.schema.action(ps.REASM_CONFIGURE)
        assert params[a.param("hold_per_flow").id] == 3
        assert params[a.param("gap_timeout_us").id] == 5000


def _default_entity(sw: NidsSwitch) -> p4runtime_pb2.Entity:
    ent = p4runtime_pb2.Entity()
    ent.table_entry.table_id = sw.schema.table(ps.REASM_CONFIG_TABLE).id
    ent.table_entry.is_default_action = True
    return ent
