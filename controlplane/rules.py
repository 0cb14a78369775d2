"""Read rules.yaml into a `RuleSet`, collecting every mistake with its file:line:col.

The file is composed (not loaded) with PyYAML so every value keeps the position
it was written at, and values are parsed from the text the user wrote (so `0xff`
and `255` stay distinguishable). Schema:

```yaml
monitor:                      # optional: where monitored traffic comes from and goes
  port: 1                     # the monitor's switch port
  ingress_ports: [0]          # ports whose traffic goes to it
stats:                        # masked-field counter rules, in priority order
  - name: ssh-by-source       # required, unique
    match: {protocol: tcp, dst_port: 22}     # fields to match (others: wildcard)
    group_by: {src_addr: /32}                # or a list of field names (every bit)
    interval: 60s                            # report period (default: off)
    thresholds: {packets: 1000, bytes: 1MB}  # alert when reached (default: off)
    bidirectional: false                     # A->B and B->A one group
    id: 7          # optional rule_id (default: next free, in file order)
    slot: 2        # optional: pin to a slot (default: assigned, see slots.py)
    table: NidsIngress.stats.slot2.rules     # optional, the same as slot: 2
    priority: 10   # optional: within the slot (default: file order)
    description: free text
syn_offload:                  # optional: the SYN-offload stage (docs/syn-offload.md)
  enabled: true               # default true when the section is present
  timeout: 5s                 # held SYNs are summarized after this (<= 16.777215s)
  sweep_rate: 1000            # sweep packets per second (`controlplane sweep`)
  slots: 65536                # records used (default: all the P4 was compiled with)
  sweep_monitor_port: 1       # where swept SYNs go (default: the first monitor port)
monitors:                     # optional: a cluster of workers (docs/balance.md,
  ports: [1, 2, 3, 4]         #   controlplane/balance/section.py for every setting)
reassembly:                   # optional: TCP stream reassembly (docs/reassembly.md)
  enabled: true               # default true when the section is present
  slots: 65536                # sessions used (default: all the P4 was compiled with)
  idle_timeout: 300s          # a session idle this long may be taken by a new connection
  hold_segments_per_flow: 4   # out-of-order segments held per connection (0..15; 0: fall back)
  hold_segments_total: 1024   # ... and in all (0..1024)
  gap_timeout: 10ms           # a held segment's gap must fill within this (1µs..1s)
prefilters:                   # optional: protocol detection (controlplane/prefilter.py,
  rules: [...]                #   docs/prefilter.md for every setting)
```
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controlplane import pipeline_spec
from controlplane.balance.section import read_monitors
from controlplane.errors import Problem, RulesError
from controlplane.fields import (
    FIELDS,
    GROUP_FIELDS,
    FieldError,
    Match,
    is_dont_care,
    parse_count,
    parse_duration_us,
    parse_group_mask,
    parse_match,
    parse_size,
    with_address_family,
)
from controlplane.model import (
    STATS_SLOTS,
    SYN_MAX_TIMEOUT_US,
    MonitorPort,
    ReassemblyConfig,
    RuleSet,
    StatsRule,
    SynOffloadConfig,
    Where,
)
from controlplane.pipeline_spec import (
    REASM_MAX_GAP_TIMEOUT_US,
    REASM_MAX_HOLD_PER_FLOW,
    REASM_MAX_HOLD_TOTAL,
    REASM_MAX_IDLE_TIMEOUT_US,
)
from controlplane.prefilter import read_prefilters
from controlplane.yamltree import YamlError, alias_of, compose

TOP_FIELDS = ("monitor", "stats", "syn_offload", "monitors", "reassembly", "prefilters")

REASM_FIELDS = (
    "enabled",
    "slots",
    "idle_timeout",
    "hold_segments_per_flow",
    "hold_segments_total",
    "gap_timeout",
)
SYN_FIELDS = ("enabled", "timeout", "sweep_rate", "slots", "sweep_monitor_port")
MAX_SWEEP_RATE = 1_000_000
RULE_FIELDS = (
    "name",
    "description",
    "match",
    "group_by",
    "interval",
    "thresholds",
    "bidirectional",
    "id",
    "slot",
    "table",
    "priority",
)
THRESHOLD_FIELDS = ("packets", "bytes")
MONITOR_FIELDS = ("port", "ingress_ports")

MAX_INTERVAL_US = (1 << 32) - 1
MAX_PACKETS = (1 << 32) - 1
MAX_BYTES = (1 << 48) - 1
MAX_PRIORITY = (1 << 31) - 1
MAX_RULE_ID = 0xFFFF
PORT_BITS = 9
MAX_VALUE_CHARS = 200
"""Longest value accepted where a number, name or match goes (longer: an error, never parsed)."""
MAX_TEXT_CHARS = 4096
"""Longest `description`."""
MAX_FILE_BYTES = 8 << 20
"""Largest rules file read (65,535 rule ids fit in about 6 MiB of YAML)."""


def shown(text: str, limit: int = 40) -> str:
    """`text` for a message: as written if short, else its start and its length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def shown_int(v: int) -> str:
    """An integer for a message (`a 5000-digit number` rather than the digits)."""
    digits = len(str(v)) if v.bit_length() < 4000 else v.bit_length() * 3 // 10
    return str(v) if digits <= 24 else f"a {digits}-digit number"


def slot_table(slot: int) -> str:
    """P4Info name of the rule table of `slot` (docs/stats-stage.md)."""
    return pipeline_spec.stats_table(slot)


T = TypeVar("T")


class _Reader:
    """Walks the node tree; every check appends a Problem instead of raising."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def where(self, node: Node) -> Where:
        return Where(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: Node, path: str, message: str) -> None:
        self.problems.append(Problem(self.where(node), path, message))

    def mapping(
        self, node: Node, path: str, allowed: tuple[str, ...], what: str
    ) -> dict[str, tuple[Node, Node]] | None:
        """Key -> (key node, value node); reports non-mappings, duplicates, unknown keys."""
        if not isinstance(node, MappingNode):
            self.error(node, path, f"expected {what} (a mapping of {', '.join(allowed)})")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, ScalarNode) else None
            sub = f"{path}.{key}" if path else str(key)
            if key is None:
                self.error(k, path, "keys must be plain names")
            elif key in out:
                first = out[key][0].start_mark.line + 1
                self.error(k, sub, f"duplicate field '{key}' (first given on line {first})")
            elif key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"expected one of {', '.join(allowed)}"
                )
                self.error(
                    k,
                    f"{path}.{shown(key)}" if path else shown(key),
                    f"unknown field '{shown(key)}' ({hint})",
                )
            else:
                out[key] = (k, v)
        return out

    def scalar(
        self, node: Node, path: str, what: str, max_chars: int = MAX_VALUE_CHARS
    ) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.error(node, path, f"expected {what}")
            return None
        text = str(node.value)
        if len(text) > max_chars:
            self.error(
                node,
                path,
                f"expected {what}, not a {len(text)}-character value (at most {max_chars})",
            )
            return None
        return text

    def parsed(self, node: Node, path: str, what: str, parse: Callable[[str], T]) -> T | None:
        text = self.scalar(node, path, what)
        if text is None:
            return None
        try:
            return parse(text)
        except FieldError as e:
            self.error(node, path, str(e))
            return None

    def integer(self, node: Node, path: str, lo: int, hi: int, what: str) -> int | None:
        text = self.scalar(node, path, what)
        if text is None:
            return None
        t = text.strip().replace("_", "")
        if not re.fullmatch(r"[0-9]+|0[xX][0-9a-fA-F]+", t):
            self.error(node, path, f"'{shown(text)}' is not {what}")
            return None
        v = int(t, 0) if t[:2].lower() == "0x" else int(t.lstrip("0") or "0")
        if not lo <= v <= hi:
            self.error(node, path, f"{shown_int(v)} is out of range for {what} ({lo}..{hi})")
            return None
        return v

    def boolean(self, node: Node, path: str) -> bool | None:
        text = self.scalar(node, path, "true or false")
        if text is None:
            return None
        low = text.lower()
        if low in ("true", "yes", "on"):
            return True
        if low in ("false", "no", "off"):
            return False
        self.error(node, path, f"'{shown(text)}' is not true or false")
        return None


def _suggest_table(name: str) -> str:
    names = [slot_table(s) for s in range(STATS_SLOTS)]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else f" (expected one of {', '.join(names)})"


def _table_slot(name: str) -> int | None:
    m = re.fullmatch(r"(?:NidsIngress\.stats\.)?slot([0-9]+)\.rules", name)
    if m is None or int(m.group(1)) >= STATS_SLOTS:
        return None
    return int(m.group(1))


def _read_rule(r: _Reader, node: Node, index: int) -> dict[str, object] | None:
    """A rule's settings (rule_id not yet assigned; "valid" says whether it had no
    mistakes), or None if it is not a mapping at all."""
    path = f"stats[{index}]"
    before = len(r.problems)
    fields = r.mapping(node, path, RULE_FIELDS, "a rule")
    if fields is None:
        return None
    out: dict[str, object] = {"index": index, "where": r.where(node)}
    if "name" not in fields:
        r.error(node, path, "missing 'name' (every rule needs a unique name)")
    else:
        name = r.scalar(fields["name"][1], f"{path}.name", "a name")
        if name is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]+", name):
            r.error(
                fields["name"][1], f"{path}.name", f"'{shown(name)}': use letters, digits and _.:-"
            )
            name = None
        out["name"] = name
        out["name_node"] = fields["name"][1]
    if "description" in fields:
        out["description"] = (
            r.scalar(fields["description"][1], f"{path}.description", "text", MAX_TEXT_CHARS) or ""
        )
    match: list[tuple[str, Match]] = []
    if "match" in fields:
        mnode = fields["match"][1]
        if not (isinstance(mnode, ScalarNode) and mnode.value in ("", "{}")):
            mf = r.mapping(mnode, f"{path}.match", tuple(FIELDS), "the fields to match")
            for fname, (_, vnode) in sorted(
                (mf or {}).items(), key=lambda kv: list(FIELDS).index(kv[0])
            ):
                spec = FIELDS[fname]
                what = f"a value for {fname}"
                m = r.parsed(vnode, f"{path}.match.{fname}", what, partial(parse_match, spec=spec))
                if m is not None and not is_dont_care(m, spec.width):
                    match.append((fname, m))
            match, family_problem = with_address_family(match)
            if family_problem is not None:
                r.error(mnode, f"{path}.match", family_problem)
    out["match"] = tuple(match)
    group: list[tuple[str, int]] = []
    if "group_by" in fields:
        gnode = fields["group_by"][1]
        gpath = f"{path}.group_by"
        items: list[tuple[str, Node, Node | None]] = []
        if isinstance(gnode, SequenceNode):
            for i, item in enumerate(gnode.value):
                name = r.scalar(item, f"{gpath}[{i}]", "a field name")
                if name is not None:
                    items.append((name, item, None))
        elif isinstance(gnode, ScalarNode) and gnode.value:
            items.append((gnode.value, gnode, None))
        elif isinstance(gnode, MappingNode):
            for k, v in gnode.value:
                kname = r.scalar(k, gpath, "a field name")
                if kname is not None:
                    items.append((kname, k, v))
        else:
            r.error(gnode, gpath, "expected field names or a mapping of field: mask")
        seen: set[str] = set()
        for gname, knode, vnode in items:
            sub = f"{gpath}.{gname}"
            if gname not in GROUP_FIELDS:
                close = difflib.get_close_matches(gname, GROUP_FIELDS, n=1, cutoff=0.6)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"the switch can group by {', '.join(GROUP_FIELDS)}"
                )
                kind = "cannot group by" if gname in FIELDS else "unknown field"
                r.error(knode, sub, f"{kind} '{shown(gname)}' ({hint})")
                continue
            if gname in seen:
                r.error(knode, sub, f"'{gname}' is listed twice")
                continue
            seen.add(gname)
            spec = FIELDS[gname]
            if vnode is None:
                group.append((gname, spec.full))
            else:
                mask = r.parsed(vnode, sub, "a mask", partial(parse_group_mask, spec=spec))
                if mask is not None:
                    group.append((gname, mask))
    out["group_by"] = tuple(sorted(group, key=lambda g: list(FIELDS).index(g[0])))
    if "interval" in fields:
        iv = r.parsed(fields["interval"][1], f"{path}.interval", "a duration", parse_duration_us)
        if iv is not None and iv > MAX_INTERVAL_US:
            r.error(
                fields["interval"][1],
                f"{path}.interval",
                f"{shown_int(iv)} µs is longer than the switch can time (at most 4294.967295 s)",
            )
            iv = None
        out["interval_us"] = iv or 0
    if "thresholds" in fields:
        tpath = f"{path}.thresholds"
        tf = r.mapping(fields["thresholds"][1], tpath, THRESHOLD_FIELDS, "thresholds") or {}
        if "packets" in tf:
            n = r.parsed(tf["packets"][1], f"{tpath}.packets", "a packet count", parse_count)
            if n is not None and n > MAX_PACKETS:
                r.error(
                    tf["packets"][1], f"{tpath}.packets", f"{shown_int(n)} does not fit 32 bits"
                )
                n = None
            out["packet_threshold"] = n or 0
        if "bytes" in tf:
            n = r.parsed(tf["bytes"][1], f"{tpath}.bytes", "a size", parse_size)
            if n is not None and n > MAX_BYTES:
                r.error(tf["bytes"][1], f"{tpath}.bytes", f"{shown_int(n)} does not fit 48 bits")
                n = None
            out["byte_threshold"] = n or 0
    if "bidirectional" in fields:
        out["bidirectional"] = bool(r.boolean(fields["bidirectional"][1], f"{path}.bidirectional"))
    if "id" in fields:
        out["id"] = r.integer(fields["id"][1], f"{path}.id", 1, MAX_RULE_ID, "a rule id")
        out["id_node"] = fields["id"][1]
    slot: int | None = None
    if "slot" in fields:
        slot = r.integer(fields["slot"][1], f"{path}.slot", 0, STATS_SLOTS - 1, "a slot")
    if "table" in fields:
        tnode = fields["table"][1]
        tname = r.scalar(tnode, f"{path}.table", "a table name")
        if tname is not None:
            tslot = _table_slot(tname)
            if tslot is None:
                r.error(
                    tnode, f"{path}.table", f"unknown table '{shown(tname)}'{_suggest_table(tname)}"
                )
            elif slot is not None and slot != tslot:
                r.error(
                    tnode, f"{path}.table", f"'{tname}' is slot {tslot} but slot: {slot} is given"
                )
            else:
                slot = tslot
    out["slot"] = slot
    if "priority" in fields:
        out["priority"] = r.integer(
            fields["priority"][1], f"{path}.priority", 1, MAX_PRIORITY, "a priority"
        )
    out["valid"] = len(r.problems) == before
    return out


def _read_monitor(r: _Reader, node: Node) -> list[MonitorPort]:
    items = node.value if isinstance(node, SequenceNode) else [node]
    out: list[MonitorPort] = []
    seen: dict[int, int] = {}
    for i, item in enumerate(items):
        path = f"monitor[{i}]" if isinstance(node, SequenceNode) else "monitor"
        f = r.mapping(item, path, MONITOR_FIELDS, "the monitor ports")
        if f is None:
            continue
        for need in MONITOR_FIELDS:
            if need not in f:
                r.error(item, path, f"missing '{need}'")
        if len(f) < 2:
            continue
        what = "a switch port (0..510)"
        mport = r.integer(f["port"][1], f"{path}.port", 0, (1 << PORT_BITS) - 2, what)
        pnode = f["ingress_ports"][1]
        pnodes = pnode.value if isinstance(pnode, SequenceNode) else [pnode]
        for j, pn in enumerate(pnodes):
            sub = (
                f"{path}.ingress_ports[{j}]"
                if isinstance(pnode, SequenceNode)
                else f"{path}.ingress_ports"
            )
            port = r.integer(pn, sub, 0, (1 << PORT_BITS) - 2, what)
            if port is None or mport is None:
                continue
            if port in seen:
                r.error(pn, sub, f"port {port} already goes to the monitor on port {seen[port]}")
                continue
            seen[port] = mport
            out.append(MonitorPort(port, mport, r.where(pn)))
    return out


def _read_syn_offload(
    r: _Reader, node: Node, monitor: list[MonitorPort]
) -> SynOffloadConfig | None:
    f = r.mapping(node, "syn_offload", SYN_FIELDS, "the SYN-offload settings")
    if f is None:
        return None
    before = len(r.problems)
    cfg = SynOffloadConfig(where=r.where(node))
    values: dict[str, object] = {}
    if "enabled" in f:
        values["enabled"] = r.boolean(f["enabled"][1], "syn_offload.enabled")
    if "timeout" in f:
        t = r.parsed(f["timeout"][1], "syn_offload.timeout", "a duration", parse_duration_us)
        if t is not None and not 1 <= t <= SYN_MAX_TIMEOUT_US:
            r.error(
                f["timeout"][1],
                "syn_offload.timeout",
                f"{shown_int(t)} µs is out of range: 1µs..{SYN_MAX_TIMEOUT_US / 1e6}s "
                "(a record keeps the last SYN as a 24-bit µs offset, docs/syn-offload.md)",
            )
        values["timeout_us"] = t
    if "sweep_rate" in f:
        values["sweep_rate"] = r.integer(
            f["sweep_rate"][1],
            "syn_offload.sweep_rate",
            1,
            MAX_SWEEP_RATE,
            "a rate in sweep packets per second",
        )
    if "slots" in f:
        values["slots"] = r.integer(
            f["slots"][1], "syn_offload.slots", 1, (1 << 32) - 1, "a number of records"
        )
        values["slots_where"] = r.where(f["slots"][1])
    if "sweep_monitor_port" in f:
        n = f["sweep_monitor_port"][1]
        port = r.integer(n, "syn_offload.sweep_monitor_port", 0, (1 << PORT_BITS) - 2, "a port")
        if port is not None and port not in {m.monitor_port for m in monitor}:
            r.error(n, "syn_offload.sweep_monitor_port", f"port {port} is not a monitor port")
        values["sweep_monitor_port"] = port
    if not monitor:
        r.error(node, "syn_offload", "needs a 'monitor:' section (where held SYNs are sent)")
    if len(r.problems) != before:
        return None
    return replace(cfg, **values)  # type: ignore[arg-type]


def _duration_in(r: _Reader, n: Node, path: str, most_us: int, why: str) -> int | None:
    """A duration of 1 µs .. `most_us`; out of range, an error saying `why`."""
    t = r.parsed(n, path, "a duration", parse_duration_us)
    if t is not None and not 1 <= t <= most_us:
        r.error(
            n,
            path,
            f"{t} µs is out of range: 1µs..{most_us / 1e6}s ({why}, docs/reassembly.md)",
        )
    return t


def _read_reassembly(r: _Reader, node: Node, monitor: list[MonitorPort]) -> ReassemblyConfig | None:
    f = r.mapping(node, "reassembly", REASM_FIELDS, "the reassembly settings")
    if f is None:
        return None
    before = len(r.problems)
    values: dict[str, object] = {}
    if "enabled" in f:
        values["enabled"] = r.boolean(f["enabled"][1], "reassembly.enabled")
    if "slots" in f:
        values["slots"] = r.integer(
            f["slots"][1], "reassembly.slots", 1, (1 << 32) - 1, "a number of sessions"
        )
        values["slots_where"] = r.where(f["slots"][1])
    for name, key, most, why in (
        (
            "idle_timeout",
            "idle_timeout_us",
            REASM_MAX_IDLE_TIMEOUT_US,
            "a session keeps its last packet's time in 32 bits of µs",
        ),
        (
            "gap_timeout",
            "gap_timeout_us",
            REASM_MAX_GAP_TIMEOUT_US,
            "a held segment goes round the recirculation loop until then",
        ),
    ):
        if name in f:
            values[key] = _duration_in(r, f[name][1], f"reassembly.{name}", most, why)
    for name, most, why in (
        ("hold_segments_per_flow", REASM_MAX_HOLD_PER_FLOW, "a session counts them in 4 bits"),
        (
            "hold_segments_total",
            REASM_MAX_HOLD_TOTAL,
            "each one waits in the switch's recirculation queue",
        ),
    ):
        if name in f:
            values[name] = r.integer(
                f[name][1], f"reassembly.{name}", 0, most, f"a number of segments ({why})"
            )
    if not monitor:
        r.error(node, "reassembly", "needs a 'monitor:' section (where streams are sent)")
    if len(r.problems) != before:
        return None
    return replace(ReassemblyConfig(where=r.where(node)), **values)  # type: ignore[arg-type]


def _assign_ids(r: _Reader, raw: list[dict[str, object]]) -> list[StatsRule]:
    taken: dict[int, str] = {}
    for d in raw:
        rid = d.get("id")
        if isinstance(rid, int):
            if rid in taken:
                node = d["id_node"]
                assert isinstance(node, Node)
                r.error(
                    node,
                    f"stats[{d['index']}].id",
                    f"rule id {rid} is already used by '{taken[rid]}'",
                )
            taken[rid] = str(d.get("name"))
    rules: list[StatsRule] = []
    next_id = 1
    for d in raw:
        rid = d.get("id")
        if not isinstance(rid, int):
            while next_id in taken:
                next_id += 1
            rid = next_id
            taken[rid] = str(d.get("name"))
            if rid > MAX_RULE_ID:
                where = d["where"]
                assert isinstance(where, Where)
                r.problems.append(
                    Problem(
                        where,
                        f"stats[{d['index']}]",
                        f"no rule id left: rule ids are 16 bits, at most {MAX_RULE_ID} rules",
                    )
                )
                continue
        rules.append(
            StatsRule(
                index=int(d["index"]),  # type: ignore[call-overload]
                name=str(d["name"]),
                rule_id=rid,
                match=d["match"],  # type: ignore[arg-type]
                group_by=d["group_by"],  # type: ignore[arg-type]
                interval_us=int(d.get("interval_us", 0)),  # type: ignore[call-overload]
                packet_threshold=int(d.get("packet_threshold", 0)),  # type: ignore[call-overload]
                byte_threshold=int(d.get("byte_threshold", 0)),  # type: ignore[call-overload]
                bidirectional=bool(d.get("bidirectional", False)),
                slot=d.get("slot"),  # type: ignore[arg-type]
                priority=d.get("priority"),  # type: ignore[arg-type]
                description=str(d.get("description", "")),
                where=d["where"],  # type: ignore[arg-type]
            )
        )
    return rules


def read_rules(text: str, path: str) -> tuple[RuleSet, list[Problem]]:
    """Parse `text` (the content of `path`): the valid part of it and every mistake found."""
    r = _Reader(path)
    try:
        root = compose(text)
    except YamlError as e:
        return RuleSet(path), [Problem(Where(path, e.line, e.col), "", e.message)]
    if root is None:
        return RuleSet(path, end=Where(path, *text_end(text))), []
    top = r.mapping(root, "", TOP_FIELDS, "a rules file") or {}
    monitor = (
        _read_monitor(r, top["monitor"][1])
        if "monitor" in top and not _is_null(top["monitor"][1])
        else []
    )
    raw: list[dict[str, object]] = []
    if "stats" in top:
        snode = top["stats"][1]
        if isinstance(snode, SequenceNode):
            names: dict[str, int] = {}
            for i, item in enumerate(snode.value):
                d = _read_rule(r, item, i)
                if d is None or d.get("name") is None:
                    continue
                name = str(d["name"])
                if name in names:
                    node = d["name_node"]
                    assert isinstance(node, Node)
                    anchor = alias_of(item)
                    if anchor is not None:  # the whole rule repeated: report the repeat
                        r.error(
                            item,
                            f"stats[{i}]",
                            f"the alias *{anchor} repeats rule '{name}' (stats[{names[name]}])",
                        )
                    else:
                        r.error(
                            node,
                            f"stats[{i}].name",
                            f"'{name}' is already the name of stats[{names[name]}]",
                        )
                    continue
                names[name] = i
                if d["valid"]:
                    raw.append(d)
        elif not (isinstance(snode, ScalarNode) and snode.value == ""):
            r.error(snode, "stats", "expected a list of rules (each item starting with '- name:')")
    rules = _assign_ids(r, raw)
    syn = _read_syn_offload(r, top["syn_offload"][1], monitor) if "syn_offload" in top else None
    reasm = _read_reassembly(r, top["reassembly"][1], monitor) if "reassembly" in top else None
    mports = {m.monitor_port for m in monitor}
    group = read_monitors(r, top["monitors"][1], mports) if "monitors" in top else None
    pf = read_prefilters(r, top["prefilters"][1], monitor) if "prefilters" in top else None
    sections = frozenset(k for k, (_, v) in top.items() if not _is_null(v))
    end = Where(path, *text_end(text))
    return (
        RuleSet(path, tuple(rules), tuple(monitor), syn, sections, end, group, reasm, pf),
        r.problems,
    )


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def text_end(text: str) -> tuple[int, int]:
    """Line and column just after the last character of `text` that is not a line break."""
    body = text.rstrip("\r\n")
    line = body.count("\n") + 1
    return line, len(body) - (body.rfind("\n") + 1) + 1


CLEAR_HINT = (
    "nothing was written; to empty the switch on purpose: python -m controlplane clear "
    "(add --dry-run to see what it deletes)"
)


def omissions(rules: RuleSet) -> list[Problem]:
    """What a file that `install` must refuse leaves out: installing it would delete
    entries the operator most likely did not mean to delete (a truncated or emptied
    file). `monitor: []` and `stats: []` say "none" on purpose and are accepted."""
    end = rules.end or Where(rules.path, 1, 1)
    if not rules.sections:
        return [
            Problem(
                Where(rules.path, 1, 1),
                "",
                "the file has no rules (it is empty, only comments, or its sections are "
                "empty): installing it would delete every stats rule and every monitor port "
                "entry on the switch, so the monitor would get no traffic",
            )
        ]
    out: list[Problem] = []
    if "monitor" not in rules.sections:
        out.append(
            Problem(
                end,
                "monitor",
                "the file ends without a 'monitor:' section: installing it would delete every "
                "monitor_ports entry (the monitor gets no traffic); write 'monitor: []' if "
                "that is what you want",
            )
        )
    if "stats" not in rules.sections:
        out.append(
            Problem(
                end,
                "stats",
                "the file ends without a 'stats:' section: installing it would delete every "
                "stats rule; write 'stats: []' if that is what you want",
            )
        )
    return out


def load_rules(path: str | Path) -> tuple[RuleSet, list[Problem]]:
    """Read and parse the rules file at `path`; an unreadable file raises RulesError."""
    p = str(path)
    try:
        with Path(p).open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise RulesError(
            [Problem(Where(p, 1, 1), "", f"cannot read the rules file: {e.strerror or e}")]
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise RulesError(
            [
                Problem(
                    Where(p, 1, 1),
                    "",
                    f"the file is larger than {MAX_FILE_BYTES >> 20} MiB, more than any rules "
                    "file needs (65,535 rule ids): not read",
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        head = data[: e.start]
        line = head.count(b"\n") + 1
        col = len(head[head.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        raise RulesError(
            [
                Problem(
                    Where(p, line, col),
                    "",
                    f"not UTF-8 text: byte 0x{data[e.start]:02x} cannot start a character here",
                )
            ]
        ) from None
    return read_rules(text, p)


def _mask_text(name: str, mask: int) -> str:
    spec = FIELDS[name]
    if mask == spec.full:
        return "true"
    for n in range(spec.width + 1):
        if ((1 << n) - 1) << (spec.width - n) == mask:
            return f"/{n}"
    return f"0x{mask:x}"


def dump_rules(rules: list[StatsRule], header: str = "") -> str:
    """`rules` as a rules.yaml `stats:` section that `read_rules` reads back to equal rules
    (ids kept, slots and priorities dropped)."""
    from controlplane.fields import format_match

    items: list[dict[str, object]] = []
    for r in rules:
        d: dict[str, object] = {"name": r.name, "id": r.rule_id}
        if r.description:
            d["description"] = r.description
        if r.match:
            d["match"] = {n: format_match(m, FIELDS[n]) for n, m in r.match}
        if r.group_by:
            d["group_by"] = {n: _mask_text(n, m) for n, m in r.group_by}
        if r.interval_us:
            d["interval"] = f"{r.interval_us}us"
        th: dict[str, object] = {}
        if r.packet_threshold:
            th["packets"] = r.packet_threshold
        if r.byte_threshold:
            th["bytes"] = r.byte_threshold
        if th:
            d["thresholds"] = th
        if r.bidirectional:
            d["bidirectional"] = True
        items.append(d)
    body: str = yaml.safe_dump({"stats": items}, sort_keys=False, default_flow_style=False)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lines + body
