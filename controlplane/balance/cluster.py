"""A BLB cluster: centroid flow, owning worker, weight with decay, number of flows.

Weight at time t (section V): W_t = lambda^(t_j - t) * W_{t_j}, lambda > 1, t_j the last
time a flow (or a packet, `touch`) was assigned to the cluster. Adding a flow f at t:

    W_t = d + (1 - d) * exp(-D(f, c)) / (s + 1),   d = lambda^(t_j - t) * W_{t_j}

with s the number of flows the cluster had. A weight never exceeds 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controlplane.balance.flow import Flow


@dataclass
class Cluster:
    cid: int
    centroid: Flow
    worker: int
    weight: float  # at time `t_last`
    t_last: float
    size: int = 1

    def weight_at(self, t: float, lam: float) -> float:
        """The decayed weight at time t (>= t_last)."""
        return float(lam ** (self.t_last - t)) * self.weight

    def add(self, dist: float, t: float, lam: float) -> float:
        """Add a flow at distance `dist` from the centroid at time t; the new weight."""
        decayed = self.weight_at(t, lam)
        self.weight = decayed + (1.0 - decayed) * math.exp(-dist) / (self.size + 1)
        self.size += 1
        self.t_last = t
        return self.weight

    def touch(self, t: float) -> None:
        """A packet of the cluster was seen at t: t_j moves to t and the weight keeps
        its value at the old t_j, so a cluster decays only while it is idle (the paper's
        "or a new packet gets assigned to this cluster")."""
        self.t_last = max(self.t_last, t)

    def benefit(self, dist: float, t: float, lam: float) -> float:
        """B_j = (1 - D(f, c_j)) * W_{j,t}."""
        return (1.0 - dist) * self.weight_at(t, lam)
