"""The controller's side of the reassembly stage (docs/reassembly.md): what `install`
writes for the `reassembly:` section, the default action of
`NidsIngress.reassembly.config`, as an update against what the switch holds (a second
install writes nothing)."""

from __future__ import annotations

from typing import Any

from p4.v1 import p4runtime_pb2

from controlplane import pipeline_spec as ps
from controlplane.compile import encode
from controlplane.errors import CapabilityError
from controlplane.model import ReassemblyConfig, RuleSet
from controlplane.p4info import P4Schema

CONFIG_TABLE = ps.REASM_CONFIG_TABLE
OUTCOME_NAMES = tuple(o.name for o in ps.REASM_OUTCOMES)


def compiled_slots(schema: P4Schema) -> int | None:
    """Sessions the running pipeline has (its register size), None without the stage."""
    if not schema.has_table(CONFIG_TABLE):
        return None
    for r in schema.p4info.registers:
        if r.preamble.name == ps.REASM_SESSIONS:
            return int(r.size)
    return None


def effective_slots(cfg: ReassemblyConfig, schema: P4Schema, path: str) -> int:
    """The session-table size to configure; CapabilityError if the pipeline cannot do it."""
    have = compiled_slots(schema)
    if have is None:
        raise CapabilityError(
            [
                f"{cfg.where or path}: reassembly: the running pipeline has no reassembly "
                f"stage (no table {CONFIG_TABLE} with register {ps.REASM_SESSIONS})"
            ]
        )
    if cfg.slots is not None and cfg.slots > have:
        raise CapabilityError(
            [
                f"{cfg.slots_where or cfg.where or path}: reassembly.slots: {cfg.slots} "
                f"sessions asked for, the pipeline was compiled with {have} (rebuild with "
                f"-D REASSEMBLY_SLOTS={cfg.slots}, or ask for fewer)"
            ]
        )
    return cfg.slots if cfg.slots is not None else have


def config_entry(
    cfg: ReassemblyConfig | None, slots: int, schema: P4Schema
) -> p4runtime_pb2.TableEntry:
    """The default entry of the config table that sets the stage as `cfg` says."""
    e = p4runtime_pb2.TableEntry(table_id=schema.table(CONFIG_TABLE).id, is_default_action=True)
    if cfg is None or not cfg.enabled:
        e.action.action.action_id = schema.action(ps.REASM_DISABLE).id
        return e
    a = schema.action(ps.REASM_CONFIGURE)
    e.action.action.action_id = a.id
    values = (
        slots,
        cfg.idle_timeout_us,
        cfg.hold_segments_per_flow,
        cfg.hold_segments_total,
        cfg.gap_timeout_us,
    )
    for name, value in zip(ps.REASM_CONFIGURE_PARAMS, values, strict=True):
        p = a.param(name)
        e.action.action.params.add(param_id=p.id, value=encode(value, p.bitwidth))
    return e


def read_default(sw: Any, schema: P4Schema) -> p4runtime_pb2.TableEntry | None:
    """The config table's default entry as the switch holds it."""
    ent = p4runtime_pb2.Entity()
    ent.table_entry.table_id = schema.table(CONFIG_TABLE).id
    ent.table_entry.is_default_action = True
    for e in sw.read([ent]):
        if e.table_entry.is_default_action:
            return p4runtime_pb2.TableEntry.FromString(e.table_entry.SerializeToString())
    return None


def _params(e: p4runtime_pb2.TableEntry) -> tuple[int, list[tuple[int, int]]]:
    a = e.action.action
    return a.action_id, sorted((p.param_id, int.from_bytes(p.value, "big")) for p in a.params)


def plan_config(
    rules: RuleSet, schema: P4Schema, current: p4runtime_pb2.TableEntry | None, slots: int
) -> tuple[list[p4runtime_pb2.Update], list[str]]:
    """The update (none if the switch already has it) that sets the stage as `rules` says,
    with `slots` from `effective_slots`, and a line describing it. Without a
    `reassembly:` section the stage is disabled."""
    cfg = rules.reassembly
    want = config_entry(cfg, slots, schema)
    if current is not None and _params(current) == _params(want):
        return [], []
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
    u.entity.table_entry.CopyFrom(want)
    if cfg is not None and cfg.enabled:
        line = (
            f"  reassembly: enabled, {slots} sessions, idle timeout "
            f"{cfg.idle_timeout_us / 1e6:g}s, {_holding(cfg)}"
        )
    else:
        line = "  reassembly: disabled"
    return [u], [line]


def _holding(cfg: ReassemblyConfig) -> str:
    if not cfg.hold_segments_per_flow or not cfg.hold_segments_total:
        return "nothing held (a gap hands the connection to software)"
    return (
        f"holding {cfg.hold_segments_per_flow} segments per connection, "
        f"{cfg.hold_segments_total} in all, gap timeout {cfg.gap_timeout_us / 1e3:g}ms"
    )
