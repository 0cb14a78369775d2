"""The BLB algorithm (Listing 3): per new flow SolveP, else a new cluster on the least
loaded worker, expiring light clusters when there are too many.

`Balancer` keeps the clusters and an estimate of each worker's load. The caller sets the
measured loads (`set_loads`, e.g. from the switch's per-port counters each second);
between two measurements every assignment adds the flow's predicted load L_f to the
workers it went to, as SolveP's "update load of nidps" does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from controlplane.balance.cluster import Cluster
from controlplane.balance.distance import DistanceConfig, distance
from controlplane.balance.flow import Flow
from controlplane.balance.kmedoids import kmedoids
from controlplane.balance.solvep import Candidate, solve_p


@dataclass(frozen=True)
class BalanceConfig:
    """BLB's parameters: workers n, F, V, lambda, m_max, th_w and the distance."""

    workers: int
    f_max: int = 1
    v_max: float = 9.0
    lam: float = 1.1
    m_max: int = 64
    th_w: float = 0.05
    dist: DistanceConfig = field(default_factory=DistanceConfig)

    def problems(self) -> list[str]:
        out = list(self.dist.problems())
        if self.workers < 1:
            out.append("there must be at least one worker")
        if not 1 <= self.f_max <= max(self.workers, 1):
            out.append(f"F must lie in 1..{self.workers} (the number of workers)")
        if self.v_max < 0:
            out.append("V must not be negative")
        if self.lam <= 1.0:
            out.append("lambda (the decay factor) must be greater than 1")
        if self.m_max < self.workers:
            out.append("m_max must be at least the number of workers")
        if not 0.0 <= self.th_w <= 1.0:
            out.append("th_w must lie in [0, 1]")
        return out


@dataclass(frozen=True)
class Decision:
    """Where one new flow went: its workers (the first is its primary), the clusters it
    joined or founded, and the clusters deleted to make room."""

    workers: tuple[int, ...]
    clusters: tuple[int, ...]
    created: bool
    expired: tuple[int, ...] = ()


class Balancer:
    def __init__(self, cfg: BalanceConfig) -> None:
        bad = cfg.problems()
        if bad:
            raise ValueError("; ".join(bad))
        self.cfg = cfg
        self.clusters: dict[int, Cluster] = {}
        self.loads: list[float] = [0.0] * cfg.workers
        self._next_id = 0
        self.decisions = 0

    # -- state ---------------------------------------------------------------------
    def set_loads(self, loads: Sequence[float]) -> None:
        if len(loads) != self.cfg.workers:
            raise ValueError(f"{len(loads)} loads for {self.cfg.workers} workers")
        self.loads = [float(x) for x in loads]

    def seed(self, past: Sequence[Flow], t: float) -> None:
        """Listing 3 line 1: k-medoids over past flows gives one cluster (weight 1) per
        worker. With fewer distinct past flows than workers, fewer clusters."""
        medoids = kmedoids(past, self.cfg.workers, self.cfg.dist)
        for worker, (centroid, members) in enumerate(medoids):
            c = self._new_cluster(centroid, worker, t)
            c.size = max(members, 1)

    def _new_cluster(self, centroid: Flow, worker: int, t: float) -> Cluster:
        c = Cluster(self._next_id, centroid, worker, 1.0, t)
        self._next_id += 1
        self.clusters[c.cid] = c
        return c

    def least_loaded(self) -> int:
        return min(range(self.cfg.workers), key=lambda i: (self.loads[i], i))

    def expire(self, t: float) -> tuple[int, ...]:
        """Delete the clusters whose weight at t is below th_w."""
        gone = tuple(
            cid for cid, c in self.clusters.items() if c.weight_at(t, self.cfg.lam) < self.cfg.th_w
        )
        for cid in gone:
            del self.clusters[cid]
        return gone

    def candidates(self, f: Flow, t: float) -> list[Candidate]:
        lam, dcfg = self.cfg.lam, self.cfg.dist
        return [
            Candidate(c.cid, c.worker, c.benefit(distance(f, c.centroid, dcfg), t, lam))
            for c in self.clusters.values()
        ]

    # -- the algorithm -------------------------------------------------------------
    def assign(self, f: Flow, t: float, flow_load: float) -> Decision:
        """Listing 3, lines 3-13, for one new flow f at time t with predicted load L_f."""
        self.decisions += 1
        cfg = self.cfg
        chosen = solve_p(self.candidates(f, t), self.loads, flow_load, cfg.f_max, cfg.v_max)
        if not chosen:
            expired: tuple[int, ...] = ()
            if len(self.clusters) + 1 > cfg.m_max:
                expired = self.expire(t)
            worker = self.least_loaded()
            c = self._new_cluster(f, worker, t)
            self.loads[worker] += flow_load
            return Decision((worker,), (c.cid,), True, expired)
        for cand in chosen:
            c = self.clusters[cand.cid]
            c.add(distance(f, c.centroid, cfg.dist), t, cfg.lam)
            self.loads[cand.worker] += flow_load
        return Decision(tuple(c.worker for c in chosen), tuple(c.cid for c in chosen), False)

    def touch(self, cids: Iterable[int], t: float) -> None:
        """Packets of these clusters were seen at t (e.g. their table entries' counters
        moved): they do not decay while in use."""
        for cid in cids:
            c = self.clusters.get(cid)
            if c is not None:
                c.touch(t)

    def move(self, cid: int, worker: int) -> None:
        """Give a cluster to another worker (operator action or rebalancing)."""
        self.clusters[cid].worker = worker
