"""`thresholds apply`: the proposal as stats rules, installed as one batched diff.

From the base rules file (the operator's rules.yaml) and a proposal CSV:

1. The base file is validated and placed as `install` does; its vector rules (without an
   exact `dst_addr`) are the per-vector *defaults*; per-address rules it already has are
   dropped (the proposal replaces them).
2. Budget: a slot holds `STATS_RULES_PER_SLOT` rules. Addresses are ranked busiest first
   (the sum over vectors of their daily_max_q90 packets/s, else of their proposed
   packets/s thresholds); in that order each (address, vector) of the proposal gets its
   own rule while the default's slot has room and `max_rules` is not reached. A
   per-address rule is the default rule plus `dst_addr: ADDRESS`, pinned to the
   default's slot and listed before it, so it has the higher priority there: the
   address's packets count for it, every other address's for the default.
3. Each default's thresholds become the largest proposal among the addresses left to
   it (none of them alerts on its normal traffic); with none left it keeps the base
   file's thresholds.
4. Rates become the rule's per-interval thresholds: packets = ceil(packets/s x
   interval), bytes = ceil(bits/s x interval / 8).

Every base rule keeps its id and slot (placed as `install` places it, preferring the
last install's slots from the state file), so existing entries are modified in place
(counters kept); the new rules take the ids after the highest. The result is a complete
rules file (monitor and syn_offload sections as in the base), which the controller's
`install` path installs: one Write, a diff against the switch, `--dry-run` prints it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from controlplane import state as state_mod
from controlplane.deploy import InstallOptions, run_install, validate
from controlplane.errors import Problem, RulesError
from controlplane.model import STATS_RULES_PER_SLOT, StatsRule
from controlplane.thresholds.csvfile import read_csv, require_columns
from controlplane.thresholds.store import canonical_address
from controlplane.thresholds.vectors import BY_NAME, METRICS, address_of, classify

OVERLAP_WARNING = "can match the same packets and are both pinned to slot"


def own_name(default: str, address: str) -> str:
    """The name of `address`'s own rule of the vector whose default rule is `default`."""
    return f"{default}:{address}"


@dataclass(frozen=True)
class Wanted:
    """The proposal for one (address, vector): thresholds per metric and a busyness."""

    address: str
    vector: str
    rates: dict[str, float]  # metric -> packets/s or bits/s
    load: float  # packets/s that rank the address


def read_proposal(path: Path) -> list[Wanted]:
    """The proposal CSV (learn's output, maybe edited); RulesError at file:line:col."""
    header, rows, problems = read_csv(path)
    cols, missing = require_columns(
        header, path, [("address",), ("vector",), ("metric",), ("threshold",)]
    )
    if missing:
        raise RulesError(problems + missing)
    rates: dict[tuple[str, str], dict[str, float]] = {}
    load: dict[tuple[str, str], float] = {}
    for row in rows:
        cells = {k: row.get(v) for k, v in cols.items()}
        empty = [cols[k] for k, c in cells.items() if c is None]
        if empty:
            problems.append(Problem(row.where, "", f"no {', '.join(empty)} in this row"))
            continue
        a, v, m, t = (cells[k] for k in ("address", "vector", "metric", "threshold"))
        assert a is not None and v is not None and m is not None and t is not None
        try:
            addr = canonical_address(a.text)
        except ValueError:
            problems.append(Problem(a.where, "", f"'{a.text}' is not an IP address"))
            continue
        if v.text not in BY_NAME or BY_NAME[v.text].match is None:
            why = BY_NAME[v.text].reason if v.text in BY_NAME else "see docs/thresholds.md"
            problems.append(Problem(v.where, "", f"vector '{v.text}' has no stats rule ({why})"))
            continue
        if m.text not in METRICS:
            problems.append(Problem(m.where, "", f"unknown metric '{m.text}' (PPS or BW)"))
            continue
        try:
            value = float(t.text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            problems.append(Problem(t.where, "", f"'{t.text}' is not a positive threshold"))
            continue
        key = (addr, v.text)
        if m.text in rates.get(key, {}):
            problems.append(Problem(row.where, "", f"{addr} {v.text} {m.text} given twice"))
            continue
        rates.setdefault(key, {})[m.text] = value
        q90 = row.get("daily_max_q90")
        if m.text == "PPS":
            try:
                load[key] = float(q90.text) if q90 is not None else value
            except ValueError:
                load[key] = value
    if problems:
        raise RulesError(problems)
    return [Wanted(a, v, r, load.get((a, v), 0.0)) for (a, v), r in rates.items()]


def per_interval(rates: dict[str, float], interval_us: int) -> dict[str, int]:
    """rules.yaml thresholds for `rates` over an interval of `interval_us`."""
    out = {}
    if "PPS" in rates:
        out["packets"] = math.ceil(rates["PPS"] * interval_us / 1e6)
    if "BW" in rates:
        out["bytes"] = math.ceil(rates["BW"] * interval_us / 8e6)
    return out


@dataclass
class Plan:
    """The rules file `apply` installs, and what it decided."""

    text: str
    own: list[tuple[str, str]] = field(default_factory=list)  # (address, vector) with a rule
    names: list[str] = field(default_factory=list)  # their rules' names
    defaults: dict[str, dict[str, int]] = field(default_factory=dict)  # vector -> thresholds
    unmatched: list[str] = field(default_factory=list)  # proposal vectors without a rule
    lines: list[str] = field(default_factory=list)


def plan(
    base_path: str,
    wanted: Sequence[Wanted],
    max_rules: int | None = None,
    prefer: dict[str, int] | None = None,
) -> Plan:
    """The rules file for `wanted` on top of the base rules file (module docstring);
    `prefer` gives the slots of the last install (the state file's)."""
    rules, slots = validate(base_path, allow_fallback=False, prefer=prefer)
    raw = yaml.safe_load(Path(base_path).read_text(encoding="utf-8")) or {}
    raw_rules: list[dict[str, Any]] = list(raw.get("stats") or [])
    keep: list[StatsRule] = [r for r in rules.stats if address_of(r) is None or classify(r) is None]
    defaults = {
        v.name: r for r in keep if (v := classify(r)) is not None and r.name in slots.placed
    }
    load = [0] * slots.n_slots
    for r in keep:
        load[slots.placed[r.name][0]] += 1
    busy: dict[str, float] = {}
    for w in wanted:
        busy[w.address] = busy.get(w.address, 0.0) + w.load
    import ipaddress

    order = sorted(
        wanted, key=lambda w: (-busy[w.address], ipaddress.ip_address(w.address), w.vector)
    )
    budget = math.inf if max_rules is None else max_rules
    own: list[Wanted] = []
    rest: dict[str, list[Wanted]] = {}
    unmatched = sorted({w.vector for w in wanted if w.vector not in defaults})
    for w in order:
        base = defaults.get(w.vector)
        if base is None:
            continue
        slot = slots.placed[base.name][0]
        if len(own) < budget and load[slot] < STATS_RULES_PER_SLOT:
            own.append(w)
            load[slot] += 1
        else:
            rest.setdefault(w.vector, []).append(w)
    next_id = max((r.rule_id for r in rules.stats), default=0) + 1
    items: list[dict[str, Any]] = []
    for w in sorted(own, key=lambda w: (w.vector, ipaddress.ip_address(w.address))):
        base = defaults[w.vector]
        d = {k: v for k, v in raw_rules[base.index].items() if k not in ("table", "priority")}
        d["name"] = own_name(base.name, w.address)
        d["id"] = next_id
        next_id += 1
        d["description"] = f"{w.vector} of {w.address} (learned threshold)"
        d["match"] = {**(d.get("match") or {}), "dst_addr": w.address}
        d["slot"] = slots.placed[base.name][0]
        d["thresholds"] = per_interval(w.rates, base.interval_us)
        items.append(d)
    default_thresholds: dict[str, dict[str, int]] = {}
    for r in keep:
        d = {k: v for k, v in raw_rules[r.index].items() if k != "table"}
        d["id"] = r.rule_id
        d["slot"] = slots.placed[r.name][0]
        v = classify(r)
        if v is not None and v.name in rest:
            left = rest[v.name]
            top = {
                m: max(w.rates[m] for w in left if m in w.rates)
                for m in METRICS
                if any(m in w.rates for w in left)
            }
            d["thresholds"] = {**(d.get("thresholds") or {}), **per_interval(top, r.interval_us)}
            default_thresholds[v.name] = d["thresholds"]
        items.append(d)
    raw["stats"] = items
    head = (
        f"# Generated by `python -m controlplane thresholds apply` from {base_path} and\n"
        "# a thresholds proposal (docs/thresholds.md); edit those, not this file.\n"
    )
    text = head + yaml.safe_dump(raw, sort_keys=False, default_flow_style=False)
    lines = [
        f"{len(own)} addresses x vectors get their own rules"
        + (f" ({len(own)}/{max_rules} allowed)" if max_rules is not None else ""),
        *(
            f"  default {vec}: {', '.join(f'{k} {n}' for k, n in th.items())} per interval"
            for vec, th in sorted(default_thresholds.items())
        ),
    ]
    for vec in unmatched:
        lines.append(f"no vector rule for {vec} in {base_path}: its proposals are not installed")
    return Plan(
        text,
        [(w.address, w.vector) for w in own],
        [own_name(defaults[w.vector].name, w.address) for w in own],
        default_thresholds,
        unmatched,
        lines,
    )


@dataclass
class ApplyOptions:
    """Command-line settings of `thresholds apply`."""

    proposal: Path
    base_rules: str = "rules.yaml"
    rules_out: Path = Path("run/thresholds-rules.yaml")
    max_rules: int | None = None
    install: InstallOptions = field(default_factory=lambda: InstallOptions(rules_path=""))


def run_apply(opts: ApplyOptions, out: TextIO) -> int:
    """The apply command: plan, write the rules file, install it (or --dry-run)."""
    prefer = state_mod.load(opts.install.state_path).slots_by_name()
    p = plan(opts.base_rules, read_proposal(opts.proposal), opts.max_rules, prefer)
    for line in p.lines:
        print(line, file=out)
    opts.rules_out.parent.mkdir(parents=True, exist_ok=True)
    opts.rules_out.write_text(p.text, encoding="utf-8")
    print(f"wrote {opts.rules_out}", file=out)
    opts.install.rules_path = str(opts.rules_out)
    buf = io.StringIO()
    try:
        rc = run_install(opts.install, buf)
    finally:
        expected = 0
        for line in buf.getvalue().splitlines():
            if OVERLAP_WARNING in line and any(f"'{n}'" in line for n in p.names):
                expected += 1  # a per-address rule above its default: intended
                continue
            print(line, file=out)
        if expected:
            print(f"({expected} per-address rules sit above their default in its slot)", file=out)
    return rc
