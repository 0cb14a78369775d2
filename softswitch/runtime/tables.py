"""Match-action tables: entries, match kinds, priorities and the per-packet lookup.

Semantics follow BMv2 as driven through P4Runtime:

* A table whose keys are all `exact` is a dict keyed by the key tuple.
* A table whose keys are `exact` plus exactly one `lpm` keeps one dict per
  prefix length, searched longest prefix first.
* Any table with a `ternary`, `range` or `optional` key needs a P4Runtime
  priority (> 0); the highest number wins, ties go to the entry inserted first.
* Don't-care fields are stored as their wildcard form (ternary mask 0, lpm
  prefix 0, full range, optional `None`); `is_wildcard()` tells them apart so
  the server can omit them on Read, as P4Runtime requires.

The engine calls `Table.lookup(key)` once per packet per table: it is bound at
construction to the fastest strategy for the table's key kinds.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from softswitch.runtime.errors import Code, RuntimeStateError
from softswitch.runtime.externs import MeterState

MATCH_KINDS = ("exact", "ternary", "lpm", "range", "optional")


@dataclass(frozen=True, slots=True)
class ExactMatch:
    """Field equals `value`."""

    value: int


@dataclass(frozen=True, slots=True)
class TernaryMatch:
    """Field & mask == value (value has no bits outside mask)."""

    value: int
    mask: int


@dataclass(frozen=True, slots=True)
class LpmMatch:
    """The top `prefix_len` bits of the field equal those of `value`."""

    value: int
    prefix_len: int


@dataclass(frozen=True, slots=True)
class RangeMatch:
    """low <= field <= high."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class OptionalMatch:
    """Field equals `value`, or anything when `value` is None."""

    value: int | None


Match = ExactMatch | TernaryMatch | LpmMatch | RangeMatch | OptionalMatch

_MATCH_CLASS: dict[str, type] = {
    "exact": ExactMatch,
    "ternary": TernaryMatch,
    "lpm": LpmMatch,
    "range": RangeMatch,
    "optional": OptionalMatch,
}


def wildcard(kind: str, width: int) -> Match:
    """The match that accepts every value of a `kind` field of `width` bits."""
    if kind == "ternary":
        return TernaryMatch(0, 0)
    if kind == "lpm":
        return LpmMatch(0, 0)
    if kind == "range":
        return RangeMatch(0, (1 << width) - 1)
    if kind == "optional":
        return OptionalMatch(None)
    raise ValueError(f"an {kind} field has no wildcard")


def is_wildcard(m: Match, width: int) -> bool:
    """True if `m` matches every value (P4Runtime omits such fields)."""
    if isinstance(m, TernaryMatch):
        return m.mask == 0
    if isinstance(m, LpmMatch):
        return m.prefix_len == 0
    if isinstance(m, RangeMatch):
        return m.low == 0 and m.high == (1 << width) - 1
    if isinstance(m, OptionalMatch):
        return m.value is None
    return False


def _lpm_mask(prefix_len: int, width: int) -> int:
    return ((1 << prefix_len) - 1) << (width - prefix_len)


def _value_mask(m: Match, width: int) -> tuple[int, int]:
    """(value, mask) of a non-range match, for packed ternary-style comparison."""
    full = (1 << width) - 1
    if isinstance(m, ExactMatch):
        return m.value, full
    if isinstance(m, TernaryMatch):
        return m.value, m.mask
    if isinstance(m, LpmMatch):
        return m.value, _lpm_mask(m.prefix_len, width)
    if isinstance(m, OptionalMatch):
        return (0, 0) if m.value is None else (m.value, full)
    return 0, 0  # range: checked separately


@dataclass(frozen=True, slots=True)
class ActionCall:
    """An action with its arguments, in the action's P4Info param order."""

    action_id: int
    args: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What a table knows about one of its actions (from P4Info)."""

    id: int
    name: str
    param_widths: tuple[int, ...]
    scope: str = "TABLE_AND_DEFAULT"  # | "TABLE_ONLY" | "DEFAULT_ONLY"


@dataclass(eq=False, slots=True)
class Entry:
    """One installed table entry and its direct resources."""

    matches: tuple[Match, ...]
    priority: int
    action: ActionCall
    direct_packets: int = 0
    direct_bytes: int = 0
    meter: MeterState | None = None
    idle_timeout_ns: int = 0
    last_hit_us: int = 0
    controller_metadata: int = 0
    metadata: bytes = b""
    is_const: bool = False
    # precomputed for the priority-ordered scan
    _value: int = 0
    _mask: int = 0
    _ranges: tuple[tuple[int, int, int], ...] = ()
    _seq: int = 0

    def count(self, nbytes: int) -> None:
        """Count one hit of `nbytes` bytes in the entry's direct counter."""
        self.direct_packets += 1
        self.direct_bytes += nbytes

    def execute_meter(self, nbytes: int, now_us: int) -> int:
        """Colour of a packet by the entry's direct meter (GREEN if unconfigured)."""
        if self.meter is None:
            return 0
        return self.meter.execute(nbytes, now_us)


EntryKey = tuple[tuple[object, ...], int]


def _plain_key(matches: tuple[Match, ...]) -> tuple[int, ...]:
    """Key tuple of an exact/lpm-only entry (lpm values are already prefix-masked)."""
    out = []
    for m in matches:
        assert isinstance(m, ExactMatch | LpmMatch)
        out.append(m.value)
    return tuple(out)


def _identity(matches: tuple[Match, ...], priority: int) -> EntryKey:
    """Hashable identity of an entry: P4Runtime identifies it by match + priority."""
    return (tuple(matches), priority)


class Table:
    """A P4 match-action table (one P4Info `Table`)."""

    def __init__(
        self,
        name: str,
        id: int,
        size: int,
        key_kinds: Sequence[str],
        key_widths: Sequence[int],
        actions: Sequence[ActionSpec],
        default_action: ActionCall,
        *,
        key_names: Sequence[str] = (),
        key_ids: Sequence[int] = (),
        const_default_action: bool = False,
        is_const: bool = False,
        has_direct_counter: bool = False,
        direct_meter_unit: str | None = None,
        supports_idle_timeout: bool = False,
    ) -> None:
        for k in key_kinds:
            if k not in MATCH_KINDS:
                raise ValueError(f"table {name}: unknown match kind {k!r}")
        self.name = name
        self.id = id
        self.size = size
        self.key_kinds: tuple[str, ...] = tuple(key_kinds)
        self.key_widths: tuple[int, ...] = tuple(key_widths)
        self.key_names: tuple[str, ...] = tuple(key_names) or tuple(
            f"key{i}" for i in range(len(self.key_kinds))
        )
        self.key_ids: tuple[int, ...] = tuple(key_ids) or tuple(range(1, len(self.key_kinds) + 1))
        self.actions: dict[int, ActionSpec] = {a.id: a for a in actions}
        self.const_default_action = const_default_action
        self.is_const = is_const
        self.has_direct_counter = has_direct_counter
        # None: no direct meter; else "BYTES" | "PACKETS"
        self.direct_meter_unit = direct_meter_unit
        self.supports_idle_timeout = supports_idle_timeout
        self.needs_priority = any(k in ("ternary", "range", "optional") for k in self.key_kinds)
        self.initial_default_action = default_action
        self.default_action = default_action
        self._entries: dict[EntryKey, Entry] = {}
        self._seq = itertools.count()
        self._setup_lookup()

    # ------------------------------------------------------------------ lookup

    def _setup_lookup(self) -> None:
        kinds = self.key_kinds
        self.lookup: Callable[[tuple[int, ...]], Entry | None]
        if all(k == "exact" for k in kinds):
            self._strategy = "exact"
            self._exact: dict[tuple[int, ...], Entry] = {}
            self.lookup = self._exact.get
        elif not self.needs_priority and kinds.count("lpm") == 1:
            self._strategy = "lpm"
            self._lpm_index = kinds.index("lpm")
            self._lpm_width = self.key_widths[self._lpm_index]
            # prefix_len -> {masked key tuple: entry}
            self._lpm_tables: dict[int, dict[tuple[int, ...], Entry]] = {}
            self._lpm_levels: list[tuple[int, dict[tuple[int, ...], Entry]]] = []
            if len(kinds) == 1:
                self.lookup = self._lookup_lpm_single
            else:
                self.lookup = self._lookup_lpm_multi
        else:
            self._strategy = "priority"
            self._sorted: list[Entry] = []
            self._sort_keys: list[tuple[int, int]] = []
            shifts = []
            total = 0
            for w in reversed(self.key_widths):
                shifts.append(total)
                total += w
            self._shifts = tuple(reversed(shifts))
            if len(kinds) == 1:
                self.lookup = self._lookup_priority_single
            else:
                self.lookup = self._lookup_priority

    def _lookup_lpm_single(self, key: tuple[int, ...]) -> Entry | None:
        k = key[0]
        for mask, d in self._lpm_levels:
            e = d.get((k & mask,))
            if e is not None:
                return e
        return None

    def _lookup_lpm_multi(self, key: tuple[int, ...]) -> Entry | None:
        i = self._lpm_index
        head, k, tail = key[:i], key[i], key[i + 1 :]
        for mask, d in self._lpm_levels:
            e = d.get((*head, k & mask, *tail))
            if e is not None:
                return e
        return None

    def _lookup_priority_single(self, key: tuple[int, ...]) -> Entry | None:
        k = key[0]
        for e in self._sorted:
            if k & e._mask == e._value:
                for _, lo, hi in e._ranges:
                    if not lo <= k <= hi:
                        break
                else:
                    return e
        return None

    def _lookup_priority(self, key: tuple[int, ...]) -> Entry | None:
        packed = 0
        for v, s in zip(key, self._shifts, strict=True):
            packed |= v << s
        for e in self._sorted:
            if packed & e._mask == e._value:
                for i, lo, hi in e._ranges:
                    if not lo <= key[i] <= hi:
                        break
                else:
                    return e
        return None

    def _rebuild_lpm_levels(self) -> None:
        w = self._lpm_width
        self._lpm_levels = [
            (_lpm_mask(p, w), d)
            for p, d in sorted(self._lpm_tables.items(), key=lambda item: -item[0])
            if d
        ]

    # ------------------------------------------------------------- validation

    def check_matches(self, matches: Sequence[Match]) -> tuple[Match, ...]:
        """Validate a match key (kinds, widths, canonical form); INVALID_ARGUMENT if bad."""
        if len(matches) != len(self.key_kinds):
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT,
                f"table {self.name} has {len(self.key_kinds)} key fields, got {len(matches)}",
            )
        for m, kind, width, fname in zip(
            matches, self.key_kinds, self.key_widths, self.key_names, strict=True
        ):
            if not isinstance(m, _MATCH_CLASS[kind]):
                raise RuntimeStateError(
                    Code.INVALID_ARGUMENT, f"field {fname} of {self.name} is {kind}"
                )
            limit = 1 << width
            if isinstance(m, ExactMatch | OptionalMatch):
                if m.value is not None and not 0 <= m.value < limit:
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT, f"value of {fname} does not fit in {width} bits"
                    )
            elif isinstance(m, TernaryMatch):
                if not (0 <= m.value < limit and 0 <= m.mask < limit):
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT, f"value/mask of {fname} does not fit in {width} bits"
                    )
                if m.value & ~m.mask:
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT,
                        f"ternary value of {fname} has bits outside its mask",
                    )
            elif isinstance(m, LpmMatch):
                if not 0 <= m.prefix_len <= width:
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT, f"prefix length of {fname} exceeds {width}"
                    )
                if not 0 <= m.value < limit:
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT, f"value of {fname} does not fit in {width} bits"
                    )
                if m.value & ~_lpm_mask(m.prefix_len, width):
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT,
                        f"lpm value of {fname} has bits set beyond its prefix length",
                    )
            elif isinstance(m, RangeMatch):
                if not (0 <= m.low < limit and 0 <= m.high < limit):
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT, f"range of {fname} does not fit in {width} bits"
                    )
                if m.low > m.high:
                    raise RuntimeStateError(
                        Code.INVALID_ARGUMENT, f"range of {fname} has low > high"
                    )
        return tuple(matches)

    def check_priority(self, priority: int) -> None:
        """P4Runtime rule: priority > 0 iff the table has ternary/range/optional keys."""
        if self.needs_priority and priority <= 0:
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT,
                f"table {self.name} needs a priority > 0 (it has ternary/range/optional keys)",
            )
        if not self.needs_priority and priority != 0:
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT,
                f"table {self.name} takes no priority (no ternary/range/optional keys)",
            )
        if priority >= 1 << 31:
            raise RuntimeStateError(Code.INVALID_ARGUMENT, "priority must fit in int32")

    def check_action(self, action: ActionCall, *, for_default: bool = False) -> None:
        """The action belongs to the table (in the right scope) and its args fit."""
        spec = self.actions.get(action.action_id)
        if spec is None:
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT,
                f"action id {action.action_id} is not an action of table {self.name}",
            )
        if for_default and spec.scope == "TABLE_ONLY":
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT,
                f"action {spec.name} cannot be the default action (@tableonly)",
            )
        if not for_default and spec.scope == "DEFAULT_ONLY":
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT, f"action {spec.name} is default-only (@defaultonly)"
            )
        if len(action.args) != len(spec.param_widths):
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT,
                f"action {spec.name} takes {len(spec.param_widths)} params, got {len(action.args)}",
            )
        for i, (a, w) in enumerate(zip(action.args, spec.param_widths, strict=True)):
            if not 0 <= a < 1 << w:
                raise RuntimeStateError(
                    Code.INVALID_ARGUMENT,
                    f"param {i} of action {spec.name} does not fit in {w} bits",
                )

    # ---------------------------------------------------------------- entries

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> Iterator[Entry]:
        """Installed entries, in insertion order."""
        return iter(list(self._entries.values()))

    def get(self, matches: Sequence[Match], priority: int) -> Entry | None:
        """The entry with exactly this match key and priority, if any."""
        return self._entries.get(_identity(tuple(matches), priority))

    def _new_entry(
        self,
        matches: tuple[Match, ...],
        priority: int,
        action: ActionCall,
        **extra: object,
    ) -> Entry:
        e = Entry(matches=matches, priority=priority, action=action, **extra)  # type: ignore[arg-type]
        if self.direct_meter_unit is not None and e.meter is None:
            e.meter = MeterState(self.direct_meter_unit)
        value = mask = 0
        ranges = []
        for i, (m, w, s) in enumerate(
            zip(matches, self.key_widths, self._shifts_or_zero(), strict=True)
        ):
            if isinstance(m, RangeMatch):
                if not is_wildcard(m, w):
                    ranges.append((i, m.low, m.high))
            else:
                v, mk = _value_mask(m, w)
                value |= v << s
                mask |= mk << s
        e._value, e._mask, e._ranges = value, mask, tuple(ranges)
        e._seq = next(self._seq)
        return e

    def _shifts_or_zero(self) -> tuple[int, ...]:
        if self._strategy == "priority":
            return self._shifts
        return (0,) * len(self.key_kinds)

    def _index(self, e: Entry) -> None:
        if self._strategy == "exact":
            self._exact[_plain_key(e.matches)] = e
        elif self._strategy == "lpm":
            lpm = e.matches[self._lpm_index]
            assert isinstance(lpm, LpmMatch)
            key = _plain_key(e.matches)
            d = self._lpm_tables.setdefault(lpm.prefix_len, {})
            new_level = not d
            d[key] = e
            if new_level:
                self._rebuild_lpm_levels()
        else:
            sk = (-e.priority, e._seq)
            i = bisect.bisect_left(self._sort_keys, sk)
            self._sort_keys.insert(i, sk)
            self._sorted.insert(i, e)

    def _unindex(self, e: Entry) -> None:
        if self._strategy == "exact":
            del self._exact[_plain_key(e.matches)]
        elif self._strategy == "lpm":
            lpm = e.matches[self._lpm_index]
            assert isinstance(lpm, LpmMatch)
            d = self._lpm_tables[lpm.prefix_len]
            del d[_plain_key(e.matches)]
            if not d:
                del self._lpm_tables[lpm.prefix_len]
                self._rebuild_lpm_levels()
        else:
            sk = (-e.priority, e._seq)
            i = bisect.bisect_left(self._sort_keys, sk)
            while self._sorted[i] is not e:
                i += 1
            del self._sort_keys[i]
            del self._sorted[i]

    def _check_mutable(self) -> None:
        if self.is_const:
            raise RuntimeStateError(
                Code.PERMISSION_DENIED, f"table {self.name} is const (its entries are immutable)"
            )

    def insert(
        self,
        matches: Sequence[Match],
        priority: int,
        action: ActionCall,
        *,
        controller_metadata: int = 0,
        metadata: bytes = b"",
        idle_timeout_ns: int = 0,
        meter: MeterState | None = None,
        direct_packets: int = 0,
        direct_bytes: int = 0,
    ) -> Entry:
        """Add an entry (P4Runtime INSERT). ALREADY_EXISTS / RESOURCE_EXHAUSTED / ..."""
        self._check_mutable()
        ms = self.check_matches(matches)
        self.check_priority(priority)
        self.check_action(action)
        if idle_timeout_ns and not self.supports_idle_timeout:
            raise RuntimeStateError(
                Code.INVALID_ARGUMENT, f"table {self.name} does not support idle timeout"
            )
        ident = _identity(ms, priority)
        if ident in self._entries:
            raise RuntimeStateError(Code.ALREADY_EXISTS, f"entry already exists in {self.name}")
        if len(self._entries) >= self.size:
            raise RuntimeStateError(
                Code.RESOURCE_EXHAUSTED, f"table {self.name} is full ({self.size} entries)"
            )
        e = self._new_entry(
            ms,
            priority,
            action,
            controller_metadata=controller_metadata,
            metadata=metadata,
            idle_timeout_ns=idle_timeout_ns,
            meter=meter,
            direct_packets=direct_packets,
            direct_bytes=direct_bytes,
        )
        self._entries[ident] = e
        self._index(e)
        return e

    def modify(
        self,
        matches: Sequence[Match],
        priority: int,
        action: ActionCall,
        *,
        controller_metadata: int | None = None,
        metadata: bytes | None = None,
        idle_timeout_ns: int | None = None,
    ) -> Entry:
        """Change an entry's action (P4Runtime MODIFY); NOT_FOUND if absent."""
        self._check_mutable()
        ms = self.check_matches(matches)
        self.check_priority(priority)
        self.check_action(action)
        e = self._entries.get(_identity(ms, priority))
        if e is None:
            raise RuntimeStateError(Code.NOT_FOUND, f"no such entry in {self.name}")
        # the entry object stays in place: its lookup position does not depend on the action
        e.action = action
        if controller_metadata is not None:
            e.controller_metadata = controller_metadata
        if metadata is not None:
            e.metadata = metadata
        if idle_timeout_ns is not None:
            e.idle_timeout_ns = idle_timeout_ns
        return e

    def delete(self, matches: Sequence[Match], priority: int) -> Entry:
        """Remove an entry (P4Runtime DELETE); NOT_FOUND if absent."""
        self._check_mutable()
        ms = self.check_matches(matches)
        self.check_priority(priority)
        e = self._entries.pop(_identity(ms, priority), None)
        if e is None:
            raise RuntimeStateError(Code.NOT_FOUND, f"no such entry in {self.name}")
        self._unindex(e)
        return e

    def restore(self, e: Entry) -> None:
        """Put back an entry object exactly as it was (rollback of a delete)."""
        ident = _identity(e.matches, e.priority)
        self._entries[ident] = e
        self._index(e)

    def adopt(self, e: Entry) -> None:
        """Take over an entry object from another table of identical definition."""
        e._seq = next(self._seq)
        self.restore(e)

    def clear(self) -> None:
        """Remove every entry that is not const."""
        for ident, e in list(self._entries.items()):
            if not e.is_const:
                del self._entries[ident]
                self._unindex(e)

    def add_const_entries(self, entries: list[tuple[tuple[Match, ...], int, ActionCall]]) -> None:
        """Install the P4 program's `const entries` (in program order).

        Priorities are taken as given (P4Runtime sense: higher wins). For tables
        without ternary/range/optional keys the priority is ignored.
        """
        for matches, priority, action in entries:
            ms = self.check_matches(matches)
            if not self.needs_priority:
                priority = 0
            ident = _identity(ms, priority)
            if ident in self._entries:
                continue  # duplicate const entry: first one wins, as in BMv2
            e = self._new_entry(ms, priority, action, is_const=True)
            self._entries[ident] = e
            self._index(e)

    # ----------------------------------------------------------- default entry

    def set_initial_default_action(self, action: ActionCall) -> None:
        """The program's default action (used at start and on reset)."""
        self.initial_default_action = action
        self.default_action = action

    def set_default_action(self, action: ActionCall) -> None:
        """P4Runtime MODIFY of the default entry; PERMISSION_DENIED if it is const."""
        if self.const_default_action:
            raise RuntimeStateError(
                Code.PERMISSION_DENIED, f"the default action of {self.name} is const"
            )
        self.check_action(action, for_default=True)
        self.default_action = action

    def reset_default_action(self) -> None:
        """Back to the program's default action (MODIFY with no action)."""
        if self.const_default_action:
            raise RuntimeStateError(
                Code.PERMISSION_DENIED, f"the default action of {self.name} is const"
            )
        self.default_action = self.initial_default_action


__all__ = [
    "MATCH_KINDS",
    "ActionCall",
    "ActionSpec",
    "Entry",
    "ExactMatch",
    "LpmMatch",
    "Match",
    "OptionalMatch",
    "RangeMatch",
    "Table",
    "TernaryMatch",
    "is_wildcard",
    "wildcard",
]
