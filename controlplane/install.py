"""Diff the entries the switch holds against the ones it should hold, and apply the diff.

Entries are identified as P4Runtime identifies them: table + match + priority. An
entry with the same identity but another action or parameters is a MODIFY (its
direct counters survive); the rest are INSERTs and DELETEs. Byte strings are
compared as numbers, so a server that answers with full-width bytes matches our
canonical ones.

The diff goes out as ONE Write. BMv2 (and softswitch) only do CONTINUE_ON_ERROR, so
a refused update can leave the others applied: then the tables are read again and
the difference to the snapshot taken before the Write (with direct counters) is
undone, also in one Write: entries the batch deleted go back with their counter
values (`counter_data` on the INSERT). The tables are read once more, and
`InstallFailed` carries the refused updates with the switch's per-update errors and
says exactly what, if anything, is not as it was (an entry, a counter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from p4.v1 import p4runtime_pb2

from controlplane.compile import Desired
from controlplane.errors import ControllerError, UpdateError, WriteFailed

ChangeKind = Literal["delete", "modify", "insert"]
_UPDATE_TYPE = {
    "insert": p4runtime_pb2.Update.INSERT,
    "modify": p4runtime_pb2.Update.MODIFY,
    "delete": p4runtime_pb2.Update.DELETE,
}


class TableSwitch(Protocol):
    """What install needs from a switch connection (p4rt.P4RuntimeSwitch, or a fake)."""

    def read_table(
        self, table_id: int, with_counters: bool = False
    ) -> list[p4runtime_pb2.TableEntry]:
        """All non-default entries of a table."""
        ...

    def write(self, updates: Sequence[p4runtime_pb2.Update]) -> None:
        """One Write; raises WriteFailed."""
        ...


class InstallFailed(ControllerError):
    """The Write was refused (partly) and undone; `errors` name the refused changes."""

    exit_status = 4


@dataclass(frozen=True)
class Change:
    """One update of the diff; `old` is the entry it replaces (modify, delete)."""

    kind: ChangeKind
    table: str
    entry: p4runtime_pb2.TableEntry
    origin: str
    old: p4runtime_pb2.TableEntry | None = None

    def update(self) -> p4runtime_pb2.Update:
        """The P4Runtime update."""
        u = p4runtime_pb2.Update(type=_UPDATE_TYPE[self.kind])
        u.entity.table_entry.CopyFrom(self.entry)
        return u

    def describe(self) -> str:
        """`insert stats[3] 'ddos-syn' into NidsIngress.stats.slot3.rules`."""
        prep = {"insert": "into", "modify": "in", "delete": "from"}[self.kind]
        return f"{self.kind} {self.origin} {prep} {self.table}"


def _num(b: bytes) -> int:
    return int.from_bytes(b, "big")


def match_key(e: p4runtime_pb2.TableEntry) -> tuple[object, ...]:
    """Identity of an entry: table, priority and its match fields (as numbers)."""
    fields: list[tuple[Any, ...]] = []
    for m in e.match:
        kind = m.WhichOneof("field_match_type")
        if kind == "exact":
            fields.append((m.field_id, kind, _num(m.exact.value)))
        elif kind == "ternary":
            fields.append((m.field_id, kind, _num(m.ternary.value), _num(m.ternary.mask)))
        elif kind == "lpm":
            fields.append((m.field_id, kind, _num(m.lpm.value), m.lpm.prefix_len))
        elif kind == "range":
            fields.append((m.field_id, kind, _num(m.range.low), _num(m.range.high)))
        elif kind == "optional":
            fields.append((m.field_id, kind, _num(m.optional.value)))
        else:
            fields.append((m.field_id, str(kind), m.SerializeToString(deterministic=True)))
    return (e.table_id, e.priority, tuple(sorted(fields, key=lambda f: f[0])))


def action_key(e: p4runtime_pb2.TableEntry) -> tuple[object, ...]:
    """What an entry does: action id and parameters (as numbers)."""
    if e.action.WhichOneof("type") == "action":
        a = e.action.action
        return (a.action_id, tuple(sorted((p.param_id, _num(p.value)) for p in a.params)))
    return ("other", e.action.SerializeToString(deterministic=True))


def _clean(e: p4runtime_pb2.TableEntry) -> p4runtime_pb2.TableEntry:
    """A read entry without its counter/meter data, fit to write back."""
    out = p4runtime_pb2.TableEntry()
    out.CopyFrom(e)
    for f in ("counter_data", "meter_counter_data", "time_since_last_hit"):
        out.ClearField(f)
    return out


def diff(
    desired: Iterable[Desired],
    current: Mapping[str, Sequence[p4runtime_pb2.TableEntry]],
    origins: Mapping[tuple[object, ...], str] | None = None,
) -> list[Change]:
    """Changes turning `current` (per table) into `desired`: deletes, modifies, inserts."""
    have: dict[tuple[object, ...], tuple[str, p4runtime_pb2.TableEntry]] = {}
    for table, entries in current.items():
        for e in entries:
            have[match_key(e)] = (table, e)
    deletes: list[Change] = []
    modifies: list[Change] = []
    inserts: list[Change] = []
    wanted: set[tuple[object, ...]] = set()
    for d in desired:
        key = match_key(d.entry)
        wanted.add(key)
        if key not in have:
            inserts.append(Change("insert", d.table, d.entry, d.origin))
        elif action_key(have[key][1]) != action_key(d.entry):
            modifies.append(Change("modify", d.table, d.entry, d.origin, _clean(have[key][1])))
    for key, (table, e) in have.items():
        if key not in wanted:
            origin = (origins or {}).get(key, "an entry this file does not have")
            deletes.append(Change("delete", table, _clean(e), origin, _clean(e)))
    return deletes + modifies + inserts


def summary(changes: Sequence[Change]) -> dict[str, Counter[str]]:
    """Per table: how many added, modified, deleted."""
    out: dict[str, Counter[str]] = {}
    names = {"insert": "added", "modify": "modified", "delete": "deleted"}
    for c in changes:
        out.setdefault(c.table, Counter())[names[c.kind]] += 1
    return out


def snapshot(
    switch: TableSwitch, tables: Mapping[str, int], with_counters: bool = False
) -> dict[str, list[p4runtime_pb2.TableEntry]]:
    """The current entries of `tables` (name -> id), with their direct counters if asked
    (what `apply` needs to put deleted entries back with their counts)."""
    return {name: switch.read_table(tid, with_counters) for name, tid in tables.items()}


def apply(
    switch: TableSwitch,
    changes: Sequence[Change],
    before: Mapping[str, Sequence[p4runtime_pb2.TableEntry]],
    tables: Mapping[str, int],
) -> None:
    """Write `changes` in one batch; on refusal undo what went through and raise InstallFailed.

    `before` is the snapshot the changes were computed from; `tables` name -> id of
    every table the changes touch.
    """
    try:
        switch.write([c.update() for c in changes])
    except WriteFailed as e:
        lines = [f"the switch refused {len(e.errors)} of {len(changes)} updates:"]
        for err in e.errors:
            what = changes[err.index].describe() if 0 <= err.index < len(changes) else "the batch"
            lines.append(
                f"  update {err.index} ({what}): {err.code}: {err.message or '(no message)'}"
            )
        lines += undo(switch, before, tables, origin_names(changes)).report()
        raise InstallFailed("\n".join(lines)) from None


def origin_names(changes: Sequence[Change]) -> dict[tuple[object, ...], str]:
    """Entry identity -> how the changes name it (for undo messages)."""
    return {match_key(c.entry): c.origin for c in changes}


def _counts(e: p4runtime_pb2.TableEntry) -> tuple[int, int]:
    return e.counter_data.packet_count, e.counter_data.byte_count


@dataclass
class UndoResult:
    """What `undo` did: updates written, counters restored, and anything it could not."""

    updates: int = 0
    reinserted: int = 0
    failed: WriteFailed | None = None
    lost_counters: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)

    def report(self) -> list[str]:
        """Lines for the user, saying exactly what is (not) as it was."""
        if self.updates == 0 and self.failed is None:
            return ["nothing had been applied; the switch is unchanged"]
        out: list[str] = []
        if self.failed is not None:
            out.append("undoing the updates that went through FAILED too:")
            out += [f"  undo update {u.index}: {u.code}: {u.message}" for u in self.failed.errors]
        if self.differs:
            out.append("the switch is NOT as it was; these entries differ from before the Write:")
            out += [f"  {d}" for d in self.differs]
        else:
            out.append(
                f"undid the {self.updates} updates that had gone through; the switch holds "
                "exactly the entries it held before"
            )
        if self.lost_counters:
            out.append("these direct counters could not be restored:")
            out += [f"  {c}" for c in self.lost_counters]
        elif self.reinserted:
            out.append(
                f"the {self.reinserted} re-inserted entries have their direct counters back "
                "(values read just before the Write)"
            )
        return out


def undo(
    switch: TableSwitch,
    before: Mapping[str, Sequence[p4runtime_pb2.TableEntry]],
    tables: Mapping[str, int],
    names: Mapping[tuple[object, ...], str] | None = None,
) -> UndoResult:
    """Put the tables back to `before` (a snapshot with counters) in one Write.

    Entries the refused batch deleted are re-inserted with their `counter_data`, which
    P4Runtime lets an INSERT carry (BMv2 and softswitch honour it); a switch that
    refuses that gets the entry without counts, and the result names each counter
    that was lost. The tables are read back to check the result.
    """
    names = names or {}
    result = UndoResult()
    after = snapshot(switch, tables)
    back = [Desired(t, e, "the entry as it was") for t, es in before.items() for e in es]
    changes = [
        c if c.kind == "insert" else replace(c, entry=_clean(c.entry))
        for c in diff(back, after, names)
    ]
    if not changes:
        return result
    result.updates = len(changes)
    inserted = [c for c in changes if c.kind == "insert"]
    try:
        switch.write([c.update() for c in changes])
    except WriteFailed as e:
        # A switch that does not take counter_data on INSERT: those entries again, bare.
        retry = [
            changes[u.index]
            for u in e.errors
            if 0 <= u.index < len(changes)
            and changes[u.index].kind == "insert"
            and changes[u.index].entry.HasField("counter_data")
            and u.code in ("INVALID_ARGUMENT", "UNIMPLEMENTED", "OUT_OF_RANGE")
        ]
        others = [
            u
            for u in e.errors
            if not (0 <= u.index < len(changes)) or changes[u.index] not in retry
        ]
        if others:
            result.failed = WriteFailed(str(e), others)
        if retry:
            try:
                switch.write([replace(c, entry=_clean(c.entry)).update() for c in retry])
            except WriteFailed as e2:
                result.failed = WriteFailed(
                    str(e2), (result.failed.errors if result.failed else []) + e2.errors
                )
    final = snapshot(switch, tables, with_counters=True)
    now = {match_key(x): x for es in final.values() for x in es}
    was = {match_key(x): x for es in before.values() for x in es}
    for key in sorted(set(now) | set(was), key=repr):
        a, b = was.get(key), now.get(key)
        if a is None or b is None or action_key(a) != action_key(b):
            what = names.get(key, "an entry")
            state = "missing" if b is None else "extra" if a is None else "other action"
            result.differs.append(f"{what}: {state}")
    for c in inserted:
        key = match_key(c.entry)
        if key not in now:
            continue
        result.reinserted += 1
        want, got = _counts(c.entry), _counts(now[key])
        if got[0] < want[0] or got[1] < want[1]:
            result.lost_counters.append(
                f"{names.get(key, c.table + ' entry')}: had {want[0]} packets, {want[1]} bytes; "
                f"now {got[0]} packets, {got[1]} bytes"
            )
    return result


def format_errors(errors: Sequence[UpdateError]) -> str:
    """One line per refused update."""
    return "\n".join(f"  update {u.index}: {u.code}: {u.message}" for u in errors)
