"""The `check` command: validate a rules file offline and show where its rules go."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from google.protobuf import text_format

from controlplane.capabilities import check_monitor, discover, rule_gaps
from controlplane.compile import compile_rules
from controlplane.deploy import conflict_messages, validate
from controlplane.errors import CapabilityError, SwitchError
from controlplane.model import STATS_RULES_PER_SLOT
from controlplane.p4info import P4Schema
from controlplane.slots import UNBOUNDED, assign

SHOWN_PER_SLOT = 20
"""Rules listed per slot; more are counted."""


def run_check(rules_path: str, p4info: Path | None, entries: bool, out: TextIO) -> int:
    """Validate `rules_path` (and compile it against `p4info` if given); exit status 0."""
    # with a P4Info, its table sizes decide what fits (below); else the documented ones
    capacity = UNBOUNDED if p4info is not None else STATS_RULES_PER_SLOT
    rules, plan = validate(rules_path, allow_fallback=False, capacity=capacity)
    print(
        f"{rules_path}: {len(rules.stats)} stats rules, "
        f"{len(rules.monitor)} monitor port(s): valid",
        file=out,
    )
    if p4info is not None:
        try:
            schema = P4Schema.from_file(p4info)
        except (OSError, text_format.ParseError) as e:
            raise SwitchError(f"cannot read {p4info}: {e}") from None
        caps = discover(schema)
        msgs = check_monitor(rules, caps, schema)
        for r in rules.stats:
            msgs += [f"{r.label} {g}" for g in rule_gaps(r, caps)]
        plan = assign(rules.stats, caps.n_slots, caps.capacity)
        msgs += [f"{r.label} does not fit: {plan.reasons[r.name]}" for r in plan.unplaced]
        msgs += [msg for _, msg in conflict_messages(plan)][::2]
        if msgs:
            raise CapabilityError(msgs)
    for w in plan.warnings:
        print(f"warning: {w}", file=out)
    by_slot: dict[int, list[str]] = {}
    for r in rules.stats:
        if r.name in plan.placed:
            slot, prio = plan.placed[r.name]
            by_slot.setdefault(slot, []).append(f"{r.name} (priority {prio})")
    for s in range(plan.n_slots):
        names = by_slot.get(s, [])
        if len(names) > SHOWN_PER_SLOT:
            more = len(names) - SHOWN_PER_SLOT
            names = [*names[:SHOWN_PER_SLOT], f"... and {more} more ({len(names)} rules)"]
        print(f"  slot {s}: {', '.join(names) or '(empty)'}", file=out)
    if p4info is not None:
        desired = compile_rules(rules, plan, schema, one_per_shape=not entries)
        n_entries = len(plan.placed) + len(rules.monitor)
        print(f"{n_entries} table entries", file=out)
        if entries:
            for d in desired:
                print(f"# {d.origin} -> {d.table}", file=out)
                print(text_format.MessageToString(d.entry).rstrip(), file=out)
    return 0
