"""The controller loop of a monitor group (docs/balance.md, `python -m controlplane balance`).

Per new connection the switch reports (digest `balance_new_flow_t`, acknowledged), BLB
(`Balancer.assign`) decides its cluster(s). Each interval the loop

1. reads the egress per-port counter of the worker ports: packets/s in % of a worker's
   capacity are the measured loads (`Balancer.set_loads`);
2. reads the cluster entries' direct counters: a cluster whose entry matched packets is
   touched (it does not decay while in use);
3. expires the clusters lighter than th_w;
4. rebalances when the measured loads' variance exceeds V (`rebalance`): the switch
   enacts BLB only through entries, each of which sends all new connections of a
   destination, source or subnet to one worker, so the loads it measures can drift
   away from what BLB predicted; the loop then moves single entries (pins their key
   to another worker) from the most to the least loaded worker, each time the one
   whose measured traffic is closest to half the gap, until the predicted variance is
   within V; for `hold` intervals after a move the predicted shift, fading as started
   connections end, is added to the measured loads and no other move is made;
5. turns the clusters into cluster-table entries (`cluster_rules`) and writes the
   difference to what the table holds for this group in one Write (undone if refused).

Entries (`cluster_rules`): each cluster counts the destinations, sources and destination
subnets of its flows; a destination with `min_flows` of them becomes a /32 (/128) entry
to the cluster's worker (a victim's), a source likewise (a scanner's), a subnet with
`min_flows` flows to more than one destination a prefix entry. With F > 1, a cluster
whose latest flow went to several workers sends its flows to that set's multicast
group too.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from p4.v1 import p4runtime_pb2

from controlplane import pipeline_spec as ps
from controlplane.balance.blb import Balancer, Decision
from controlplane.balance.entries import ClusterRule, cluster_update, multicast_id
from controlplane.balance.flow import Flow
from controlplane.balance.section import MonitorGroup
from controlplane.balance.solvep import variance
from controlplane.compile import Desired
from controlplane.install import Change, InstallFailed, apply, diff, match_key, snapshot
from controlplane.p4info import P4Schema

PRIORITY_DST = 3
PRIORITY_SRC = 2
PRIORITY_SUBNET = 1
DIGEST_MAX_LIST = 64
DIGEST_TIMEOUT_NS = 10_000_000
DIGEST_ACK_TIMEOUT_NS = 1_000_000_000


class LoopSwitch(Protocol):
    """What the loop needs of a P4Runtime connection (p4rt.P4RuntimeSwitch, or the
    in-process testbed.local_p4runtime.LocalP4Runtime)."""

    def read(self, entities: Sequence[p4runtime_pb2.Entity]) -> list[p4runtime_pb2.Entity]: ...

    def read_table(
        self, table_id: int, with_counters: bool = False
    ) -> list[p4runtime_pb2.TableEntry]: ...

    def read_counter(self, counter_id: int) -> list[p4runtime_pb2.CounterEntry]: ...

    def write(self, updates: Sequence[p4runtime_pb2.Update]) -> None: ...

    def take_digests(self, timeout_s: float = 0.0) -> list[p4runtime_pb2.DigestList]: ...

    def ack_digest(self, digest_id: int, list_id: int) -> None: ...


@dataclass(frozen=True)
class NewFlow:
    """One connection the switch stored: the flow as its first packet had it, the
    group's monitor port and the worker (and multicast group) the switch chose."""

    flow: Flow
    monitor_port: int
    worker: int
    mcast_group: int


def parse_digest(dl: p4runtime_pb2.DigestList) -> list[NewFlow]:
    """The samples of a `balance_new_flow_t` digest list."""
    out = []
    for d in dl.data:
        v = dict(
            zip(
                ps.BALANCE_NEW_FLOW_FIELDS,
                (int.from_bytes(m.bitstring, "big") for m in d.struct.members),
                strict=True,
            )
        )
        version = 6 if v["is_ipv6"] else 4
        mask = (1 << (128 if version == 6 else 32)) - 1
        flow = Flow(
            v["src_addr"] & mask,
            v["dst_addr"] & mask,
            v["src_port"],
            v["dst_port"],
            v["protocol"],
            version,
        )
        out.append(NewFlow(flow, v["monitor_port"], v["worker"], v["mcast_group"]))
    return out


def digest_id(schema: P4Schema) -> int:
    """The P4Info id of the new-flow digest (LookupError without it)."""
    for d in schema.p4info.digests:
        if d.preamble.name == ps.BALANCE_NEW_FLOW_DIGEST:
            return int(d.preamble.id)
    raise LookupError(f"the pipeline has no digest {ps.BALANCE_NEW_FLOW_DIGEST}")


def digest_config_update(
    did: int, kind: p4runtime_pb2.Update.Type.ValueType, timeout_ns: int = DIGEST_TIMEOUT_NS
) -> p4runtime_pb2.Update:
    """The DigestEntry that turns the new-flow reports on (INSERT/MODIFY) or off (DELETE).
    A timeout of 0 means each sample at once: lists of one (BMv2 with max_timeout_ns 0
    holds samples until max_list_size of them have come)."""
    u = p4runtime_pb2.Update(type=kind)
    de = u.entity.digest_entry
    de.digest_id = did
    if kind != p4runtime_pb2.Update.DELETE:
        de.config.max_timeout_ns = timeout_ns
        de.config.max_list_size = DIGEST_MAX_LIST if timeout_ns > 0 else 1
        de.config.ack_timeout_ns = DIGEST_ACK_TIMEOUT_NS
    return u


MAX_MOVES = 8
"""Entries one rebalancing moves at most (the loop's `max_moves`; 0: no rebalancing)."""

SEED_FLOWS = 200
"""New connections the loop gathers before it seeds BLB's clusters with k-medoids (Listing
3, line 1); fewer when the first interval ends before."""

KEEP_COUNTS = 1024
"""Per cluster and kind, counts kept before the addresses seen once are forgotten."""

Address = tuple[int, int]  # (IP version, address)


def _count(c: Counter[Address], key: Address) -> None:
    c[key] += 1
    if len(c) > KEEP_COUNTS:
        for k in [k for k, n in c.items() if n == 1]:
            del c[k]


@dataclass
class Members:
    """How often each destination, source and destination subnet occurs among a
    cluster's flows, and the workers its latest flow went to."""

    dsts: Counter[Address] = field(default_factory=Counter)
    srcs: Counter[Address] = field(default_factory=Counter)
    subnets: Counter[Address] = field(default_factory=Counter)
    subnet_dsts: dict[Address, set[int]] = field(default_factory=dict)
    workers: tuple[int, ...] = ()  # F > 1: its multicast set

    def add(self, f: Flow, subnet_v4: int, subnet_v6: int) -> None:
        """Count flow `f`."""
        _count(self.dsts, (f.version, f.dst))
        _count(self.srcs, (f.version, f.src))
        plen = subnet_v4 if f.version == 4 else subnet_v6
        if plen > 0:
            key = (f.version, f.dst & (((1 << plen) - 1) << (f.bits - plen)))
            _count(self.subnets, key)
            seen = self.subnet_dsts.setdefault(key, set())
            if len(seen) < 2:
                seen.add(f.dst)


def cluster_rules(
    m: Members, worker: int, mcast: int, subnet_v4: int, subnet_v6: int, min_flows: int
) -> list[tuple[int, ClusterRule]]:
    """The entries of a cluster, each with its number of flows: every destination with
    at least `min_flows` of them (/32, /128), every source (a scanner's) likewise, every
    destination subnet with `min_flows` flows to more than one destination."""
    out: list[tuple[int, ClusterRule]] = []
    for counts, is_dst in ((m.dsts, True), (m.srcs, False)):
        for (version, addr), n in counts.items():
            if n >= min_flows:
                host = (addr, 32 if version == 4 else 128)
                rule = ClusterRule(worker, PRIORITY_DST if is_dst else PRIORITY_SRC,
                                   src=None if is_dst else host, dst=host if is_dst else None,
                                   family=version, mcast_group=mcast)  # fmt: skip
                out.append((n, rule))
    for (version, prefix), n in m.subnets.items():
        if n >= min_flows and len(m.subnet_dsts.get((version, prefix), ())) > 1:
            plen = subnet_v4 if version == 4 else subnet_v6
            rule = ClusterRule(worker, PRIORITY_SUBNET, dst=(prefix, plen), family=version,
                               mcast_group=mcast)  # fmt: skip
            out.append((n, rule))
    return out


@dataclass
class Interval:
    """What one interval did, for the progress line."""

    t: float
    new_flows: int
    loads: list[float]
    pps: list[float]
    clusters: int
    entries: int
    added: int = 0
    modified: int = 0
    deleted: int = 0
    expired: int = 0
    moved: int = 0  # entries rebalancing gave another worker
    write_error: str = ""


@dataclass
class LoopStats:
    """Totals since the start."""

    flows: int = 0
    decisions: int = 0
    digest_lists: int = 0
    writes: int = 0
    updates: int = 0
    moved_flows: int = 0  # flows BLB put elsewhere than the switch did (seen before the entry)
    rebalances: int = 0  # intervals that moved entries
    moved_entries: int = 0
    intervals: int = 0
    history: list[Interval] = field(default_factory=list)


class BalanceLoop:
    """BLB over one monitor group, against `switch` (primary already)."""

    def __init__(
        self,
        switch: LoopSwitch,
        schema: P4Schema,
        group: MonitorGroup,
        monitor_port: int,
        min_flows: int = 2,
        flow_window_s: float = 5.0,
        keep_history: bool = False,
        digest_timeout_ns: int = DIGEST_TIMEOUT_NS,
        load_window: int = 3,
        seed_flows: int = SEED_FLOWS,
        hold: int | None = None,
        max_moves: int = MAX_MOVES,
    ) -> None:
        self.sw = switch
        self.schema = schema
        self.group = group
        self.monitor_port = monitor_port
        self.min_flows = min_flows
        self.flow_window_s = flow_window_s
        self.keep_history = keep_history
        self.digest_timeout_ns = digest_timeout_ns
        self.balancer = Balancer(group.balance)
        self.members: dict[int, Members] = {}
        self.stats = LoopStats()
        self.digest = digest_id(schema)
        self.table = schema.table(ps.BALANCE_CLUSTERS_TABLE)
        self.counter = schema.counter(ps.BALANCE_PORT_TRAFFIC).id
        self._recent: deque[tuple[float, int]] = deque()
        self._readings: deque[tuple[float, dict[int, int]]] = deque(maxlen=load_window + 1)
        self._hit_readings: deque[tuple[float, dict[tuple[object, ...], int]]] = deque(
            maxlen=load_window + 1
        )
        self.hold = load_window if hold is None else hold
        self.max_moves = max_moves
        self.pins: dict[tuple[object, ...], int] = {}
        self._worker_of: dict[tuple[object, ...], int] = {}
        self._shift: list[float] = [0.0] * len(group.ports)
        self._held = 0
        self._last_t: float | None = None
        self._hits: dict[tuple[object, ...], int] = {}
        self._cid_of: dict[tuple[object, ...], int] = {}
        self._new_in_interval = 0
        self.flow_load = 0.01
        self.seed_flows = seed_flows
        self._seed_buffer: list[tuple[NewFlow, float]] = []
        self.seeded = seed_flows <= 0

    # -- start / stop --------------------------------------------------------------
    def start(self) -> None:
        """Turn the new-flow reports on (the digest's config)."""
        ent = p4runtime_pb2.Entity()
        ent.digest_entry.digest_id = self.digest
        have = any(e.HasField("digest_entry") for e in self.sw.read([ent]))
        kind = p4runtime_pb2.Update.MODIFY if have else p4runtime_pb2.Update.INSERT
        self.sw.write([digest_config_update(self.digest, kind, self.digest_timeout_ns)])

    def stop(self, remove_entries: bool) -> int:
        """Turn the reports off; with `remove_entries`, delete this group's cluster entries
        (new connections then follow the hash; started ones stay where they are).
        Returns the number of entries deleted."""
        self.sw.write([digest_config_update(self.digest, p4runtime_pb2.Update.DELETE)])
        if not remove_entries:
            return 0
        changes = self._changes([])
        if changes:
            self._apply(changes)
        return len(changes)

    # -- new flows -----------------------------------------------------------------
    def take_new_flows(self, timeout_s: float = 0.0) -> list[NewFlow]:
        """The connections reported since the last call (acknowledged)."""
        out: list[NewFlow] = []
        for dl in self.sw.take_digests(timeout_s):
            if dl.digest_id != self.digest:
                continue
            self.stats.digest_lists += 1
            out += [n for n in parse_digest(dl) if n.monitor_port == self.monitor_port]
            self.sw.ack_digest(dl.digest_id, dl.list_id)
        return out

    def on_new_flows(self, flows: Sequence[NewFlow], t: float) -> list[Decision]:
        """BLB's decision for each new flow at time t. Until the balancer is seeded the
        flows are gathered (no decision yet: the switch's hash has placed them); with
        `seed_flows` of them, k-medoids over them gives one cluster per worker and each
        gathered flow is then decided at the time it came."""
        if not self.seeded:
            self._seed_buffer += [(n, t) for n in flows]
            if len(self._seed_buffer) < self.seed_flows:
                return []
            return self._seed(t)
        return self._decide([(n, t) for n in flows])

    def _seed(self, t: float) -> list[Decision]:
        gathered, self._seed_buffer = self._seed_buffer, []
        self.seeded = True
        if gathered:
            self.balancer.seed([n.flow for n, _ in gathered], gathered[0][1])
        return self._decide(gathered)

    def _decide(self, flows: Sequence[tuple[NewFlow, float]]) -> list[Decision]:
        cfg = self.group.balance
        v4, v6 = cfg.dist.subnet_v4, cfg.dist.subnet_v6
        out = []
        for n, t in flows:
            d = self.balancer.assign(n.flow, t, self.flow_load)
            out.append(d)
            for cid in d.expired:
                self.members.pop(cid, None)
            for cid in d.clusters:
                self.members.setdefault(cid, Members()).add(n.flow, v4, v6)
            self.members[d.clusters[0]].workers = d.workers
            if d.workers[0] != n.worker:
                self.stats.moved_flows += 1
            self._recent.append((t, 1))
        self.stats.flows += len(flows)
        self.stats.decisions += len(out)
        self._new_in_interval += len(flows)
        return out

    # -- per interval --------------------------------------------------------------
    def read_loads(self, t: float) -> tuple[list[float], list[float]]:
        """Packets/s per worker over the last `load_window` readings (intervals), and that
        in % of a worker's capacity; the latter becomes the Balancer's loads."""
        cells = {
            int(c.index.index): int(c.data.packet_count) for c in self.sw.read_counter(self.counter)
        }
        counts = {p: cells.get(p, 0) for p in self.group.ports}
        pps = [0.0] * len(self.group.ports)
        if self._readings and t > self._readings[0][0]:
            t_old, old = self._readings[0]
            pps = [(counts[p] - old[p]) / (t - t_old) for p in self.group.ports]
        self._readings.append((t, counts))
        self._last_t = t
        loads = [100.0 * x / self.group.capacity_pps for x in pps]
        self.balancer.set_loads(loads)
        while self._recent and self._recent[0][0] < t - self.flow_window_s:
            self._recent.popleft()
        live = sum(n for _, n in self._recent)
        if live:
            self.flow_load = max(sum(loads) / live, 1e-6)
        return pps, loads

    def touch_clusters(self, current: Sequence[p4runtime_pb2.TableEntry], t: float) -> None:
        """Clusters whose entries matched packets since the last reading are in use; the
        counters are kept for `entry_loads`."""
        touched = []
        counts: dict[tuple[object, ...], int] = {}
        for e in current:
            key = match_key(e)
            n = int(e.counter_data.packet_count)
            if n > self._hits.get(key, 0) and key in self._cid_of:
                touched.append(self._cid_of[key])
            self._hits[key] = n
            counts[key] = n
        self._hits = {k: self._hits[k] for k in counts}
        self._hit_readings.append((t, counts))
        self.balancer.touch(touched, t)

    def entry_loads(self) -> dict[tuple[object, ...], float]:
        """Per entry (match key): the packets/s it matched over the load window, in % of
        a worker's capacity (every packet looks the table up, p4src balance.p4). An entry
        younger than the window counts from 0, its counter's start."""
        if len(self._hit_readings) < 2:
            return {}
        (t0, old), (t1, new) = self._hit_readings[0], self._hit_readings[-1]
        if t1 <= t0:
            return {}
        scale = 100.0 / self.group.capacity_pps / (t1 - t0)
        return {k: max(0, n - old.get(k, 0)) * scale for k, n in new.items()}

    def rebalance(self, loads: Sequence[float]) -> tuple[list[float], int]:
        """Step 4 of the module docstring: the loads predicted after the moves and the
        number of entries moved (pinned in `pins` to their new worker)."""
        work = [float(x) for x in loads]
        v_max = self.group.balance.v_max
        if self._held > 0 or len(work) < 2 or variance(work) <= v_max:
            return work, 0
        per_entry = self.entry_loads()
        moved: set[tuple[object, ...]] = set()
        for _ in range(self.max_moves):
            if variance(work) <= v_max:
                break
            hi = max(range(len(work)), key=lambda i: (work[i], -i))
            lo = min(range(len(work)), key=lambda i: (work[i], i))
            gap = work[hi] - work[lo]
            best: tuple[float, tuple[object, ...]] | None = None
            for key, x in per_entry.items():
                if self._worker_of.get(key) != hi or key in moved or not 0.0 < x < gap:
                    continue
                score = abs(x - gap / 2.0)
                if best is None or score < best[0]:
                    best = (score, key)
            if best is None:
                break
            key = best[1]
            x = per_entry[key]
            self.pins[key] = lo
            self._worker_of[key] = lo
            moved.add(key)
            work[hi] -= x
            work[lo] += x
        if moved:
            self._shift = [w - x for w, x in zip(work, loads, strict=True)]
            self._held = self.hold
            self.stats.rebalances += 1
            self.stats.moved_entries += len(moved)
        return work, len(moved)

    def _predicted(self, measured: Sequence[float]) -> list[float]:
        """The measured loads plus what the last rebalancing still has to shift (its
        predicted shift, fading linearly over `hold` intervals as started connections,
        sticky where they began, end and the load window catches up)."""
        out = list(measured)
        if self._held <= 0 or self.hold <= 0:
            return out
        self._held -= 1
        left = self._held / self.hold
        return [m + s * left for m, s in zip(out, self._shift, strict=True)]

    def desired(self) -> list[Desired]:
        """The cluster entries of the group's clusters (`cluster_rules`): when two want
        the same match, the one with more flows (then the heavier cluster) gets it; the
        most-used ones when there are more than the table holds."""
        cfg = self.group.balance
        t = self._last_t or 0.0
        cands: list[tuple[int, float, int, ClusterRule]] = []
        for c in self.balancer.clusters.values():
            m = self.members.get(c.cid)
            if m is None:
                continue
            mcast = 0
            if len(set(m.workers)) > 1:
                mcast = multicast_id(cfg.workers, cfg.f_max, m.workers)
            weight = c.weight_at(max(t, c.t_last), cfg.lam)
            v4, v6 = cfg.dist.subnet_v4, cfg.dist.subnet_v6
            for n, rule in cluster_rules(m, c.worker, mcast, v4, v6, self.min_flows):
                cands.append((n, weight, c.cid, rule))
        cands.sort(key=lambda x: (-x[0], -x[1], x[2]))
        out: list[Desired] = []
        seen: set[tuple[object, ...]] = set()
        self._cid_of = {}
        self._worker_of = {}
        limit = int(self.table.size) if self.table.size else 1 << 30
        for _, _, cid, rule in cands:
            entry = cluster_update(self.schema, self.monitor_port, rule).entity.table_entry
            key = match_key(entry)
            if key in seen:
                continue
            seen.add(key)
            pin = self.pins.get(key)
            if pin is not None and rule.mcast_group == 0 and pin != rule.worker:
                rule = replace(rule, worker=pin)
                entry = cluster_update(self.schema, self.monitor_port, rule).entity.table_entry
            self._cid_of[key] = cid
            if rule.mcast_group == 0:
                self._worker_of[key] = rule.worker
            out.append(Desired(ps.BALANCE_CLUSTERS_TABLE, entry, f"cluster {cid}"))
            if len(out) >= limit:
                break
        self.pins = {k: w for k, w in self.pins.items() if k in seen}
        return out

    def _ours(self) -> list[p4runtime_pb2.TableEntry]:
        """The cluster entries of this group's monitor port (with counters)."""
        kp = self.table.field("monitor_port").id
        port = self.monitor_port
        return [
            e
            for e in snapshot(self.sw, {ps.BALANCE_CLUSTERS_TABLE: self.table.id}, True)[
                ps.BALANCE_CLUSTERS_TABLE
            ]
            if any(
                m.field_id == kp and int.from_bytes(m.exact.value, "big") == port for m in e.match
            )
        ]

    def _changes(
        self, desired: Sequence[Desired], current: Sequence[p4runtime_pb2.TableEntry] | None = None
    ) -> list[Change]:
        have = self._ours() if current is None else list(current)
        return diff(desired, {ps.BALANCE_CLUSTERS_TABLE: have})

    def _apply(
        self, changes: Sequence[Change], current: Sequence[p4runtime_pb2.TableEntry] | None = None
    ) -> None:
        before = {ps.BALANCE_CLUSTERS_TABLE: list(self._ours() if current is None else current)}
        apply(self.sw, changes, before, {ps.BALANCE_CLUSTERS_TABLE: self.table.id})
        self.stats.writes += 1
        self.stats.updates += len(changes)

    def tick(self, t: float, can_write: bool = True) -> Interval:
        """One interval at time t: loads, touches, expiry, entries (written when
        `can_write`: this controller is primary). The first interval that has seen new
        flows seeds the balancer with them if `seed_flows` have not come yet."""
        if not self.seeded and self._seed_buffer:
            self._seed(t)
        pps, loads = self.read_loads(t)
        current = self._ours()
        self.touch_clusters(current, t)
        predicted, moved = self._predicted(loads), 0
        if can_write:
            predicted, moved = self.rebalance(predicted)
        self.balancer.set_loads(predicted)
        expired = self.balancer.expire(t)
        for cid in expired:
            self.members.pop(cid, None)
        want = self.desired()
        changes = self._changes(want, current)
        rep = Interval(t, self._new_in_interval, loads, pps, len(self.balancer.clusters), len(want))
        rep.expired = len(expired)
        rep.moved = moved
        self._new_in_interval = 0
        if changes and can_write:
            try:
                self._apply(changes, current)
            except InstallFailed as e:
                rep.write_error = str(e).splitlines()[0]
            else:
                rep.added = sum(c.kind == "insert" for c in changes)
                rep.modified = sum(c.kind == "modify" for c in changes)
                rep.deleted = sum(c.kind == "delete" for c in changes)
        elif changes:
            rep.write_error = "not primary: entries not written"
        self.stats.intervals += 1
        if self.keep_history:
            self.stats.history.append(rep)
        return rep
