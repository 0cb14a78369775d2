"""The notebook's features of one series, with its definitions (pandas semantics).

From the series with flagged (blocked, alerted) points removed, as
`ts[~(ts.blocked_val > 0)]`:

1. daily resampling (`resample('D')`, UTC days): per day the max, mean, median and 90th
   percentile of the remaining points; a day between the first and the last one left
   that has no point is missing (NaN) and is skipped by what follows;
2. the 90th and the 70th percentile over the days of each of the four daily figures;
3. the four largest daily maxima (NaN where there are fewer days).

Percentiles interpolate linearly between the two nearest ranks (`Series.quantile`'s
default): q of sorted x[0..n-1] is x[i] + (x[i+1] - x[i]) * f, i + f = q * (n - 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from controlplane.thresholds.store import Point

DAY_S = 86400
NAN = math.nan

FEATURES = (
    "daily_max_q90",
    "daily_mean_q90",
    "daily_median_q90",
    "daily_q90_q90",
    "daily_max_q70",
    "daily_mean_q70",
    "daily_median_q70",
    "daily_q90_q70",
    "daily_max_1",
    "daily_max_2",
    "daily_max_3",
    "daily_max_4",
)
"""Feature names in the notebook's order (its CSV's columns)."""


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile of the non-NaN `values`, linear interpolation; NaN if there are none."""
    xs = sorted(v for v in values if not math.isnan(v))
    if not xs:
        return NAN
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Day:
    """One day of a series: its start (s) and max, mean, median, 90th percentile (NaN: no
    point left that day)."""

    t: int
    max: float
    mean: float
    median: float
    q90: float


def clean(points: Sequence[Point]) -> list[Point]:
    """The points that are not flagged (the notebook's blocked intervals removed)."""
    return [p for p in points if not p.flags]


def daily(points: Sequence[Point], metric: str) -> list[Day]:
    """Daily resampling of the unflagged points of `metric`, first to last day."""
    kept = clean(points)
    if not kept:
        return []
    by_day: dict[int, list[float]] = {}
    for p in kept:
        by_day.setdefault(p.t // DAY_S * DAY_S, []).append(p.value(metric))
    out = []
    for t in range(min(by_day), max(by_day) + 1, DAY_S):
        xs = by_day.get(t, [])
        if xs:
            out.append(Day(t, max(xs), sum(xs) / len(xs), quantile(xs, 0.5), quantile(xs, 0.9)))
        else:
            out.append(Day(t, NAN, NAN, NAN, NAN))
    return out


def features(points: Sequence[Point], metric: str) -> dict[str, float]:
    """The 12 features of `metric` of a series (FEATURES order; NaN where undefined)."""
    days = daily(points, metric)
    cols = {
        "max": [d.max for d in days],
        "mean": [d.mean for d in days],
        "median": [d.median for d in days],
        "q90": [d.q90 for d in days],
    }
    out: dict[str, float] = {}
    for q, tag in ((0.9, "q90"), (0.7, "q70")):
        for name, xs in cols.items():
            out[f"daily_{name}_{tag}"] = quantile(xs, q)
    top = sorted((x for x in cols["max"] if not math.isnan(x)), reverse=True)
    for i in range(4):
        out[f"daily_max_{i + 1}"] = top[i] if i < len(top) else NAN
    return {k: out[k] for k in FEATURES}


def n_days(points: Sequence[Point]) -> int:
    """Days with at least one unflagged point."""
    return len({p.t // DAY_S for p in clean(points)})
