"""Capability discovery: what the running pipeline's P4Info lets the controller install.

Paper §3.2: the software learns the device's feature set from the device itself. Here
that is the P4Info from GetForwardingPipelineConfig: how many stats slots there are,
how many rules each holds, which fields the tables match, which group-by masks the
`count_group` action takes, whether the monitor_ports table exists. `check` says, per
rule, what the pipeline cannot carry; `software_ok` says whether the monitor-stream
fallback could count the rule instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from controlplane import pipeline_spec as ps
from controlplane.fields import FIELDS
from controlplane.model import RuleSet, StatsRule
from controlplane.p4info import P4Schema
from controlplane.rules import slot_table

MONITOR_TABLE = ps.MONITOR_TABLE
MONITOR_ACTION = ps.SEND_TO_MONITOR
FIXED_PARAMS = ("rule_id", "bidirectional", "interval_us", "packet_threshold", "byte_threshold")
assert set(FIXED_PARAMS) <= set(ps.COUNT_GROUP_PARAMS)


def count_action(slot: int) -> str:
    """P4Info name of slot `slot`'s count_group action."""
    return ps.count_group(slot)


@dataclass(frozen=True)
class StatsCaps:
    """The stats stage as the running pipeline has it."""

    n_slots: int
    capacity: int
    fields: frozenset[str]
    params: dict[str, int]  # count_group parameter -> bit width (common to all slots)
    has_monitor: bool
    problems: tuple[str, ...] = ()  # ways the pipeline departs from docs/stats-stage.md

    def param_width(self, name: str) -> int:
        """Width of a count_group parameter, 0 if the pipeline lacks it."""
        return self.params.get(name, 0)


def discover(schema: P4Schema) -> StatsCaps:
    """Read the stats stage's shape from `schema`."""
    slots = 0
    while schema.has_table(slot_table(slots)):
        slots += 1
    extra = sorted(
        int(m.group(1))
        for t in schema.tables
        if (m := re.fullmatch(ps.STATS_TABLE_PATTERN, t)) and int(m.group(1)) > slots
    )
    problems: list[str] = []
    if extra:
        problems.append(f"slot tables are not numbered from 0 without gaps (slot {slots} missing)")
    fields: set[str] | None = None
    params: dict[str, int] | None = None
    capacity = 0
    for s in range(slots):
        table = schema.table(slot_table(s))
        have = {f.name for f in table.fields}
        fields = have if fields is None else fields & have
        capacity = table.size if s == 0 else min(capacity, table.size)
        try:
            action = schema.action(count_action(s))
        except LookupError as e:
            problems.append(f"{table.name}: {e}")
            continue
        if action.id not in table.action_ids:
            problems.append(f"{table.name} does not list {action.name} among its actions")
        p = {x.name: x.bitwidth for x in action.params}
        params = p if params is None else {k: v for k, v in params.items() if p.get(k) == v}
    return StatsCaps(
        n_slots=slots,
        capacity=capacity,
        fields=frozenset(fields or ()),
        params=params or {},
        has_monitor=schema.has_table(MONITOR_TABLE),
        problems=tuple(problems),
    )


def rule_gaps(rule: StatsRule, caps: StatsCaps) -> list[str]:
    """Why the pipeline cannot carry `rule` (empty list: it can, slots permitting)."""
    out: list[str] = []
    for name, _ in rule.match:
        if name not in caps.fields:
            have = ", ".join(sorted(caps.fields)) or "none"
            out.append(
                f"matches {name}, which the pipeline's stats tables lack (they match {have})"
            )
    for name, mask in rule.group_by:
        param = FIELDS[name].group_param
        assert param is not None
        width = caps.param_width(param)
        if width == 0:
            out.append(f"groups by {name}, but count_group has no {param} parameter")
        elif mask >> width:
            out.append(f"groups by {name} under mask 0x{mask:x}, wider than {param} ({width} bits)")
    for param, value in (
        ("rule_id", rule.rule_id),
        ("interval_us", rule.interval_us),
        ("packet_threshold", rule.packet_threshold),
        ("byte_threshold", rule.byte_threshold),
        ("bidirectional", int(rule.bidirectional)),
    ):
        width = caps.param_width(param)
        if width == 0 and value:
            out.append(f"needs count_group parameter {param}, which the pipeline lacks")
        elif width and value >> width:
            out.append(f"{param} {value} does not fit the pipeline's {width} bits")
    return out


def software_ok(rule: StatsRule) -> bool:
    """Whether the monitor-stream fallback can count `rule` (it cannot see ingress ports)."""
    return all(FIELDS[n].in_monitor_stream for n, _ in rule.match) and all(
        FIELDS[n].in_monitor_stream for n, _ in rule.group_by
    )


def check_monitor(rules: RuleSet, caps: StatsCaps, schema: P4Schema) -> list[str]:
    """Problems with the monitor section against the pipeline."""
    if not rules.monitor:
        return []
    if not caps.has_monitor:
        return [f"the rules have a monitor section but the pipeline has no table {MONITOR_TABLE}"]
    out: list[str] = []
    table = schema.table(MONITOR_TABLE)
    if len(rules.monitor) > table.size:
        out.append(f"{len(rules.monitor)} monitor ports, but {MONITOR_TABLE} holds {table.size}")
    try:
        schema.action(MONITOR_ACTION).param(ps.SEND_TO_MONITOR_PORT)
    except LookupError as e:
        out.append(str(e))
    return out
