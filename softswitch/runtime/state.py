"""DeviceState: every piece of run-time data-plane state, built from a P4Info alone.

The code generator binds packet processing to these objects; the P4Runtime
server reads and writes them. Everything is keyed by P4Info fully-qualified
name and by P4Info id.
"""

from __future__ import annotations

from dataclasses import dataclass

from p4.config.v1 import p4info_pb2, p4types_pb2

from softswitch.runtime.digests import DigestQueue
from softswitch.runtime.externs import Counter, DirectCounter, DirectMeter, Meter, Register
from softswitch.runtime.pre import PacketReplicationEngine
from softswitch.runtime.tables import ActionCall, ActionSpec, Table

_MATCH_KIND = {
    p4info_pb2.MatchField.EXACT: "exact",
    p4info_pb2.MatchField.TERNARY: "ternary",
    p4info_pb2.MatchField.LPM: "lpm",
    p4info_pb2.MatchField.RANGE: "range",
    p4info_pb2.MatchField.OPTIONAL: "optional",
}
_COUNTER_UNIT = {
    p4info_pb2.CounterSpec.BYTES: "BYTES",
    p4info_pb2.CounterSpec.PACKETS: "PACKETS",
    p4info_pb2.CounterSpec.BOTH: "BOTH",
    p4info_pb2.CounterSpec.UNSPECIFIED: "BOTH",
}
_METER_UNIT = {
    p4info_pb2.MeterSpec.BYTES: "BYTES",
    p4info_pb2.MeterSpec.PACKETS: "PACKETS",
    p4info_pb2.MeterSpec.UNSPECIFIED: "BYTES",
}
_SCOPE = {
    p4info_pb2.ActionRef.TABLE_AND_DEFAULT: "TABLE_AND_DEFAULT",
    p4info_pb2.ActionRef.TABLE_ONLY: "TABLE_ONLY",
    p4info_pb2.ActionRef.DEFAULT_ONLY: "DEFAULT_ONLY",
}


class UnsupportedP4Info(ValueError):
    """The P4Info uses something the runtime cannot represent."""


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """An action from P4Info: id, name and parameters in P4Info order."""

    id: int
    name: str
    param_ids: tuple[int, ...]
    param_names: tuple[str, ...]
    param_widths: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DigestInfo:
    """A digest from P4Info: its fields (name, bitwidth) in struct order.

    `is_struct` is False when the digest type is a plain bit<W> (one field).
    """

    id: int
    name: str
    field_names: tuple[str, ...]
    field_widths: tuple[int, ...]
    is_struct: bool = True


def _bitwidth(spec: p4types_pb2.P4DataTypeSpec, p4info: p4info_pb2.P4Info, what: str) -> int:
    kind = spec.WhichOneof("type_spec")
    if kind == "bitstring":
        bs = spec.bitstring
        which = bs.WhichOneof("type_spec")
        if which == "bit":
            return int(bs.bit.bitwidth)
        if which == "int":
            return int(bs.int.bitwidth)
        if which == "varbit":
            return int(bs.varbit.max_bitwidth)
    if kind == "bool":
        return 1
    if kind == "serializable_enum":
        e = p4info.type_info.serializable_enums.get(spec.serializable_enum.name)
        if e is not None:
            return int(e.underlying_type.bitwidth)
    raise UnsupportedP4Info(f"{what}: type {kind} is not supported")


def _digest_fields(
    spec: p4types_pb2.P4DataTypeSpec, p4info: p4info_pb2.P4Info, what: str
) -> tuple[tuple[str, ...], tuple[int, ...], bool]:
    kind = spec.WhichOneof("type_spec")
    if kind in ("struct", "header"):
        name = spec.struct.name if kind == "struct" else spec.header.name
        if kind == "struct":
            st = p4info.type_info.structs.get(name)
            if st is None:
                raise UnsupportedP4Info(f"{what}: struct {name} missing from type_info")
            names = tuple(m.name for m in st.members)
            widths = tuple(_bitwidth(m.type_spec, p4info, f"{what}.{m.name}") for m in st.members)
        else:
            h = p4info.type_info.headers.get(name)
            if h is None:
                raise UnsupportedP4Info(f"{what}: header {name} missing from type_info")
            names = tuple(m.name for m in h.members)
            widths = tuple(m.type_spec.bitwidth for m in h.members)
        return names, widths, True
    return ("value",), (_bitwidth(spec, p4info, what),), False


class DeviceState:
    """Tables, externs, PRE and digests of one device, built from its P4Info."""

    def __init__(self, p4info: p4info_pb2.P4Info, cpu_port: int | None = None) -> None:
        self.p4info = p4info
        self.cpu_port = cpu_port
        self.actions: dict[int, ActionInfo] = {}
        self.action_ids: dict[str, int] = {}
        for a in p4info.actions:
            info = ActionInfo(
                id=a.preamble.id,
                name=a.preamble.name,
                param_ids=tuple(p.id for p in a.params),
                param_names=tuple(p.name for p in a.params),
                param_widths=tuple(p.bitwidth for p in a.params),
            )
            self.actions[info.id] = info
            self.action_ids[info.name] = info.id

        self.counters: dict[str, Counter] = {}
        self.counters_by_id: dict[int, Counter] = {}
        for c in p4info.counters:
            ctr = Counter(c.preamble.name, c.preamble.id, c.size, _COUNTER_UNIT[c.spec.unit])
            self.counters[ctr.name] = ctr
            self.counters_by_id[ctr.id] = ctr
        self.direct_counters: dict[str, DirectCounter] = {}
        self.direct_counters_by_id: dict[int, DirectCounter] = {}
        for dc in p4info.direct_counters:
            d = DirectCounter(
                dc.preamble.name, dc.preamble.id, _COUNTER_UNIT[dc.spec.unit], dc.direct_table_id
            )
            self.direct_counters[d.name] = d
            self.direct_counters_by_id[d.id] = d
        self.meters: dict[str, Meter] = {}
        self.meters_by_id: dict[int, Meter] = {}
        for m in p4info.meters:
            mtr = Meter(m.preamble.name, m.preamble.id, m.size, _METER_UNIT[m.spec.unit])
            self.meters[mtr.name] = mtr
            self.meters_by_id[mtr.id] = mtr
        self.direct_meters: dict[str, DirectMeter] = {}
        self.direct_meters_by_id: dict[int, DirectMeter] = {}
        for dm in p4info.direct_meters:
            d2 = DirectMeter(
                dm.preamble.name, dm.preamble.id, _METER_UNIT[dm.spec.unit], dm.direct_table_id
            )
            self.direct_meters[d2.name] = d2
            self.direct_meters_by_id[d2.id] = d2
        self.registers: dict[str, Register] = {}
        self.registers_by_id: dict[int, Register] = {}
        for r in p4info.registers:
            reg = Register(
                r.preamble.name,
                r.preamble.id,
                r.size,
                _bitwidth(r.type_spec, p4info, f"register {r.preamble.name}"),
            )
            self.registers[reg.name] = reg
            self.registers_by_id[reg.id] = reg

        self.tables: dict[str, Table] = {}
        self.tables_by_id: dict[int, Table] = {}
        for t in p4info.tables:
            table = self._build_table(t)
            self.tables[table.name] = table
            self.tables_by_id[table.id] = table

        self.digest_infos: dict[int, DigestInfo] = {}
        self.digest_ids: dict[str, int] = {}
        for dg in p4info.digests:
            names, widths, is_struct = _digest_fields(
                dg.type_spec, p4info, f"digest {dg.preamble.name}"
            )
            self.digest_infos[dg.preamble.id] = DigestInfo(
                dg.preamble.id, dg.preamble.name, names, widths, is_struct
            )
            self.digest_ids[dg.preamble.name] = dg.preamble.id

        self.pre = PacketReplicationEngine()
        self.digests = DigestQueue()

    def _build_table(self, t: p4info_pb2.Table) -> Table:
        name = t.preamble.name
        kinds = []
        for mf in t.match_fields:
            kind = _MATCH_KIND.get(mf.match_type)
            if kind is None:
                raise UnsupportedP4Info(
                    f"table {name}: match type of field {mf.name} is not supported"
                )
            kinds.append(kind)
        specs = []
        for ref in t.action_refs:
            a = self.actions.get(ref.id)
            if a is None:
                raise UnsupportedP4Info(f"table {name}: unknown action id {ref.id}")
            specs.append(ActionSpec(a.id, a.name, a.param_widths, _SCOPE[ref.scope]))
        has_dc = False
        meter_unit = None
        for rid in t.direct_resource_ids:
            if rid in self.direct_counters_by_id:
                has_dc = True
            elif rid in self.direct_meters_by_id:
                meter_unit = self.direct_meters_by_id[rid].unit
        return Table(
            name=name,
            id=t.preamble.id,
            size=t.size,
            key_kinds=kinds,
            key_widths=[mf.bitwidth for mf in t.match_fields],
            actions=specs,
            default_action=self._initial_default(t, specs),
            key_names=[mf.name for mf in t.match_fields],
            key_ids=[mf.id for mf in t.match_fields],
            const_default_action=t.const_default_action_id != 0,
            is_const=t.is_const_table,
            has_direct_counter=has_dc,
            direct_meter_unit=meter_unit,
            supports_idle_timeout=t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL,
        )

    def _initial_default(self, t: p4info_pb2.Table, specs: list[ActionSpec]) -> ActionCall:
        """Default action as far as P4Info tells; the code generator sets the real one.

        P4Info carries the default action's arguments only in
        `initial_default_action` (newer p4c); otherwise we take the const
        default action, else NoAction, else the first parameterless action.
        """
        if t.HasField("initial_default_action"):
            ida = t.initial_default_action
            a = self.actions.get(ida.action_id)
            if a is not None:
                byid = {arg.param_id: int.from_bytes(arg.value, "big") for arg in ida.arguments}
                return ActionCall(a.id, tuple(byid.get(p, 0) for p in a.param_ids))
        if t.const_default_action_id in self.actions:
            a = self.actions[t.const_default_action_id]
            return ActionCall(a.id, (0,) * len(a.param_ids))
        for s in specs:
            if s.name == "NoAction":
                return ActionCall(s.id, ())
        for s in specs:
            if not s.param_widths and s.scope != "TABLE_ONLY":
                return ActionCall(s.id, ())
        if specs:
            return ActionCall(specs[0].id, (0,) * len(specs[0].param_widths))
        return ActionCall(0, ())

    def reset(self) -> None:
        """Clear all P4Runtime-written state (entries, counters, meters, PRE, digests)."""
        for t in self.tables.values():
            t.clear()
            t.default_action = t.initial_default_action
        for c in self.counters.values():
            c.reset()
        for m in self.meters.values():
            m.reset()
        for r in self.registers.values():
            r.reset()
        # in place: the generated pipeline holds references to these objects
        self.pre.groups.clear()
        self.pre.sessions.clear()
        self.digests.clear()
