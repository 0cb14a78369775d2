"""The `install` command: validate, discover, place, compile, diff, apply.

1. Validate the whole rules file (every mistake, file:line:col), including slot
   placement against the documented stage (4 slots x 64 rules): exit 2.
2. Connect; optionally push a pipeline (--p4info/--config); read the running
   pipeline's P4Info and refuse what it cannot carry (exit 3), or, with
   --software-fallback FILE, hand those rules to `watch --software-rules FILE`.
3. Compile to entries, read what the switch holds, diff, write ONE batch, undo on
   refusal (install.apply). A second run with the same file sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from controlplane import prefilter_install
from controlplane import reassembly as reasm_mod
from controlplane import state as state_mod
from controlplane.balance import setup as balance_setup
from controlplane.capabilities import (
    MONITOR_TABLE,
    check_monitor,
    discover,
    rule_gaps,
    software_ok,
)
from controlplane.compile import compile_rules, managed_tables
from controlplane.errors import (
    CapabilityError,
    ControllerError,
    Problem,
    RulesError,
    SwitchError,
    WriteFailed,
)
from controlplane.install import (
    Change,
    InstallFailed,
    apply,
    diff,
    match_key,
    snapshot,
    summary,
)
from controlplane.model import STATS_RULES_PER_SLOT, STATS_SLOTS, RuleSet, StatsRule
from controlplane.p4info import P4Schema
from controlplane.p4rt import P4RuntimeSwitch
from controlplane.rules import CLEAR_HINT, dump_rules, load_rules, omissions
from controlplane.slots import UNBOUNDED, SlotPlan, assign
from controlplane.syn_offload import (
    SynState,
    clone_session_id,
    compiled_slots,
    effective_slots,
    plan_config,
    read_state,
    restore,
    session_ports,
)


@dataclass
class InstallOptions:
    """Command-line settings of `install`."""

    rules_path: str
    address: str = "127.0.0.1:9559"
    device_id: int = 1
    election_id: int = 1
    take_over: bool = True
    dry_run: bool = False
    p4info: Path | None = None
    config: Path | None = None
    software_fallback: Path | None = None
    state_path: Path = state_mod.DEFAULT_STATE
    timeout_s: float = 5.0
    clear: bool = False  # `clear`: install an explicitly empty rule set (rules_path unused)
    extra: dict[str, object] = field(default_factory=dict)


def fallback_hint(path: str) -> str:
    """The offer of the paper's software fallback."""
    return (
        "The switch cannot count these rules, but software can (paper §3.2): rerun with "
        "--software-fallback FILE to install the others and write these to FILE, then count "
        f"them from the monitor stream with `python -m controlplane watch --software-rules FILE`. "
        f"(Or make them disjoint, or pin fewer rules with slot:, in {path}.)"
    )


def validate(
    path: str,
    allow_fallback: bool,
    prefer: dict[str, int] | None = None,
    n_slots: int = STATS_SLOTS,
    capacity: int = STATS_RULES_PER_SLOT,
    complete: bool = True,
) -> tuple[RuleSet, SlotPlan]:
    """Load and check `path`; RulesError lists every mistake. With `complete`, a file
    that leaves out a section (rules.omissions) is a mistake too."""
    rules, problems = load_rules(path)
    gaps = omissions(rules) if complete else []
    problems += gaps
    plan = assign(rules.stats, n_slots, capacity, prefer=prefer)
    hint = ""
    if plan.unplaced and not allow_fallback:
        for r in plan.unplaced:
            assert r.where is not None
            problems.append(
                Problem(
                    r.where,
                    f"stats[{r.index}]",
                    f"more overlapping rules than the switch's {n_slots} slots: "
                    f"'{r.name}' does not fit because {plan.reasons[r.name]}",
                )
            )
        hint = fallback_hint(path)
    problems += conflict_problems(plan)
    if problems:
        raise RulesError(problems, "\n".join(h for h in (hint, CLEAR_HINT if gaps else "") if h))
    return rules, plan


def conflict_messages(plan: SlotPlan) -> list[tuple[StatsRule, str]]:
    """Per rule of each same-slot, same-priority pair: what is wrong (naming the other)."""
    out: list[tuple[StatsRule, str]] = []
    for a, b, slot, prio in plan.conflicts:
        same = a.match == b.match
        why = (
            "have the same match: the switch holds one entry per match and priority, and "
            "refuses the second (ALREADY_EXISTS)"
            if same
            else "can match the same packets: the switch cannot tell which one counts them"
        )
        for me, other in ((a, b), (b, a)):
            out.append(
                (
                    me,
                    f"{me.label} and {other.label} (at {other.where}) are both in slot {slot} "
                    f"at priority {prio} and {why}; give one of them another priority or slot",
                )
            )
    return out


def conflict_problems(plan: SlotPlan) -> list[Problem]:
    """`plan.conflicts` as Problems at both rules' positions."""
    return [
        Problem(r.where, f"stats[{r.index}]", msg)
        for r, msg in conflict_messages(plan)
        if r.where is not None
    ]


def _describe_plan(rules: RuleSet, plan: SlotPlan) -> list[str]:
    out = []
    for s in range(plan.n_slots):
        names = [r.name for r in plan.slot_rules(rules.stats, s)]
        out.append(f"  slot {s}: {', '.join(names) if names else '(empty)'}")
    return out


def _fit_pipeline(
    rules: RuleSet, plan: SlotPlan, schema: P4Schema, opts: InstallOptions
) -> tuple[SlotPlan, list[StatsRule], list[str]]:
    """Re-place the rules for the pipeline as it is: (plan, software rules, notes)."""
    caps = discover(schema)
    messages = [f"the pipeline departs from docs/stats-stage.md: {p}" for p in caps.problems]
    if caps.n_slots == 0:
        raise CapabilityError(
            ["the running pipeline has no stats stage (no table NidsIngress.stats.slot0.rules)"]
        )
    messages += check_monitor(rules, caps, schema)
    software: list[StatsRule] = []
    hardware: list[StatsRule] = []
    refused: list[StatsRule] = []
    for r in rules.stats:
        gaps = rule_gaps(r, caps)
        if not gaps:
            hardware.append(r)
        elif opts.software_fallback and software_ok(r):
            software.append(r)
        else:
            refused.append(r)
            messages += [f"{r.label} {g}" for g in gaps]
    notes: list[str] = []
    if (caps.n_slots, caps.capacity) != (plan.n_slots, plan.capacity) or software:
        notes.append(f"the pipeline has {caps.n_slots} slots of {caps.capacity} rules")
        plan = assign(hardware, caps.n_slots, caps.capacity, prefer=plan_slots(plan))
    for r in plan.unplaced:
        if opts.software_fallback and software_ok(r):
            software.append(r)
        else:
            refused.append(r)
            messages.append(f"{r.label} does not fit: {plan.reasons[r.name]}")
    messages += [msg for _, msg in conflict_messages(plan)][::2]
    if messages:
        can_fallback = not opts.software_fallback and any(software_ok(r) for r in refused)
        raise CapabilityError(messages, fallback_hint(opts.rules_path) if can_fallback else "")
    return plan, sorted(software, key=lambda r: r.index), notes


def plan_slots(plan: SlotPlan) -> dict[str, int]:
    """Slot per placed rule name."""
    return {name: slot for name, (slot, _) in plan.placed.items()}


def _apply_all(
    sw: P4RuntimeSwitch,
    schema: P4Schema,
    changes: list[Change],
    before: dict[str, list[p4runtime_pb2.TableEntry]],
    tables: dict[str, int],
    syn_updates: list[p4runtime_pb2.Update],
    syn_before: SynState | None,
    sessions: list[int],
    mcast: tuple[list[p4runtime_pb2.Update], balance_setup.MulticastState] = ([], {}),
) -> None:
    """SYN-offload settings and the monitor group's multicast groups first, then the
    table batch; on any refusal all are put back as they were, so nothing stays
    half-installed."""
    mcast_updates, mcast_before = mcast

    def put_back() -> None:
        if syn_updates and syn_before is not None:
            restore(sw, syn_before, schema, sessions)
        if mcast_updates:
            balance_setup.restore_multicast(
                sw, mcast_before, balance_setup.touched_groups(mcast_updates)
            )

    if syn_updates or mcast_updates:
        assert syn_before is not None or not syn_updates
        try:
            sw.write(syn_updates + mcast_updates)
        except WriteFailed as e:
            put_back()
            lines = [f"the switch refused the SYN-offload or multicast settings ({e}):"]
            lines += [f"  update {u.index}: {u.code}: {u.message}" for u in e.errors]
            lines.append("they were put back as they were; no table entry was written")
            raise InstallFailed("\n".join(lines)) from None
    if changes:
        try:
            apply(sw, changes, before, tables)
        except InstallFailed:
            put_back()
            raise


def _syn_state(rules: RuleSet, slots: int) -> dict[str, int]:
    cfg = rules.syn_offload
    if cfg is None or not cfg.enabled:
        return {}
    port = cfg.sweep_monitor_port
    if port is None:
        port = rules.monitor[0].monitor_port
    return {
        "slots": slots,
        "timeout_us": cfg.timeout_us,
        "sweep_rate": cfg.sweep_rate,
        "sweep_monitor_port": port,
    }


def run_install(opts: InstallOptions, out: TextIO) -> int:
    """The install command; returns the exit status (0), raises ControllerError."""
    previous = state_mod.load(opts.state_path)
    gaps: list[Problem] = []
    if opts.clear:
        rules = RuleSet("(clear)", sections=frozenset(("monitor", "stats")))
        plan = assign(())
        print("clear: every stats rule and monitor port entry goes, SYN offload off", file=out)
    else:
        rules, plan = validate(
            opts.rules_path,
            bool(opts.software_fallback),
            prefer=previous.slots_by_name(),
            capacity=UNBOUNDED,
            complete=False,
        )
        gaps = omissions(rules)
        if gaps and opts.p4info is not None:
            raise RulesError(gaps, f"the pipeline was not pushed; {CLEAR_HINT}")
        n_monitor = len(rules.monitor)
        print(
            f"{opts.rules_path}: {len(rules.stats)} stats rules, {n_monitor} monitor "
            f"port{'s' if n_monitor != 1 else ''}: " + ("REFUSED (see below)" if gaps else "valid"),
            file=out,
        )
    try:
        return _install_on(opts, rules, plan, previous, gaps, out)
    except ControllerError as e:
        if not gaps or isinstance(e, RulesError):
            raise
        # the switch could not be read: the file is refused all the same
        raise RulesError(gaps, f"{CLEAR_HINT}\n(what it would delete is unknown: {e})") from None


def entry_origins(
    before: dict[str, list[p4runtime_pb2.TableEntry]],
    schema: P4Schema,
    previous: state_mod.State,
) -> dict[tuple[object, ...], str]:
    """How messages name the entries the switch holds: `rule 'ddos-syn' (id 3)` (names
    from the last install's state), `monitor port 0`."""
    names = {r.rule_id: r.name for r in previous.rules}
    out: dict[tuple[object, ...], str] = {}
    for table, entries in before.items():
        for e in entries:
            if table == MONITOR_TABLE and e.match:
                out[match_key(e)] = f"monitor port {int.from_bytes(e.match[0].exact.value, 'big')}"
                continue
            try:
                action = schema.action(schema.name_of(e.action.action.action_id))
                pid = action.param("rule_id").id
            except LookupError:
                continue
            rid = next(
                (
                    int.from_bytes(x.value, "big")
                    for x in e.action.action.params
                    if x.param_id == pid
                ),
                None,
            )
            if rid is not None:
                name = names.get(rid)
                out[match_key(e)] = f"rule '{name}' (id {rid})" if name else f"rule id {rid}"
    return out


def _refuse_incomplete(gaps: list[Problem], changes: list[Change], syn_lines: list[str]) -> None:
    """Refuse a file that leaves sections out, listing what installing it would delete."""
    deletes = [c for c in changes if c.kind == "delete"]
    lines = [f"it would delete {len(deletes)} entries the switch holds now:"]
    lines += [f"  {c.describe()}" for c in deletes[:50]]
    if len(deletes) > 50:
        lines.append(f"  ... and {len(deletes) - 50} more")
    lines += [f"and change:{line}" for line in syn_lines]
    raise RulesError(gaps, "\n".join([*lines, CLEAR_HINT]))


def _install_on(
    opts: InstallOptions,
    rules: RuleSet,
    plan: SlotPlan,
    previous: state_mod.State,
    gaps: list[Problem],
    out: TextIO,
) -> int:
    with P4RuntimeSwitch(opts.address, opts.device_id, opts.election_id, opts.timeout_s) as sw:
        if opts.p4info is not None and opts.config is not None:
            p4info = p4info_pb2.P4Info()
            try:
                text_format.Parse(opts.p4info.read_text(encoding="utf-8"), p4info)
                device_config = opts.config.read_bytes()
            except (OSError, text_format.ParseError) as e:
                raise SwitchError(f"cannot read the pipeline to push: {e}") from None
            if opts.dry_run:
                print(f"dry run: would push {opts.config} first (not done)", file=out)
            else:
                sw.become_primary(take_over=opts.take_over)
                sw.set_pipeline(p4info, device_config)
                print(f"pushed the pipeline {opts.config} to device {opts.device_id}", file=out)
        running = sw.get_p4info()
        if running is None:
            raise SwitchError(
                f"the switch at {opts.address} has no pipeline yet: push one with --p4info "
                "build/main.p4info.txtpb --config build/main.json (make run does this)"
            )
        schema = P4Schema(running)
        plan, software, notes = _fit_pipeline(rules, plan, schema, opts)
        syn_slots = (
            effective_slots(rules.syn_offload, schema, opts.rules_path)
            if rules.syn_offload is not None and rules.syn_offload.enabled
            else 0
        )
        reasm_slots = (
            reasm_mod.effective_slots(rules.reassembly, schema, opts.rules_path)
            if rules.reassembly is not None and rules.reassembly.enabled
            else 0
        )
        for n in notes:
            print(n, file=out)
        for w in plan.warnings:
            print(f"warning: {w}", file=out)
        print("placement:", file=out)
        for line in _describe_plan(rules, plan):
            print(line, file=out)
        if software:
            names = ", ".join(r.name for r in software)
            print(f"counted in software (not on the switch): {names}", file=out)
        balance_setup.check(rules, schema)
        desired = compile_rules(rules, plan, schema) + balance_setup.desired_entries(rules, schema)
        tables = {name: schema.table(name).id for name in managed_tables(schema, plan.n_slots)}
        before = snapshot(sw, tables, with_counters=True)
        changes = diff(desired, before, entry_origins(before, schema, previous))
        counts = summary(changes)
        for table in tables:
            c = counts.get(table)
            if c:
                print(
                    f"  {table}: {c['added']} added, {c['modified']} modified, "
                    f"{c['deleted']} deleted",
                    file=out,
                )
        # (an enabled section on a pipeline without the stage was refused above)
        has_syn = compiled_slots(schema) is not None
        sessions = [clone_session_id(p) for p in session_ports(rules)]
        syn_before = read_state(sw, schema, sessions) if has_syn else None
        syn_updates, syn_lines = (
            plan_config(rules, schema, syn_before, syn_slots)
            if syn_before is not None
            else ([], [])
        )
        if gaps:
            _refuse_incomplete(gaps, changes, syn_lines)
        mcast_before = balance_setup.read_multicast(sw) if balance_setup.has_stage(schema) else {}
        mcast_updates, mcast_lines = (
            balance_setup.plan_multicast(rules, mcast_before)
            if balance_setup.has_stage(schema)
            else ([], [])
        )
        for line in syn_lines + mcast_lines:
            print(line, file=out)
        reasm_updates: list[p4runtime_pb2.Update] = []
        if reasm_mod.compiled_slots(schema) is not None:
            current = reasm_mod.read_default(sw, schema)
            reasm_updates, reasm_lines = reasm_mod.plan_config(rules, schema, current, reasm_slots)
            for line in reasm_lines:
                print(line, file=out)
        pf_updates, pf_lines = prefilter_install.config_update(
            rules.prefilters, schema, prefilter_install.read_default(sw, schema)
        )
        for line in pf_lines:
            print(line, file=out)
        if opts.clear:
            for ch in changes:
                print(f"  {'would ' if opts.dry_run else ''}{ch.describe()}", file=out)
        if opts.dry_run:
            for ch in [] if opts.clear else changes:
                print(f"  would {ch.describe()}", file=out)
            n_updates = (
                len(changes)
                + len(syn_updates)
                + len(mcast_updates)
                + len(reasm_updates)
                + len(pf_updates)
            )
            print(f"dry run: {n_updates} updates not sent", file=out)
            return 0
        if changes or syn_updates or mcast_updates:
            if not sw.is_primary:
                sw.become_primary(take_over=opts.take_over)
            _apply_all(
                sw,
                schema,
                changes,
                before,
                tables,
                syn_updates,
                syn_before,
                sessions,
                (mcast_updates, mcast_before),
            )
            total = {
                k: sum(c[k] for c in counts.values()) for k in ("added", "modified", "deleted")
            }
            print(
                f"installed in one Write: {total['added']} added, {total['modified']} modified, "
                f"{total['deleted']} deleted",
                file=out,
            )
            if syn_updates:
                print(f"SYN-offload settings: {len(syn_updates)} updates in one Write", file=out)
            if mcast_updates:
                print(f"multicast groups: {len(mcast_updates)} updates (with those)", file=out)
        if reasm_updates:
            if not sw.is_primary:
                sw.become_primary(take_over=opts.take_over)
            sw.write(reasm_updates)
            print("reassembly settings: 1 update", file=out)
        if pf_updates:
            if not sw.is_primary:
                sw.become_primary(take_over=opts.take_over)
            sw.write(pf_updates)
            print("prefilter settings: 1 update", file=out)
        if not (changes or syn_updates or mcast_updates or reasm_updates or pf_updates):
            print("no changes: the switch already holds these rules", file=out)
    if opts.software_fallback is not None:
        header = (
            f"Rules from {opts.rules_path} the switch cannot count (written by install).\n"
            f"Count them in software: python -m controlplane watch --software-rules "
            f"{opts.software_fallback} ..."
        )
        opts.software_fallback.parent.mkdir(parents=True, exist_ok=True)
        opts.software_fallback.write_text(dump_rules(software, header), encoding="utf-8")
        print(f"wrote {len(software)} software rules to {opts.software_fallback}", file=out)
    new_state = state_mod.State(
        address=opts.address,
        device_id=opts.device_id,
        rules_file="" if opts.clear else opts.rules_path,
        rules=[
            state_mod.InstalledRule(
                r.name,
                r.rule_id,
                plan.placed[r.name][0],
                plan.placed[r.name][1],
                dict(r.group_by),
                r.description,
            )
            for r in rules.stats
            if r.name in plan.placed
        ],
        software_rules_file=str(opts.software_fallback or ""),
        group_keys=previous.group_keys,
        syn_offload=_syn_state(rules, syn_slots),
    )
    state_mod.save(new_state, opts.state_path)
    return 0
