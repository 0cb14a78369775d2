"""Place rules into the stats stage's slots.

Within a slot only the highest-priority matching rule counts a packet, so two rules
that can match the same packet must sit in different slots or one of them silently
misses packets. Placement is graph colouring: rules are vertices, "can overlap" is an
edge, slots are colours, each slot holds at most `capacity` rules.

Overlap is decided per field (two matches intersect), refined by what the stage
reads for packets that lack a field (docs/stats-stage.md: such fields read as 0):
a UDP packet has TCP flags 0, an ICMP packet ports 0, a non-IPv4 frame zeros
everywhere. So "ICMP" and "dst_port 22" do not overlap, "UDP" and "DNS from port
53" do.

Pinned rules (`slot:`) stay where the user put them (overlaps among pinned rules in
one slot are allowed, with a warning: file order decides). The others are placed by
an exact backtracking search (most-constrained rule first, previous slot first when
known, lowest slot next), bounded in steps; if no placement exists, a greedy pass
places as many as it can and the rest are reported as unplaced, with the rules that
block them: the paper's software fallback can count those from the monitor stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controlplane.fields import FIELDS, IPV4_HIGH, Match, Range, Ternary, intersect, values_in
from controlplane.model import STATS_RULES_PER_SLOT, STATS_SLOTS, StatsRule

_TCP, _UDP = 6, 17
_ZERO_PORTS = {"src_port": Range(0, 0), "dst_port": Range(0, 0)}
_V4 = {"is_ipv4": Ternary(1, 1), "is_ipv6": Ternary(0, 1)}
_V4_ADDRS = {"src_addr": Ternary(0, IPV4_HIGH), "dst_addr": Ternary(0, IPV4_HIGH)}
_V6 = {"is_ipv4": Ternary(0, 1), "is_ipv6": Ternary(1, 1)}
_IP_CLASSES: tuple[dict[str, Match], ...] = (
    {"protocol": Ternary(_TCP, 0xFF)},
    {"protocol": Ternary(_UDP, 0xFF), "tcp_flags": Ternary(0, 0xFF)},
    # other IP protocols (checked below to be neither TCP nor UDP): no ports, no flags
    {"tcp_flags": Ternary(0, 0xFF), **_ZERO_PORTS},
)
_CLASSES: tuple[dict[str, Match], ...] = (
    # neither IPv4 nor IPv6: every IP/L4 field reads 0
    {
        "is_ipv4": Ternary(0, 1),
        "is_ipv6": Ternary(0, 1),
        "src_addr": Ternary(0, FIELDS["src_addr"].full),
        "dst_addr": Ternary(0, FIELDS["dst_addr"].full),
        "protocol": Ternary(0, 0xFF),
        "tcp_flags": Ternary(0, 0xFF),
        "is_fragment": Ternary(0, 1),
        **_ZERO_PORTS,
    },
    # IPv4 (addresses in the low 32 bits) and IPv6, each by upper-layer protocol
    *({**_V4, **_V4_ADDRS, **c} for c in _IP_CLASSES),
    *({**_V6, **c} for c in _IP_CLASSES),
)
_OTHER_PROTOCOL_CLASSES = frozenset(i for i, c in enumerate(_CLASSES) if "protocol" not in c)


def _ternary_values(t: Ternary, width: int) -> list[int]:
    free = [1 << i for i in range(width) if not t.mask >> i & 1]
    out = [t.value]
    for bit in free:
        out += [v | bit for v in out]
    return out


def can_overlap(a: StatsRule, b: StatsRule) -> bool:
    """True if some packet can match both rules."""
    ma, mb = dict(a.match), dict(b.match)
    for ci, cls in enumerate(_CLASSES):
        ok = True
        proto: Match | None = None
        for name, spec in FIELDS.items():
            cur: Match | None = None
            for m in (ma.get(name), mb.get(name), cls.get(name)):
                if m is None:
                    continue
                cur = m if cur is None else intersect(cur, m, spec.width)
                if cur is None:
                    ok = False
                    break
            if not ok:
                break
            if name == "protocol":
                proto = cur
        if ok and ci in _OTHER_PROTOCOL_CLASSES:
            # the "other protocol" class needs a protocol value that is neither TCP nor UDP
            if proto is None or values_in(proto, 8) > 2:
                return True
            assert isinstance(proto, Ternary)
            ok = any(v not in (_TCP, _UDP) for v in _ternary_values(proto, 8))
        if ok:
            return True
    return False


@dataclass(frozen=True)
class SlotPlan:
    """Where each rule goes: `placed[name] = (slot, priority)`; `unplaced` did not fit."""

    n_slots: int
    capacity: int
    placed: dict[str, tuple[int, int]]
    unplaced: tuple[StatsRule, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def slot_rules(self, rules: Sequence[StatsRule], slot: int) -> list[StatsRule]:
        """The rules placed in `slot`, in file order."""
        return [r for r in rules if r.name in self.placed and self.placed[r.name][0] == slot]


def _search(
    order: list[int],
    adj: list[set[int]],
    colour: dict[int, int],
    load: list[int],
    n_slots: int,
    capacity: int,
    prefer: dict[int, int],
    budget: list[int],
) -> bool:
    """Backtracking over `order`; fills `colour`; False if impossible or out of budget."""
    if not order:
        return True
    budget[0] -= 1
    if budget[0] < 0:
        return False

    # most constrained first (DSatur): fewest free slots, then most neighbours
    def free_slots(v: int) -> list[int]:
        used = {colour[u] for u in adj[v] if u in colour}
        return [s for s in range(n_slots) if s not in used and load[s] < capacity]

    best = min(order, key=lambda v: (len(free_slots(v)), -len(adj[v]), v))
    rest = [v for v in order if v != best]
    cands = free_slots(best)
    if best in prefer and prefer[best] in cands:
        cands.remove(prefer[best])
        cands.insert(0, prefer[best])
    for s in cands:
        colour[best] = s
        load[s] += 1
        if _search(rest, adj, colour, load, n_slots, capacity, prefer, budget):
            return True
        del colour[best]
        load[s] -= 1
        if budget[0] < 0:
            return False
    return False


def assign(
    rules: Sequence[StatsRule],
    n_slots: int = STATS_SLOTS,
    capacity: int = STATS_RULES_PER_SLOT,
    prefer: Mapping[str, int] | None = None,
    max_steps: int = 20000,
) -> SlotPlan:
    """Place `rules` in `n_slots` slots of `capacity` rules; `prefer` gives previous slots."""
    n = len(rules)
    adj: list[set[int]] = [set() for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if can_overlap(rules[i], rules[j]):
                adj[i].add(j)
                adj[j].add(i)
    colour: dict[int, int] = {}
    load = [0] * n_slots
    reasons: dict[str, str] = {}
    unplaced: list[int] = []
    warnings: list[str] = []
    for i, r in enumerate(rules):
        if r.slot is None:
            continue
        if r.slot >= n_slots:
            unplaced.append(i)
            reasons[r.name] = f"it is pinned to slot {r.slot} but the pipeline has {n_slots} slots"
        elif load[r.slot] >= capacity:
            unplaced.append(i)
            reasons[r.name] = f"slot {r.slot} is full ({capacity} rules)"
        else:
            colour[i] = r.slot
            load[r.slot] += 1
    for i in colour:
        for j in adj[i]:
            if j in colour and j > i and colour[j] == colour[i]:
                a, b = rules[i], rules[j]
                warnings.append(
                    f"{a.label} and {b.label} can match the same packets and are both pinned to "
                    f"slot {colour[i]}: such packets count only for {a.label} (higher priority)"
                )
    free = [i for i, r in enumerate(rules) if r.slot is None]
    pref = {i: (prefer or {})[rules[i].name] for i in free if rules[i].name in (prefer or {})}
    trial = dict(colour)
    trial_load = list(load)
    if _search(free, adj, trial, trial_load, n_slots, capacity, pref, [max_steps]):
        colour = trial
    else:
        # No complete placement (or it took too long): place greedily, most-constrained first.
        for i in sorted(free, key=lambda v: (-len(adj[v]), v)):
            used = {colour[u] for u in adj[i] if u in colour}
            slots = [s for s in range(n_slots) if s not in used and load[s] < capacity]
            if i in pref and pref[i] in slots:
                slots.insert(0, pref[i])
            if slots:
                colour[i] = slots[0]
                load[slots[0]] += 1
                continue
            unplaced.append(i)
            blockers = []
            for s in range(n_slots):
                who = next((rules[u] for u in sorted(adj[i]) if colour.get(u) == s), None)
                blockers.append(
                    f"slot {s}: {who.label}" if who else f"slot {s}: full ({capacity} rules)"
                )
            reasons[rules[i].name] = (
                "it overlaps a rule in every slot (" + "; ".join(blockers) + ")"
            )
    # Priorities: explicit, else longer chains of overlapping later rules in the slot first.
    placed: dict[str, tuple[int, int]] = {}
    prio: dict[int, int] = {}
    for i in sorted(colour, reverse=True):
        later = [prio[j] for j in adj[i] if j > i and j in colour and colour[j] == colour[i]]
        prio[i] = rules[i].priority or 1 + max(later, default=0)
        placed[rules[i].name] = (colour[i], prio[i])
    return SlotPlan(
        n_slots=n_slots,
        capacity=capacity,
        placed=placed,
        unplaced=tuple(rules[i] for i in sorted(unplaced)),
        reasons=reasons,
        warnings=tuple(warnings),
    )
