"""k-medoids (Kaufman and Rousseeuw's PAM, the paper's reference [5]) over the logical
distance: the initial clusters, one per worker, from a sample of past flows.

BUILD picks medoids greedily (first the flow of least total distance, then each time the
flow that lowers the total distance most); then members are assigned to their nearest
medoid and each medoid replaced by its cluster's member of least total distance, until
nothing changes (at most `rounds` times). Deterministic: ties go to the earlier flow.
"""

from __future__ import annotations

from collections.abc import Sequence

from controlplane.balance.distance import DistanceConfig, distance
from controlplane.balance.flow import Flow


def _gain(nearest: Sequence[float], row: Sequence[float]) -> float:
    """How much the total distance falls when the flow of `row` becomes a medoid."""
    return sum(max(a - b, 0.0) for a, b in zip(nearest, row, strict=True))


def kmedoids(
    flows: Sequence[Flow], k: int, cfg: DistanceConfig, rounds: int = 20
) -> list[tuple[Flow, int]]:
    """Up to k (medoid, number of members) pairs, in the order they were built."""
    pts = list(dict.fromkeys(flows))
    if not pts or k < 1:
        return []
    n = len(pts)
    dm = [[distance(a, b, cfg) for b in pts] for a in pts]
    first = min(range(n), key=lambda i: (sum(dm[i]), i))
    medoids = [first]
    nearest = list(dm[first])
    while len(medoids) < min(k, n):
        best = max(
            (c for c in range(n) if c not in medoids),
            key=lambda c: (_gain(nearest, dm[c]), -c),
        )
        medoids.append(best)
        nearest = [min(nearest[j], dm[best][j]) for j in range(n)]
    for _ in range(rounds):
        groups: list[list[int]] = [[] for _ in medoids]
        for j in range(n):
            g = min(range(len(medoids)), key=lambda m: (dm[medoids[m]][j], m))
            groups[g].append(j)
        new = [
            min(g, key=lambda c: (sum(dm[c][j] for j in g), c)) if g else m
            for g, m in zip(groups, medoids, strict=True)
        ]
        if new == medoids:
            break
        medoids = new
    groups = [[] for _ in medoids]
    for j in range(n):
        groups[min(range(len(medoids)), key=lambda m: (dm[medoids[m]][j], m))].append(j)
    return [(pts[m], len(g)) for m, g in zip(medoids, groups, strict=True)]
