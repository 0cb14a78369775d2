"""SolveP (Listing 2): the greedy solution of the flow assignment problem P.

Up to F times: among the clusters of the workers not chosen yet, take the one of the
biggest benefit whose worker, loaded with the flow's predicted load L_f, keeps the
variance of all workers' loads (constraint (4), the population variance) within V;
then add L_f to that worker. A cluster of benefit 0 (the flow is at distance 1 from it:
no correlation) is no solution. With F = 1 the result is the optimum of P.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EPS = 1e-9
"""Benefits and variance excesses below this are rounding: D = 0.6 + 0.3 + 0.1 is not 1."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A cluster the flow could join: its id, its worker and the benefit B_j."""

    cid: int
    worker: int
    benefit: float


def variance(loads: Sequence[float]) -> float:
    """Population variance (1/n) * sum (L_i - mu)^2."""
    n = len(loads)
    mu = sum(loads) / n
    return sum((x - mu) ** 2 for x in loads) / n


def solve_p(
    candidates: Sequence[Candidate],
    loads: Sequence[float],
    flow_load: float,
    f_max: int,
    v_max: float,
) -> list[Candidate]:
    """The clusters (at most one per worker, at most `f_max`) to assign the flow to;
    empty when no cluster satisfies the constraints. `loads` is not changed."""
    n = len(loads)
    work = [float(x) for x in loads]
    total = sum(work)
    sumsq = sum(x * x for x in work)
    ordered = sorted((c for c in candidates if c.benefit > EPS), key=lambda c: -c.benefit)
    chosen: list[Candidate] = []
    used: set[int] = set()
    for _ in range(f_max):
        pick = None
        for c in ordered:
            if c.worker in used:
                continue
            lk = work[c.worker]
            new_sumsq = sumsq + 2.0 * lk * flow_load + flow_load * flow_load
            new_mu = (total + flow_load) / n
            if new_sumsq / n - new_mu * new_mu <= v_max + EPS:
                pick = c
                break
        if pick is None:
            break
        chosen.append(pick)
        used.add(pick.worker)
        lk = work[pick.worker]
        sumsq += 2.0 * lk * flow_load + flow_load * flow_load
        total += flow_load
        work[pick.worker] = lk + flow_load
    return chosen
