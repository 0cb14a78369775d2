"""Pure conversions between P4Runtime protobuf entities and runtime objects.

Every function here either returns a value or raises `RuntimeStateError` with
the canonical code P4Runtime prescribes (mostly INVALID_ARGUMENT). Nothing
here touches the switch, locks or gRPC.

Byte strings (P4Runtime 1.4 section 8.3): an input may carry any number of
leading zero bytes; only its value must fit the P4Info bitwidth. Empty strings
and values that do not fit are OUT_OF_RANGE. Outputs are canonical (the
shortest string, at least one byte), so a value reads back canonically
whatever padding it was written with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from p4.config.v1 import p4info_pb2
from p4.v1 import p4data_pb2, p4runtime_pb2

from softswitch.runtime.digests import DigestBatch
from softswitch.runtime.errors import Code, RuntimeStateError
from softswitch.runtime.externs import MeterConfig
from softswitch.runtime.state import DeviceState, DigestInfo
from softswitch.runtime.tables import (
    ActionCall,
    Entry,
    ExactMatch,
    LpmMatch,
    Match,
    OptionalMatch,
    RangeMatch,
    Table,
    TernaryMatch,
    is_wildcard,
    wildcard,
)


def _invalid(msg: str) -> RuntimeStateError:
    return RuntimeStateError(Code.INVALID_ARGUMENT, msg)


# ---------------------------------------------------------------- bytestrings


def _out_of_range(msg: str) -> RuntimeStateError:
    return RuntimeStateError(Code.OUT_OF_RANGE, msg)


def bytes_to_int(b: bytes, width: int, what: str) -> int:
    """Decode a P4Runtime bytestring for a `bit<width>` value (any leading zero bytes)."""
    if not b:
        raise _out_of_range(f"{what}: empty bytestring")
    v = int.from_bytes(b, "big")
    if v >> width:
        raise _out_of_range(f"{what}: value {v:#x} does not fit in {width} bits")
    return v


def int_to_bytes(v: int) -> bytes:
    """Canonical bytestring: the fewest bytes holding `v`, at least one."""
    return v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")


# -------------------------------------------------------------------- matches


def matches_from_proto(table: Table, fms: Sequence[p4runtime_pb2.FieldMatch]) -> tuple[Match, ...]:
    """FieldMatch list -> one runtime Match per key field (omitted fields = don't care)."""
    by_id: dict[int, p4runtime_pb2.FieldMatch] = {}
    for fm in fms:
        if fm.field_id in by_id:
            raise _invalid(f"field id {fm.field_id} appears twice in the match")
        if fm.field_id not in table.key_ids:
            raise _invalid(f"table {table.name} has no match field with id {fm.field_id}")
        by_id[fm.field_id] = fm
    out: list[Match] = []
    for fid, kind, width, name in zip(
        table.key_ids, table.key_kinds, table.key_widths, table.key_names, strict=True
    ):
        fm = by_id.get(fid)
        if fm is None:
            if kind == "exact":
                raise _invalid(f"exact field {name} of {table.name} is missing")
            out.append(wildcard(kind, width))
            continue
        which = fm.WhichOneof("field_match_type")
        if which != kind:
            raise _invalid(f"field {name} of {table.name} is {kind}, got {which}")
        if kind == "exact":
            out.append(ExactMatch(bytes_to_int(fm.exact.value, width, name)))
        elif kind == "ternary":
            v = bytes_to_int(fm.ternary.value, width, name)
            m = bytes_to_int(fm.ternary.mask, width, name)
            if m == 0:
                raise _invalid(f"ternary field {name}: a don't-care match must be omitted")
            if v & ~m:
                raise _invalid(f"ternary field {name}: value has bits outside its mask")
            out.append(TernaryMatch(v, m))
        elif kind == "lpm":
            plen = fm.lpm.prefix_len
            if plen == 0:
                raise _invalid(f"lpm field {name}: a don't-care match (prefix 0) must be omitted")
            if not 0 < plen <= width:
                raise _invalid(f"lpm field {name}: prefix length {plen} out of range")
            v = bytes_to_int(fm.lpm.value, width, name)
            if v & ((1 << (width - plen)) - 1):
                raise _invalid(f"lpm field {name}: value has bits set beyond its prefix length")
            out.append(LpmMatch(v, plen))
        elif kind == "range":
            lo = bytes_to_int(fm.range.low, width, name)
            hi = bytes_to_int(fm.range.high, width, name)
            if lo > hi:
                raise _invalid(f"range field {name}: low > high")
            if lo == 0 and hi == (1 << width) - 1:
                raise _invalid(f"range field {name}: a don't-care match must be omitted")
            out.append(RangeMatch(lo, hi))
        else:  # optional
            out.append(OptionalMatch(bytes_to_int(fm.optional.value, width, name)))
    return tuple(out)


def matches_to_proto(table: Table, matches: Sequence[Match]) -> list[p4runtime_pb2.FieldMatch]:
    """Runtime matches -> FieldMatch list, don't-care fields omitted, canonical bytes."""
    out = []
    for fid, width, m in zip(table.key_ids, table.key_widths, matches, strict=True):
        if is_wildcard(m, width):
            continue
        fm = p4runtime_pb2.FieldMatch(field_id=fid)
        if isinstance(m, ExactMatch):
            fm.exact.value = int_to_bytes(m.value)
        elif isinstance(m, TernaryMatch):
            fm.ternary.value = int_to_bytes(m.value)
            fm.ternary.mask = int_to_bytes(m.mask)
        elif isinstance(m, LpmMatch):
            fm.lpm.value = int_to_bytes(m.value)
            fm.lpm.prefix_len = m.prefix_len
        elif isinstance(m, RangeMatch):
            fm.range.low = int_to_bytes(m.low)
            fm.range.high = int_to_bytes(m.high)
        else:
            assert m.value is not None
            fm.optional.value = int_to_bytes(m.value)
        out.append(fm)
    return out


# -------------------------------------------------------------------- actions


def action_from_proto(state: DeviceState, a: p4runtime_pb2.Action) -> ActionCall:
    """p4.v1.Action -> ActionCall, params checked against P4Info (ids, count, widths)."""
    info = state.actions.get(a.action_id)
    if info is None:
        raise _invalid(f"unknown action id {a.action_id}")
    values: dict[int, int] = {}
    for p in a.params:
        if p.param_id in values:
            raise _invalid(f"param id {p.param_id} of {info.name} given twice")
        try:
            i = info.param_ids.index(p.param_id)
        except ValueError:
            raise _invalid(f"action {info.name} has no param with id {p.param_id}") from None
        values[p.param_id] = bytes_to_int(
            p.value, info.param_widths[i], f"{info.name}.{info.param_names[i]}"
        )
    missing = [
        n for pid, n in zip(info.param_ids, info.param_names, strict=True) if pid not in values
    ]
    if missing:
        raise _invalid(f"action {info.name}: missing param(s) {', '.join(missing)}")
    return ActionCall(info.id, tuple(values[pid] for pid in info.param_ids))


def action_to_proto(state: DeviceState, call: ActionCall) -> p4runtime_pb2.Action:
    """ActionCall -> p4.v1.Action with canonical param bytes."""
    a = p4runtime_pb2.Action(action_id=call.action_id)
    info = state.actions.get(call.action_id)
    ids = info.param_ids if info else tuple(range(1, len(call.args) + 1))
    for pid, v in zip(ids, call.args, strict=True):
        a.params.add(param_id=pid, value=int_to_bytes(v))
    return a


def table_action_from_proto(state: DeviceState, ta: p4runtime_pb2.TableAction) -> ActionCall:
    """TableAction -> ActionCall; action profiles are not supported (UNIMPLEMENTED)."""
    which = ta.WhichOneof("type")
    if which == "action":
        return action_from_proto(state, ta.action)
    if which is None:
        raise _invalid("table entry has no action")
    raise RuntimeStateError(Code.UNIMPLEMENTED, f"{which} (action profiles) is not supported")


# ------------------------------------------------------------ meters/counters


def meter_config_from_proto(mc: p4runtime_pb2.MeterConfig) -> MeterConfig:
    """p4.v1.MeterConfig -> runtime MeterConfig (units/s, units)."""
    return MeterConfig(cir=mc.cir, cburst=mc.cburst, pir=mc.pir, pburst=mc.pburst)


def meter_config_to_proto(cfg: MeterConfig) -> p4runtime_pb2.MeterConfig:
    """Runtime MeterConfig -> p4.v1.MeterConfig."""
    return p4runtime_pb2.MeterConfig(cir=cfg.cir, cburst=cfg.cburst, pir=cfg.pir, pburst=cfg.pburst)


def counter_data(nbytes: int, npackets: int) -> p4runtime_pb2.CounterData:
    """Both counts, as BMv2 reports them whatever the counter's unit."""
    return p4runtime_pb2.CounterData(byte_count=nbytes, packet_count=npackets)


# --------------------------------------------------------------- table entries


def table_entry_to_proto(
    state: DeviceState,
    table: Table,
    entry: Entry,
    *,
    with_counter: bool = False,
    with_meter: bool = False,
) -> p4runtime_pb2.TableEntry:
    """An installed entry as Read returns it."""
    te = p4runtime_pb2.TableEntry(table_id=table.id, priority=entry.priority)
    te.match.extend(matches_to_proto(table, entry.matches))
    te.action.action.CopyFrom(action_to_proto(state, entry.action))
    te.controller_metadata = entry.controller_metadata
    te.metadata = entry.metadata
    te.idle_timeout_ns = entry.idle_timeout_ns
    if entry.is_const:
        te.is_const = True
    if with_counter and table.has_direct_counter:
        te.counter_data.CopyFrom(counter_data(entry.direct_bytes, entry.direct_packets))
    if with_meter and entry.meter is not None and entry.meter.config is not None:
        te.meter_config.CopyFrom(meter_config_to_proto(entry.meter.config))
    return te


def entry_key_proto(table: Table, entry: Entry) -> p4runtime_pb2.TableEntry:
    """Only the identifying part of an entry (table, match, priority)."""
    te = p4runtime_pb2.TableEntry(table_id=table.id, priority=entry.priority)
    te.match.extend(matches_to_proto(table, entry.matches))
    return te


def default_entry_to_proto(state: DeviceState, table: Table) -> p4runtime_pb2.TableEntry:
    """The default entry as Read returns it (is_default_action set)."""
    te = p4runtime_pb2.TableEntry(table_id=table.id, is_default_action=True)
    te.action.action.CopyFrom(action_to_proto(state, table.default_action))
    return te


# ------------------------------------------------------------------- P4Data


def bitstring(v: int) -> p4data_pb2.P4Data:
    """P4Data bitstring, canonical."""
    return p4data_pb2.P4Data(bitstring=int_to_bytes(v))


def p4data_to_int(d: p4data_pb2.P4Data, width: int, what: str) -> int:
    """Value of a P4Data bitstring (registers); other kinds are INVALID_ARGUMENT."""
    if d.WhichOneof("data") != "bitstring":
        raise _invalid(f"{what}: expected a bitstring")
    return bytes_to_int(d.bitstring, width, what)


def digest_list_to_proto(info: DigestInfo, batch: DigestBatch) -> p4runtime_pb2.DigestList:
    """A batch of samples as a DigestList of P4Data structs of bitstrings."""
    dl = p4runtime_pb2.DigestList(
        digest_id=batch.digest_id, list_id=batch.list_id, timestamp=batch.timestamp_ns
    )
    for sample in batch.samples:
        if info.is_struct:
            d = dl.data.add()
            for v in sample:
                d.struct.members.add(bitstring=int_to_bytes(v))
        else:
            dl.data.add(bitstring=int_to_bytes(sample[0]))
    return dl


# --------------------------------------------------- controller packet headers


@dataclass(frozen=True, slots=True)
class ControllerHeader:
    """Layout of a @controller_header header: fields in P4Info order, MSB first.

    p4c lays the header out field after field; a header whose width is not a
    whole number of bytes is padded with zero bits at the end.
    """

    name: str
    ids: tuple[int, ...]
    names: tuple[str, ...]
    widths: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        """Size of the header on the wire."""
        return (sum(self.widths) + 7) // 8

    @classmethod
    def from_p4info(cls, p4info: p4info_pb2.P4Info, name: str) -> ControllerHeader | None:
        """The header named `name` ("packet_in" / "packet_out"), or None if absent."""
        for cpm in p4info.controller_packet_metadata:
            if cpm.preamble.name == name:
                return cls(
                    name,
                    tuple(m.id for m in cpm.metadata),
                    tuple(m.name for m in cpm.metadata),
                    tuple(m.bitwidth for m in cpm.metadata),
                )
        return None

    def encode(self, metadata: Iterable[p4runtime_pb2.PacketMetadata]) -> bytes:
        """PacketMetadata (by id; missing = 0) -> header bytes."""
        values: dict[int, int] = {}
        for md in metadata:
            if md.metadata_id not in self.ids:
                raise _invalid(f"{self.name} has no metadata with id {md.metadata_id}")
            if md.metadata_id in values:
                raise _invalid(f"{self.name} metadata id {md.metadata_id} given twice")
            i = self.ids.index(md.metadata_id)
            values[md.metadata_id] = bytes_to_int(md.value, self.widths[i], self.names[i])
        acc = 0
        total = 0
        for fid, w in zip(self.ids, self.widths, strict=True):
            acc = (acc << w) | values.get(fid, 0)
            total += w
        pad = self.nbytes * 8 - total
        return (acc << pad).to_bytes(self.nbytes, "big")

    def decode(self, data: bytes) -> tuple[list[p4runtime_pb2.PacketMetadata], bytes]:
        """Header bytes at the front of `data` -> (metadata by id, payload)."""
        n = self.nbytes
        if len(data) < n:
            raise _invalid(f"packet shorter than the {self.name} header")
        acc = int.from_bytes(data[:n], "big")
        shift = n * 8
        out = []
        for fid, w in zip(self.ids, self.widths, strict=True):
            shift -= w
            v = (acc >> shift) & ((1 << w) - 1)
            out.append(p4runtime_pb2.PacketMetadata(metadata_id=fid, value=int_to_bytes(v)))
        return out, data[n:]
