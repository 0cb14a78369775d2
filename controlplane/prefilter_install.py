"""What `install` writes for the `prefilters:` section (docs/prefilter.md): the pattern
table's ternary entries and the negative-matching exceptions, in the same diffed, batched
Write as the stats and monitor entries (`compile.compile_rules`, `compile.managed_tables`),
and the config table's default action, as an update against what the switch holds."""

from __future__ import annotations

from typing import Any

from p4.v1 import p4runtime_pb2

from controlplane import pipeline_spec as ps
from controlplane.compile import Desired, encode
from controlplane.install import action_key
from controlplane.p4info import P4Schema
from controlplane.prefilter import PrefilterConfig, all_entries, compile_section


def _ternary(
    e: p4runtime_pb2.TableEntry, schema: P4Schema, table: str, name: str, value: int, mask: int
) -> None:
    mf = schema.table(table).field(name)
    full = (1 << mf.bitwidth) - 1
    if mask & full == 0:
        return  # don't care: omitted, as P4Runtime requires
    fm = e.match.add(field_id=mf.id)
    fm.ternary.value = encode(value & mask & full, mf.bitwidth)
    fm.ternary.mask = encode(mask & full, mf.bitwidth)


def desired(cfg: PrefilterConfig | None, schema: P4Schema) -> list[Desired]:
    """The pattern and exception entries the switch should hold for `cfg`."""
    if cfg is None or not cfg.enabled or not schema.has_table(ps.PF_PATTERNS_TABLE):
        return []
    out: list[Desired] = []
    table = ps.PF_PATTERNS_TABLE
    compiled = compile_section(cfg.rules)
    entries = compiled.entries
    action = schema.action(ps.PF_MATCHED)
    for i, en in enumerate(entries):
        e = p4runtime_pb2.TableEntry(table_id=schema.table(table).id, priority=len(entries) - i)
        _ternary(e, schema, table, "l4_protocol", en.protocol, 0xFF)
        if en.direction is not None:
            _ternary(e, schema, table, "direction", en.direction, 0xFF)
        mf = schema.table(table).field("length")
        fm = e.match.add(field_id=mf.id)
        fm.range.low = encode(en.length, mf.bitwidth)
        fm.range.high = encode((1 << mf.bitwidth) - 1, mf.bitwidth)
        _ternary(e, schema, table, "data", en.value, en.mask)
        if en.src_port is not None:
            _ternary(e, schema, table, "src_port", en.src_port, 0xFFFF)
        if en.dst_port is not None:
            _ternary(e, schema, table, "dst_port", en.dst_port, 0xFFFF)
        e.action.action.action_id = action.id
        values = (en.protocol_id, en.pattern_id, en.class_id)
        for name, v in zip(ps.PF_MATCHED_PARAMS, values, strict=True):
            p = action.param(name)
            e.action.action.params.add(param_id=p.id, value=encode(v, p.bitwidth))
        out.append(Desired(table, e, en.label))
    if schema.has_table(ps.PF_PAIRS_TABLE):
        table = ps.PF_PAIRS_TABLE
        decide = schema.action(ps.PF_DECIDE)
        names = cfg.services()
        for (oc, rc), pid in compiled.pairs.items():
            e = p4runtime_pb2.TableEntry(table_id=schema.table(table).id)
            for name, v in zip(ps.PF_PAIRS_KEY, (oc, rc), strict=True):
                mf = schema.table(table).field(name)
                e.match.add(field_id=mf.id).exact.value = encode(v, mf.bitwidth)
            e.action.action.action_id = decide.id
            p = decide.param(ps.PF_DECIDE_PARAMS[0])
            e.action.action.params.add(param_id=p.id, value=encode(pid, p.bitwidth))
            out.append(Desired(table, e, f"prefilter '{names[pid]}' pair {oc}/{rc}"))
    if cfg.negative_bytes and schema.has_table(ps.PF_EXCEPTIONS_TABLE):
        table = ps.PF_EXCEPTIONS_TABLE
        keep = schema.action(ps.PF_KEEP)
        for i, ex in enumerate(cfg.exceptions):
            e = p4runtime_pb2.TableEntry(
                table_id=schema.table(table).id, priority=len(cfg.exceptions) - i
            )
            _ternary(e, schema, table, "orig_addr", *ex.orig)
            _ternary(e, schema, table, "resp_addr", *ex.resp)
            _ternary(e, schema, table, "resp_port", *ex.port)
            e.action.action.action_id = keep.id
            out.append(Desired(table, e, f"prefilter exception {ex.text}"))
    return out


def managed(schema: P4Schema) -> list[str]:
    """The prefilter tables install owns (present in the running pipeline)."""
    names = (ps.PF_PATTERNS_TABLE, ps.PF_PAIRS_TABLE, ps.PF_EXCEPTIONS_TABLE)
    return [t for t in names if schema.has_table(t)]


def config_update(
    cfg: PrefilterConfig | None, schema: P4Schema, current: p4runtime_pb2.TableEntry | None
) -> tuple[list[p4runtime_pb2.Update], list[str]]:
    """The config table's default entry as `cfg` says (nothing if the switch has it)."""
    if not schema.has_table(ps.PF_CONFIG_TABLE):
        return [], []
    e = p4runtime_pb2.TableEntry(
        table_id=schema.table(ps.PF_CONFIG_TABLE).id, is_default_action=True
    )
    if cfg is None or not cfg.enabled:
        e.action.action.action_id = schema.action(ps.PF_DISABLE).id
        line = "  prefilters: disabled"
    else:
        a = schema.action(ps.PF_CONFIGURE)
        e.action.action.action_id = a.id
        p = a.param(ps.PF_CONFIGURE_PARAMS[0])
        e.action.action.params.add(param_id=p.id, value=encode(cfg.negative_bytes, p.bitwidth))
        neg = (
            f"negative matching after {cfg.negative_bytes} bytes, "
            f"{len(cfg.exceptions)} exception entries"
            if cfg.negative_bytes
            else "negative matching off"
        )
        services = len(cfg.services())
        line = f"  prefilters: {services} services, {len(all_entries(cfg))} entries, {neg}"
    if current is not None and action_key(current) == action_key(e):
        return [], []
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
    u.entity.table_entry.CopyFrom(e)
    return [u], [line]


def read_default(sw: Any, schema: P4Schema) -> p4runtime_pb2.TableEntry | None:
    """The config table's default entry as the switch holds it (None without the stage)."""
    if not schema.has_table(ps.PF_CONFIG_TABLE):
        return None
    entry: p4runtime_pb2.TableEntry | None = sw.read_default(schema.table(ps.PF_CONFIG_TABLE).id)
    return entry
