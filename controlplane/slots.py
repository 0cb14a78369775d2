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
one slot are allowed, with a warning: priority decides). The others are placed by an
exact backtracking search (most-constrained rule first, previous slot first when
known, lowest slot next), bounded in steps; if no placement exists, a greedy pass
places as many as it can and the rest are reported as unplaced, with the rules that
block them: the paper's software fallback can count those from the monitor stream.
Two rules with the same match in one slot are one table entry to the switch, so
they count as overlapping too.

Scale: rules are never compared all against all. Each rule is a box (the interval
each field's match covers); an index on the field that separates the rules best
(fewest pairs of intersecting intervals, counted in O(n log n)) finds the few rules
whose box meets a rule's, and only those are compared exactly. Rules that overlap
nothing are placed without search (any slot with room). A rule set so entangled
that the overlap graph would be huge is placed greedily, slot by slot, stopping at
the first blocking rule; a bounded number of exact comparisons keeps even a hostile
file from hanging (the rest are reported unplaced, with the reason).

Priorities within a slot: explicit, else one more than the overlapping rules after it
in the file (longest chain), skipping priorities overlapping rules set explicitly; two
overlapping rules with the same explicit priority in one slot are a conflict
(`SlotPlan.conflicts`): the switch cannot order them, or refuses the second
(ALREADY_EXISTS) when their matches are equal. More than PINNED_PAIRWISE rules pinned
to one slot are not compared pairwise: they get file-order priorities (with a warning).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from controlplane.fields import FIELDS, IPV4_HIGH, Match, Range, Ternary, intersect, values_in
from controlplane.model import STATS_RULES_PER_SLOT, STATS_SLOTS, StatsRule

UNBOUNDED = 1 << 62
"""A capacity that never fills: placement by overlaps only (the pipeline's size comes later)."""

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


def conflicts(a: StatsRule, b: StatsRule) -> bool:
    """True if `a` and `b` may not share a slot: some packet matches both, or they are
    the same table entry (equal matches)."""
    return a.match == b.match or can_overlap(a, b)


SEARCH_LIMIT = 400
"""Most rules with overlaps the exact search places (more: the greedy pass)."""
PAIR_LIMIT = 200_000
"""Most candidate pairs (boxes that meet) compared to build the overlap graph."""
CHECK_BUDGET = 2_000_000
"""Most exact comparisons the greedy pass makes before it gives up on the rest."""
MAX_WARNINGS = 20
PINNED_PAIRWISE = 300
"""Most rules pinned to one slot that are compared pairwise (priorities, warnings)."""

Box = tuple[tuple[int, int], ...]


def _box(rule: StatsRule) -> Box:
    """Per field (FIELDS order): the interval of values the rule's match covers."""
    m = dict(rule.match)
    out = []
    for name, spec in FIELDS.items():
        x = m.get(name)
        if x is None:
            out.append((0, spec.full))
        elif isinstance(x, Range):
            out.append((x.lo, x.hi))
        else:
            out.append((x.value, x.value | (spec.full & ~x.mask)))
    return tuple(out)


def _meet(a: Box, b: Box) -> bool:
    return all(alo <= bhi and blo <= ahi for (alo, ahi), (blo, bhi) in zip(a, b, strict=True))


def _field_matches_meet(a: StatsRule, b: StatsRule) -> bool:
    """Cheap exact test per field (ternary value/mask included), before `conflicts`."""
    mb = dict(b.match)
    for name, x in a.match:
        y = mb.get(name)
        if y is None:
            continue
        if isinstance(x, Ternary) and isinstance(y, Ternary):
            if (x.value ^ y.value) & x.mask & y.mask:
                return False
        elif intersect(x, y, FIELDS[name].width) is None:
            return False
    return True


def _pairs_meeting(boxes: Sequence[Box], f: int) -> int:
    """How many pairs of rules have intersecting intervals on field `f`."""
    n = len(boxes)
    los = sorted(b[f][0] for b in boxes)
    disjoint = sum(n - bisect_right(los, b[f][1]) for b in boxes)
    return n * (n - 1) // 2 - disjoint


class _Index:
    """Rules by their interval on one field, bucketed by interval length (powers of two),
    so the rules whose interval meets a query's are found by bisection."""

    def __init__(self, boxes: Sequence[Box], f: int) -> None:
        self.boxes, self.f = boxes, f
        self.levels: dict[int, list[tuple[int, int]]] = {}  # level -> sorted (lo, rule)

    def add(self, i: int) -> None:
        lo, hi = self.boxes[i][self.f]
        insort(self.levels.setdefault((hi - lo).bit_length(), []), (lo, i))

    def near(self, i: int) -> Iterator[int]:
        """Indexed rules whose box meets rule `i`'s."""
        box = self.boxes[i]
        qlo, qhi = box[self.f]
        for level, items in self.levels.items():
            span = 1 << level  # every interval here is shorter than this
            start = bisect_left(items, (qlo - span, -1))
            stop = bisect_right(items, (qhi, 1 << 62))
            for k in range(start, stop):
                j = items[k][1]
                if _meet(box, self.boxes[j]):
                    yield j


def _best_field(boxes: Sequence[Box]) -> tuple[int, int]:
    """The field whose intervals separate the rules best, and its pair count."""
    if not boxes:
        return 0, 0
    return min(((f, _pairs_meeting(boxes, f)) for f in range(len(FIELDS))), key=lambda x: x[1])


def overlap_graph(rules: Sequence[StatsRule], limit: int = PAIR_LIMIT) -> list[set[int]] | None:
    """adj[i] = rules that conflict with rule i; None if it would take more than `limit`
    candidate comparisons."""
    boxes = [_box(r) for r in rules]
    f, pairs = _best_field(boxes)
    if pairs > limit:
        return None
    index = _Index(boxes, f)
    adj: list[set[int]] = [set() for _ in rules]
    checked = 0
    for i, r in enumerate(rules):
        for j in index.near(i):
            checked += 1
            if checked > limit:
                return None
            if _field_matches_meet(r, rules[j]) and conflicts(r, rules[j]):
                adj[i].add(j)
                adj[j].add(i)
        index.add(i)
    return adj


@dataclass(frozen=True)
class SlotPlan:
    """Where each rule goes: `placed[name] = (slot, priority)`; `unplaced` did not fit."""

    n_slots: int
    capacity: int
    placed: dict[str, tuple[int, int]]
    unplaced: tuple[StatsRule, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # overlapping (or equal) rules in one slot at one explicit priority: (a, b, slot, prio)
    conflicts: tuple[tuple[StatsRule, StatsRule, int, int], ...] = ()

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


class _Slots:
    """Which rule is where, with an index per slot for the lazy overlap test."""

    def __init__(self, rules: Sequence[StatsRule], n_slots: int, capacity: int) -> None:
        self.rules, self.n_slots, self.capacity = rules, n_slots, capacity
        self.boxes = [_box(r) for r in rules]
        self.field = _best_field(self.boxes)[0]
        self.index = [_Index(self.boxes, self.field) for _ in range(n_slots)]
        self.colour: dict[int, int] = {}
        self.load = [0] * n_slots
        self.checks = 0

    def put(self, i: int, s: int) -> None:
        self.colour[i] = s
        self.load[s] += 1
        self.index[s].add(i)

    def blocker(self, i: int, s: int) -> int | None:
        """A rule in slot `s` that conflicts with rule `i` (None if none)."""
        r = self.rules[i]
        for j in self.index[s].near(i):
            self.checks += 1
            if _field_matches_meet(r, self.rules[j]) and conflicts(r, self.rules[j]):
                return j
        return None


def _reason(rules: Sequence[StatsRule], blockers: list[int | None], capacity: int) -> str:
    parts = [
        f"slot {s}: {rules[b].label}" if b is not None else f"slot {s}: full ({capacity} rules)"
        for s, b in enumerate(blockers)
    ]
    return "it overlaps a rule in every slot (" + "; ".join(parts) + ")"


def assign(
    rules: Sequence[StatsRule],
    n_slots: int = STATS_SLOTS,
    capacity: int = STATS_RULES_PER_SLOT,
    prefer: Mapping[str, int] | None = None,
    max_steps: int = 20000,
) -> SlotPlan:
    """Place `rules` in `n_slots` slots of `capacity` rules; `prefer` gives previous slots."""
    slots = _Slots(rules, n_slots, capacity)
    reasons: dict[str, str] = {}
    unplaced: list[int] = []
    for i, r in enumerate(rules):
        if r.slot is None:
            continue
        if r.slot >= n_slots:
            unplaced.append(i)
            reasons[r.name] = f"it is pinned to slot {r.slot} but the pipeline has {n_slots} slots"
        elif slots.load[r.slot] >= capacity:
            unplaced.append(i)
            reasons[r.name] = f"slot {r.slot} is full ({capacity} rules)"
        else:
            slots.put(i, r.slot)
    free = [i for i, r in enumerate(rules) if r.slot is None]
    pref = {i: (prefer or {})[rules[i].name] for i in free if rules[i].name in (prefer or {})}
    pref = {i: s for i, s in pref.items() if 0 <= s < n_slots}
    adj = overlap_graph(rules)
    if adj is not None:
        tangled = [i for i in free if adj[i]]
        loose = [i for i in free if not adj[i]]
        trial = dict(slots.colour)
        trial_load = list(slots.load)
        ok = len(tangled) <= SEARCH_LIMIT and _search(
            tangled, adj, trial, trial_load, n_slots, capacity, pref, [max_steps]
        )
        order = loose if ok else sorted(tangled, key=lambda v: (-len(adj[v]), v)) + loose
        if ok:
            for i in tangled:
                slots.put(i, trial[i])
    else:
        order = free
    for i in order:
        cands = list(range(n_slots))
        if i in pref:
            cands.remove(pref[i])
            cands.insert(0, pref[i])
        blockers: list[int | None] = [None] * n_slots
        placed = False
        for s in cands:
            if slots.load[s] >= capacity:
                continue
            if adj is not None:
                b = next((u for u in sorted(adj[i]) if slots.colour.get(u) == s), None)
            elif slots.checks > CHECK_BUDGET:
                break
            else:
                b = slots.blocker(i, s)
            if b is None:
                slots.put(i, s)
                placed = True
                break
            blockers[s] = b
        if placed:
            continue
        unplaced.append(i)
        if adj is None and slots.checks > CHECK_BUDGET:
            reasons[rules[i].name] = (
                f"placement gave up after {CHECK_BUDGET:,} overlap comparisons: the rules "
                "overlap too much to place them quickly (make them disjoint or pin them)"
            )
        else:
            reasons[rules[i].name] = _reason(rules, blockers, capacity)
    colour = slots.colour

    def same_slot(i: int) -> list[int]:
        """Rules in rule i's slot that conflict with it."""
        if adj is not None:
            return [j for j in adj[i] if colour.get(j) == colour[i]]
        return [
            j
            for j in slots.index[colour[i]].near(i)
            if j != i and _field_matches_meet(rules[i], rules[j]) and conflicts(rules[i], rules[j])
        ]

    # Only pinned rules can share a slot with a rule they overlap. A slot with very many
    # of them is not compared pairwise: its rules get priorities in file order (each
    # below the one before, around the explicit ones), which orders any overlap right.
    warnings: list[str] = []
    pinned: dict[int, list[int]] = {}
    for i in sorted(colour):
        if rules[i].slot is not None:
            pinned.setdefault(colour[i], []).append(i)
    shared: dict[int, list[int]] = {}
    prio: dict[int, int] = {}
    clashes: list[tuple[StatsRule, StatsRule, int, int]] = []
    for slot, members in pinned.items():
        if len(members) <= PINNED_PAIRWISE:
            shared.update((i, same_slot(i)) for i in members)
            continue
        warnings.append(
            f"{len(members)} rules are pinned to slot {slot}, too many to compare pairwise: "
            "they get priorities in file order (earlier rules first)"
        )
        explicit = {rules[i].priority for i in members if rules[i].priority}
        p = 0
        for i in reversed(members):
            if rules[i].priority:
                prio[i] = rules[i].priority  # type: ignore[assignment]
                continue
            p += 1
            while p in explicit:
                p += 1
            prio[i] = p
        by_prio: dict[int, list[int]] = {}
        for i in members:
            if rules[i].priority:
                by_prio.setdefault(prio[i], []).append(i)
        for group in by_prio.values():
            for x, i in enumerate(group[:PINNED_PAIRWISE]):
                for j in group[x + 1 : PINNED_PAIRWISE]:
                    if conflicts(rules[i], rules[j]):
                        clashes.append((rules[i], rules[j], slot, prio[i]))
    for i in sorted(colour, reverse=True):
        if i in prio:
            continue
        nb = shared.get(i, [])
        if rules[i].priority:
            prio[i] = rules[i].priority  # type: ignore[assignment]
            continue
        later = [prio[j] for j in nb if j > i]
        taken = {prio[j] for j in nb if j > i} | {
            rules[j].priority for j in nb if j < i and rules[j].priority
        }
        p = 1 + max(later, default=0)
        while p in taken:
            p += 1
        prio[i] = p
    n_pairs = 0
    for i in sorted(shared):
        for j in sorted(shared[i]):
            if j <= i:
                continue
            ra, rb = rules[i], rules[j]
            if prio[i] == prio[j]:
                clashes.append((ra, rb, colour[i], prio[i]))
                continue
            n_pairs += 1
            if n_pairs <= MAX_WARNINGS:
                hi = ra if prio[i] > prio[j] else rb
                warnings.append(
                    f"{ra.label} and {rb.label} can match the same packets and are both pinned to "
                    f"slot {colour[i]}: such packets count only for {hi.label} (higher priority)"
                )
    if n_pairs > MAX_WARNINGS:
        warnings.append(f"... and {n_pairs - MAX_WARNINGS} more such pairs of pinned rules")
    placed_out = {rules[i].name: (colour[i], prio[i]) for i in sorted(colour)}
    return SlotPlan(
        n_slots=n_slots,
        capacity=capacity,
        placed=placed_out,
        unplaced=tuple(rules[i] for i in sorted(unplaced)),
        reasons=reasons,
        warnings=tuple(warnings),
        conflicts=tuple(clashes),
    )
