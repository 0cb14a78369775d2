"""Rules -> P4Runtime TableEntry messages (docs/stats-stage.md).

A stats rule becomes one entry in its slot's `rules` table: its match fields as
ternary value/mask or range (whatever kind the P4Info gives the field; don't-care
fields omitted, as P4Runtime requires), its priority from the slot plan, and the
action `count_group` with the rule id, the group-by masks, the flags, interval and
thresholds. A monitor port becomes one `monitor_ports` entry (exact ingress_port ->
send_to_monitor(port)). Byte strings are canonical (shortest), as p4runtime-shell
sends them.
"""

from __future__ import annotations

from dataclasses import dataclass

from p4.v1 import p4runtime_pb2
from p4runtime_sh.bytes_utils import to_canonical_bytes

from controlplane.capabilities import MONITOR_ACTION, MONITOR_TABLE, count_action
from controlplane.errors import CapabilityError
from controlplane.fields import (
    FIELDS,
    Match,
    as_range,
    as_ternary,
    is_dont_care,
    prefix_length,
)
from controlplane.model import MonitorPort, RuleSet, StatsRule
from controlplane.p4info import MatchFieldInfo, P4Schema
from controlplane.pipeline_spec import BALANCE_GROUPS_TABLE, BALANCE_WORKER_PORTS_TABLE
from controlplane.rules import slot_table
from controlplane.slots import SlotPlan


@dataclass(frozen=True)
class Desired:
    """An entry the switch should hold, and the rule it comes from (for messages)."""

    table: str
    entry: p4runtime_pb2.TableEntry
    origin: str


def encode(value: int, bitwidth: int) -> bytes:
    """`value` as a canonical P4Runtime byte string for a `bitwidth`-bit field."""
    if value < 0 or value >> bitwidth:
        raise ValueError(f"{value} does not fit {bitwidth} bits")
    return bytes(to_canonical_bytes(value.to_bytes(max(1, (bitwidth + 7) // 8), "big")))


def _field_match(
    mf: MatchFieldInfo, m: Match, rule: StatsRule, out: p4runtime_pb2.FieldMatch
) -> p4runtime_pb2.FieldMatch:
    """Fill `out` (already in the entry: no copy) with `m` in the kind `mf` has."""
    out.field_id = mf.id
    w = mf.bitwidth
    full = (1 << w) - 1
    t, r = as_ternary(m, w), as_range(m, w)
    fail = f"{rule.label}: {mf.name} {m} cannot be written as a {mf.kind} match"
    if mf.kind == "ternary":
        if t is None:
            raise CapabilityError([fail])
        out.ternary.value = encode(t.value, w)
        out.ternary.mask = encode(t.mask, w)
    elif mf.kind == "range":
        if r is None:
            raise CapabilityError([fail])
        out.range.low = encode(r.lo, w)
        out.range.high = encode(r.hi, w)
    elif mf.kind == "lpm":
        n = prefix_length(t.mask, w) if t else None
        if t is None or n is None:
            raise CapabilityError([fail])
        out.lpm.value = encode(t.value, w)
        out.lpm.prefix_len = n
    elif mf.kind in ("exact", "optional"):
        if t is None or t.mask != full:
            raise CapabilityError([fail])
        target = out.exact if mf.kind == "exact" else out.optional
        target.value = encode(t.value, w)
    else:
        raise CapabilityError(
            [f"{rule.label}: {mf.name} has a match kind the controller does not know"]
        )
    return out


def stats_entry(
    rule: StatsRule, slot: int, priority: int, schema: P4Schema
) -> p4runtime_pb2.TableEntry:
    """The entry for `rule` in `slot` at `priority`."""
    table = schema.table(slot_table(slot))
    action = schema.action(count_action(slot))
    entry = p4runtime_pb2.TableEntry(table_id=table.id, priority=priority)
    for name, m in rule.match:
        try:
            mf = table.field(name)
        except LookupError as e:
            raise CapabilityError([f"{rule.label}: {e}"]) from None
        if is_dont_care(m, mf.bitwidth):
            continue
        _field_match(mf, m, rule, entry.match.add())
    values = {
        "rule_id": rule.rule_id,
        "bidirectional": int(rule.bidirectional),
        "interval_us": rule.interval_us,
        "packet_threshold": rule.packet_threshold,
        "byte_threshold": rule.byte_threshold,
    }
    for spec in FIELDS.values():
        if spec.group_param:
            values[spec.group_param] = rule.group_mask(spec.name)
    entry.action.action.action_id = action.id
    for p in action.params:
        if p.name not in values:
            raise CapabilityError(
                [f"{action.name} has a parameter {p.name} the controller cannot fill"]
            )
        entry.action.action.params.add(param_id=p.id, value=encode(values[p.name], p.bitwidth))
    return entry


def monitor_entry(mp: MonitorPort, schema: P4Schema) -> p4runtime_pb2.TableEntry:
    """The monitor_ports entry sending `mp.ingress_port`'s traffic to `mp.monitor_port`."""
    table = schema.table(MONITOR_TABLE)
    action = schema.action(MONITOR_ACTION)
    key = table.field("ingress_port")
    port = action.param("port")
    entry = p4runtime_pb2.TableEntry(table_id=table.id)
    fm = entry.match.add(field_id=key.id)
    fm.exact.value = encode(mp.ingress_port, key.bitwidth)
    entry.action.action.action_id = action.id
    entry.action.action.params.add(param_id=port.id, value=encode(mp.monitor_port, port.bitwidth))
    return entry


def compile_rules(
    rules: RuleSet, plan: SlotPlan, schema: P4Schema, one_per_shape: bool = False
) -> list[Desired]:
    """Every entry the switch should hold for `rules` placed by `plan` (unplaced rules skipped).

    With `one_per_shape`, only the first rule of each slot and set of matched fields is
    compiled: enough to find every CapabilityError (they depend on the fields and match
    kinds, not on the values) without building thousands of messages."""
    out: list[Desired] = []
    shapes: set[tuple[object, ...]] = set()
    for rule in rules.stats:
        if rule.name not in plan.placed:
            continue
        slot, prio = plan.placed[rule.name]
        if one_per_shape:
            shape = (slot, tuple((n, type(m)) for n, m in rule.match))
            if shape in shapes:
                continue
            shapes.add(shape)
        out.append(Desired(slot_table(slot), stats_entry(rule, slot, prio, schema), rule.label))
    for mp in rules.monitor:
        out.append(
            Desired(MONITOR_TABLE, monitor_entry(mp, schema), f"monitor port {mp.ingress_port}")
        )
    from controlplane import prefilter_install  # (it builds on this module's Desired)

    return out + prefilter_install.desired(rules.prefilters, schema)


def managed_tables(schema: P4Schema, n_slots: int) -> list[str]:
    """The tables this controller owns (it deletes entries there it did not ask for)."""
    names = [slot_table(s) for s in range(n_slots)]
    if schema.has_table(MONITOR_TABLE):
        names.append(MONITOR_TABLE)
    # the balance stage's group and worker ports (its clusters are the `balance` command's)
    names += [t for t in (BALANCE_GROUPS_TABLE, BALANCE_WORKER_PORTS_TABLE) if schema.has_table(t)]
    from controlplane import prefilter_install

    return names + prefilter_install.managed(schema)
