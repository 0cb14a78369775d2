"""Diff the entries the switch holds against the ones it should hold, and apply the diff.

Entries are identified as P4Runtime identifies them: table + match + priority. An
entry with the same identity but another action or parameters is a MODIFY (its
direct counters survive); the rest are INSERTs and DELETEs. Byte strings are
compared as numbers, so a server that answers with full-width bytes matches our
canonical ones.

The diff goes out as ONE Write. BMv2 (and softswitch) only do CONTINUE_ON_ERROR, so
a refused update can leave the others applied: then the tables are read again and
the difference to the snapshot taken before the Write is undone, also in one Write,
so the switch is left as it was, and `InstallFailed` carries the refused updates
with the switch's per-update errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
    switch: TableSwitch, tables: Mapping[str, int]
) -> dict[str, list[p4runtime_pb2.TableEntry]]:
    """The current entries of `tables` (name -> id)."""
    return {name: switch.read_table(tid) for name, tid in tables.items()}


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
        undo = _undo(switch, before, tables)
        if undo is None:
            lines.append("nothing had been applied; the switch is unchanged")
        elif isinstance(undo, WriteFailed):
            lines.append(
                "undoing the updates that went through FAILED too; the switch is half-installed:"
            )
            lines += [f"  undo update {u.index}: {u.code}: {u.message}" for u in undo.errors]
        else:
            lines.append(f"undid the {undo} updates that had gone through; the switch is as it was")
        raise InstallFailed("\n".join(lines)) from None


def _undo(
    switch: TableSwitch,
    before: Mapping[str, Sequence[p4runtime_pb2.TableEntry]],
    tables: Mapping[str, int],
) -> int | WriteFailed | None:
    """Put the tables back to `before`: number of undo updates, None if none were needed."""
    after = snapshot(switch, tables)
    back = [Desired(t, _clean(e), "the entry as it was") for t, es in before.items() for e in es]
    changes = diff(back, after)
    if not changes:
        return None
    try:
        switch.write([c.update() for c in changes])
    except WriteFailed as e:
        return e
    return len(changes)


def format_errors(errors: Sequence[UpdateError]) -> str:
    """One line per refused update."""
    return "\n".join(f"  update {u.index}: {u.code}: {u.message}" for u in errors)
