"""STF table commands -> P4Runtime messages, through the target's own P4Info.

STF names P4 objects the way the program spells them, often without the control's
prefix (`t`, `c.t`, `ingress.setb1`) and with `$N` for stack indices (`extra$0.h`).
A name resolves to the P4Info object whose fully qualified name ends with it at a
dot boundary; an ambiguous or missing name is an error naming the candidates.
Values are encoded as canonical P4Runtime byte strings (no leading zero bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from conformance import stf


class EntryError(Exception):
    """An STF command that cannot be expressed with the target's P4Info."""


def _norm(name: str) -> str:
    """`extra$0.h` -> `extra[0].h`; `h.$valid$` stays as it is."""
    return re.sub(r"\$(\d+)", r"[\1]", name)


def _suffix_match(full: str, want: str) -> bool:
    return full == want or full.endswith("." + want)


def canonical(value: int) -> bytes:
    """The shortest big-endian byte string for a non-negative `value` (b'\\0' for 0)."""
    if value < 0:
        raise EntryError(f"negative value {value}")
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def parse_number(text: str, bitwidth: int) -> int:
    """An STF number (`0x..`, `0b..`, decimal, negative two's complement)."""
    try:
        v = int(text, 0)
    except ValueError:
        raise EntryError(f"expected a number, got {text!r}") from None
    if v < 0:
        v &= (1 << bitwidth) - 1
    if v >> bitwidth:
        raise EntryError(f"value {text} does not fit in {bitwidth} bits")
    return v


def _wildcard(text: str, bitwidth: int) -> tuple[int, int] | None:
    """`0x12**` / `0b1*0` style don't-care digits -> (value, mask); None if none."""
    if "*" not in text:
        return None
    if text == "*":
        return 0, 0
    low = text.lower()
    if low.startswith("0x"):
        digits, bits = low[2:], 4
    elif low.startswith("0b"):
        digits, bits = low[2:], 1
    else:
        raise EntryError(f"don't-care digits need 0x or 0b: {text!r}")
    value = mask = 0
    unit = (1 << bits) - 1
    for d in digits:
        value <<= bits
        mask <<= bits
        if d != "*":
            value |= int(d, 16 if bits == 4 else 2)
            mask |= unit
    full = (1 << bitwidth) - 1
    return value & full, mask & full


@dataclass
class P4InfoIndex:
    """Name lookups in one target's P4Info."""

    p4info: p4info_pb2.P4Info

    def _find(self, kind: str, objs: list, name: str):  # type: ignore[type-arg]
        want = _norm(name)
        exact = [o for o in objs if o.preamble.name == want]
        if exact:
            return exact[0]
        hits = [o for o in objs if _suffix_match(o.preamble.name, want)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            known = ", ".join(sorted(o.preamble.name for o in objs)) or "none"
            raise EntryError(f"no {kind} named {name!r} in the P4Info (has: {known})")
        names = ", ".join(sorted(o.preamble.name for o in hits))
        raise EntryError(f"{kind} name {name!r} is ambiguous ({names})")

    def table(self, name: str) -> p4info_pb2.Table:
        return self._find("table", list(self.p4info.tables), name)  # type: ignore[no-any-return]

    def action(self, name: str, table: p4info_pb2.Table | None = None) -> p4info_pb2.Action:
        actions = list(self.p4info.actions)
        if table is not None:
            ids = {r.id for r in table.action_refs}
            in_table = [a for a in actions if a.preamble.id in ids]
            try:
                return self._find("action", in_table, name)  # type: ignore[no-any-return]
            except EntryError:
                pass
        return self._find("action", actions, name)  # type: ignore[no-any-return]

    def counter(self, name: str) -> tuple[int, bool]:
        """(id, is_direct) of the counter called `name`."""
        try:
            c = self._find("counter", list(self.p4info.counters), name)
            return c.preamble.id, False
        except EntryError:
            d = self._find("counter", list(self.p4info.direct_counters), name)
            return d.preamble.id, True


def _match_field(mf: p4info_pb2.MatchField, text: str) -> p4runtime_pb2.FieldMatch | None:
    """One key value for field `mf`; None when it matches everything (omitted)."""
    w = mf.bitwidth
    fm = p4runtime_pb2.FieldMatch(field_id=mf.id)
    mt = mf.match_type
    if mt == p4info_pb2.MatchField.EXACT:
        fm.exact.value = canonical(parse_number(text, w))
    elif mt == p4info_pb2.MatchField.LPM:
        if "/" in text:
            v, _, plen = text.partition("/")
            value, prefix = parse_number(v, w), int(plen, 0)
        elif (wc := _wildcard(text, w)) is not None:
            value, mask = wc
            prefix = bin(mask).count("1")
            if mask != ((1 << w) - 1) ^ ((1 << (w - prefix)) - 1):
                raise EntryError(f"{text!r} is not a prefix for lpm field {mf.name}")
        else:
            value, prefix = parse_number(text, w), w
        if prefix == 0:
            return None
        value &= ((1 << w) - 1) ^ ((1 << (w - prefix)) - 1)
        fm.lpm.value = canonical(value)
        fm.lpm.prefix_len = prefix
    elif mt == p4info_pb2.MatchField.TERNARY:
        if "&&&" in text:
            v, _, m = text.partition("&&&")
            value, mask = parse_number(v, w), parse_number(m, w)
        elif (wc := _wildcard(text, w)) is not None:
            value, mask = wc
        else:
            value, mask = parse_number(text, w), (1 << w) - 1
        if mask == 0:
            return None
        fm.ternary.value = canonical(value & mask)
        fm.ternary.mask = canonical(mask)
    elif mt == p4info_pb2.MatchField.RANGE:
        if "->" in text:
            lo_t, _, hi_t = text.partition("->")
            lo, hi = parse_number(lo_t, w), parse_number(hi_t, w)
        elif text == "*":
            return None
        else:
            lo = hi = parse_number(text, w)
        if lo == 0 and hi == (1 << w) - 1:
            return None
        fm.range.low = canonical(lo)
        fm.range.high = canonical(hi)
    elif mt == p4info_pb2.MatchField.OPTIONAL:
        if text == "*":
            return None
        fm.optional.value = canonical(parse_number(text, w))
    else:
        raise EntryError(f"match kind of key {mf.name} is not supported")
    return fm


def _key_field(table: p4info_pb2.Table, name: str) -> p4info_pb2.MatchField:
    want = _norm(name)
    fields = list(table.match_fields)
    exact = [f for f in fields if f.name == want]
    if exact:
        return exact[0]
    hits = [f for f in fields if _suffix_match(f.name, want) or f.name.endswith("." + want)]
    if len(hits) == 1:
        return hits[0]
    known = ", ".join(f.name for f in fields) or "none"
    if not hits:
        raise EntryError(f"table {table.preamble.name} has no key {name!r} (keys: {known})")
    raise EntryError(f"key {name!r} of table {table.preamble.name} is ambiguous ({known})")


def needs_priority(table: p4info_pb2.Table) -> bool:
    kinds = {f.match_type for f in table.match_fields}
    return bool(
        kinds
        & {
            p4info_pb2.MatchField.TERNARY,
            p4info_pb2.MatchField.RANGE,
            p4info_pb2.MatchField.OPTIONAL,
        }
    )


def action_message(
    index: P4InfoIndex, call: stf.ActionCall, table: p4info_pb2.Table | None
) -> p4runtime_pb2.Action:
    """The P4Runtime Action for an STF `ACTION(P:V, ...)` call."""
    action = index.action(call.name, table)
    msg = p4runtime_pb2.Action(action_id=action.preamble.id)
    given = dict(call.args)
    for p in action.params:
        if p.name not in given:
            raise EntryError(f"action {action.preamble.name} needs parameter {p.name!r}")
        msg.params.add(param_id=p.id, value=canonical(parse_number(given.pop(p.name), p.bitwidth)))
    if given:
        raise EntryError(f"action {action.preamble.name} has no parameter {next(iter(given))!r}")
    return msg


def table_entry(
    index: P4InfoIndex,
    table_name: str,
    keys: tuple[tuple[str, str], ...],
    priority: int | None,
) -> p4runtime_pb2.TableEntry:
    """A TableEntry with its match (no action): used by add and remove."""
    table = index.table(table_name)
    te = p4runtime_pb2.TableEntry(table_id=table.preamble.id)
    for name, text in keys:
        fm = _match_field(_key_field(table, name), text)
        if fm is not None:
            te.match.append(fm)
    if needs_priority(table):
        # STF priorities: the larger number wins, as in P4Runtime, which needs > 0
        te.priority = (priority if priority is not None else 0) + 1
    return te


def add_entry(index: P4InfoIndex, cmd: stf.AddEntry) -> p4runtime_pb2.TableEntry:
    te = table_entry(index, cmd.table, cmd.keys, cmd.priority)
    table = index.table(cmd.table)
    te.action.action.CopyFrom(action_message(index, cmd.action, table))
    return te


def default_entry(index: P4InfoIndex, cmd: stf.SetDefault) -> p4runtime_pb2.TableEntry:
    table = index.table(cmd.table)
    te = p4runtime_pb2.TableEntry(table_id=table.preamble.id, is_default_action=True)
    te.action.action.CopyFrom(action_message(index, cmd.action, table))
    return te
