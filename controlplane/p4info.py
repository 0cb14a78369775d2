"""A typed, read-only index over a P4Info message.

Lookups raise `LookupError("no table named 'x' (did you mean 'y'?)")` instead of
returning None (finsy's manner), and accept p4c's aliases (shortest unique suffix)
as p4runtime-shell does.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

MATCH_KINDS = {
    p4info_pb2.MatchField.EXACT: "exact",
    p4info_pb2.MatchField.LPM: "lpm",
    p4info_pb2.MatchField.TERNARY: "ternary",
    p4info_pb2.MatchField.RANGE: "range",
    p4info_pb2.MatchField.OPTIONAL: "optional",
}


@dataclass(frozen=True)
class MatchFieldInfo:
    """One key field of a table."""

    id: int
    name: str
    bitwidth: int
    kind: str  # exact | lpm | ternary | range | optional | other


@dataclass(frozen=True)
class ParamInfo:
    """One action parameter."""

    id: int
    name: str
    bitwidth: int


@dataclass(frozen=True)
class ActionInfo:
    """An action and its parameters in P4Info order."""

    id: int
    name: str
    params: tuple[ParamInfo, ...]

    def param(self, name: str) -> ParamInfo:
        """The parameter called `name`."""
        for p in self.params:
            if p.name == name:
                return p
        raise LookupError(_missing("parameter", name, [p.name for p in self.params], self.name))


@dataclass(frozen=True)
class TableInfo:
    """A table: key fields, allowed actions (ids), size and its direct counter id (0 if none)."""

    id: int
    name: str
    alias: str
    fields: tuple[MatchFieldInfo, ...]
    action_ids: tuple[int, ...]
    size: int
    direct_counter_id: int

    def field(self, name: str) -> MatchFieldInfo:
        """The key field called `name`."""
        for f in self.fields:
            if f.name == name:
                return f
        raise LookupError(_missing("match field", name, [f.name for f in self.fields], self.name))

    def has_field(self, name: str) -> bool:
        """Whether the table has a key field `name`."""
        return any(f.name == name for f in self.fields)


@dataclass(frozen=True)
class CounterInfo:
    """An indexed counter array."""

    id: int
    name: str
    size: int
    unit: str


def _missing(kind: str, name: str, known: list[str], owner: str = "") -> str:
    where = f" in {owner}" if owner else ""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"no {kind} named '{name}'{where}{hint}"


class P4Schema:
    """Tables, actions and counters of one P4Info, by name, alias and id."""

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.p4info = p4info
        self.tables: dict[str, TableInfo] = {}
        self.actions: dict[str, ActionInfo] = {}
        self.counters: dict[str, CounterInfo] = {}
        self._aliases: dict[str, str] = {}
        self._by_id: dict[int, str] = {}
        for t in p4info.tables:
            info = TableInfo(
                id=t.preamble.id,
                name=t.preamble.name,
                alias=t.preamble.alias,
                fields=tuple(
                    MatchFieldInfo(f.id, f.name, f.bitwidth, MATCH_KINDS.get(f.match_type, "other"))
                    for f in t.match_fields
                ),
                action_ids=tuple(a.id for a in t.action_refs),
                size=t.size,
                direct_counter_id=next(
                    (
                        d.preamble.id
                        for d in p4info.direct_counters
                        if d.direct_table_id == t.preamble.id
                    ),
                    0,
                ),
            )
            self.tables[info.name] = info
        for a in p4info.actions:
            self.actions[a.preamble.name] = ActionInfo(
                a.preamble.id,
                a.preamble.name,
                tuple(ParamInfo(p.id, p.name, p.bitwidth) for p in a.params),
            )
        for c in p4info.counters:
            unit = p4info_pb2.CounterSpec.Unit.Name(c.spec.unit)
            self.counters[c.preamble.name] = CounterInfo(
                c.preamble.id, c.preamble.name, c.size, unit
            )
        for kind in ("tables", "actions", "counters", "direct_counters"):
            for obj in getattr(p4info, kind):
                self._by_id[obj.preamble.id] = obj.preamble.name
                if obj.preamble.alias:
                    self._aliases.setdefault(obj.preamble.alias, obj.preamble.name)

    @classmethod
    def from_file(cls, path: str | Path) -> P4Schema:
        """Read a text-format P4Info file (p4c's `--p4runtime-files x.p4info.txtpb`)."""
        msg = p4info_pb2.P4Info()
        text_format.Parse(Path(path).read_text(encoding="utf-8"), msg, allow_unknown_field=True)
        return cls(msg)

    def _resolve(self, name: str, known: dict[str, object]) -> str:
        if name in known:
            return name
        full = self._aliases.get(name)
        return full if full in known else name

    def table(self, name: str) -> TableInfo:
        """The table `name` (full name or alias)."""
        t = self.tables.get(self._resolve(name, self.tables))  # type: ignore[arg-type]
        if t is None:
            raise LookupError(_missing("table", name, list(self.tables)))
        return t

    def has_table(self, name: str) -> bool:
        """Whether a table `name` exists."""
        return self._resolve(name, self.tables) in self.tables  # type: ignore[arg-type]

    def action(self, name: str) -> ActionInfo:
        """The action `name` (full name or alias)."""
        a = self.actions.get(self._resolve(name, self.actions))  # type: ignore[arg-type]
        if a is None:
            raise LookupError(_missing("action", name, list(self.actions)))
        return a

    def counter(self, name: str) -> CounterInfo:
        """The indexed counter `name` (full name or alias)."""
        c = self.counters.get(self._resolve(name, self.counters))  # type: ignore[arg-type]
        if c is None:
            raise LookupError(_missing("counter", name, list(self.counters)))
        return c

    def name_of(self, obj_id: int) -> str:
        """The name of the table/action/counter with P4Info id `obj_id`."""
        try:
            return self._by_id[obj_id]
        except KeyError:
            raise LookupError(f"no P4Info object with id {obj_id}") from None
