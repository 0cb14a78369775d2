"""The `status` command: counters of the stats stage, read over P4Runtime.

Per rule: the direct counter `rule_hits` read with the rule's table entry. Per group:
the indexed counter `group_totals` (never reset by intervals); a group's key is shown
when `watch` has seen it in a report (state file), otherwise only its index. Per
slot: `outcomes` (counted, collision, report attached, alert attached). Registers are
not read: BMv2 cannot read them over P4Runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from controlplane import pipeline_spec as ps
from controlplane import state as state_mod
from controlplane.capabilities import discover
from controlplane.errors import SwitchError
from controlplane.p4info import P4Schema
from controlplane.p4rt import P4RuntimeSwitch
from controlplane.rules import slot_table

OUTCOMES = tuple(o.name for o in ps.STATS_OUTCOMES)


def _key_text(key: dict[str, Any]) -> str:
    parts = []
    for name, value in key.items():
        if value not in (0, "0.0.0.0"):
            parts.append(f"{name}={value}")
    return " ".join(parts) or "(all)"


def collect(
    sw: P4RuntimeSwitch, st: state_mod.State, all_groups: bool
) -> dict[str, list[dict[str, Any]]]:
    """Read every stats counter: {"rules": [...], "groups": [...], "outcomes": [...]}."""
    p4info = sw.get_p4info()
    if p4info is None:
        raise SwitchError(f"the switch at {sw.address} has no pipeline yet (make run)")
    schema = P4Schema(p4info)
    caps = discover(schema)
    names = st.rule_by_id()
    rules: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    for slot in range(caps.n_slots):
        table = schema.table(slot_table(slot))
        action = schema.action(ps.count_group(slot))
        rid_param = next((p.id for p in action.params if p.name == "rule_id"), None)
        for e in sw.read_table(table.id, with_counters=True):
            rid = next(
                (
                    int.from_bytes(p.value, "big")
                    for p in e.action.action.params
                    if p.param_id == rid_param
                ),
                None,
            )
            known = names.get(rid) if rid is not None else None
            rules.append(
                {
                    "slot": slot,
                    "rule_id": rid,
                    "rule": known.name if known else None,
                    "priority": e.priority,
                    "packets": e.counter_data.packet_count,
                    "bytes": e.counter_data.byte_count,
                }
            )
        for ce in sw.read_counter(schema.counter(ps.group_totals(slot)).id):
            if not all_groups and ce.data.packet_count == 0:
                continue
            seen = st.group_keys.get(f"{slot}/{ce.index.index}")
            groups.append(
                {
                    "slot": slot,
                    "index": ce.index.index,
                    "rule": seen.get("rule") if seen else None,
                    "key": seen.get("key") if seen else None,
                    "packets": ce.data.packet_count,
                    "bytes": ce.data.byte_count,
                }
            )
        counts = {
            ce.index.index: ce.data.packet_count
            for ce in sw.read_counter(schema.counter(ps.stats_outcomes(slot)).id)
        }
        outcomes.append(
            {"slot": slot, **{name: counts.get(i, 0) for i, name in enumerate(OUTCOMES)}}
        )
    return {"rules": rules, "groups": groups, "outcomes": outcomes}


def render(data: dict[str, list[dict[str, Any]]]) -> str:
    """The tables `status` prints."""
    lines = [
        "rules (direct counter rule_hits)",
        f"  {'slot':>4}  {'id':>5}  {'rule':<28} {'packets':>12} {'bytes':>15}",
    ]
    for r in data["rules"]:
        name = r["rule"] or "(not from the last install)"
        lines.append(
            f"  {r['slot']:>4}  {r['rule_id']!s:>5}  {name:<28} {r['packets']:>12} {r['bytes']:>15}"
        )
    lines += ["", "groups (counter group_totals, since the rule was installed)"]
    lines.append(f"  {'slot':>4}  {'index':>5}  {'rule':<28} {'packets':>12} {'bytes':>15}  key")
    for g in data["groups"]:
        key = _key_text(g["key"]) if g["key"] else "(not seen by watch yet)"
        lines.append(
            f"  {g['slot']:>4}  {g['index']:>5}  {g['rule'] or '?':<28} "
            f"{g['packets']:>12} {g['bytes']:>15}  {key}"
        )
    lines += ["", "outcomes (counter outcomes, packets)"]
    lines.append(f"  {'slot':>4}  " + "  ".join(f"{n:>10}" for n in OUTCOMES))
    for o in data["outcomes"]:
        lines.append(f"  {o['slot']:>4}  " + "  ".join(f"{o[n]:>10}" for n in OUTCOMES))
    return "\n".join(lines)


def run_status(
    address: str,
    device_id: int,
    timeout_s: float,
    state_path: Path,
    as_json: bool,
    all_groups: bool,
    out: TextIO,
) -> int:
    """The status command; returns the exit status."""
    st = state_mod.load(state_path)
    with P4RuntimeSwitch(address, device_id, timeout_s=timeout_s) as sw:
        data = collect(sw, st, all_groups)
    print(json.dumps(data, indent=2) if as_json else render(data), file=out)
    return 0
