"""Synthetic interval-rate history in the model of what the stats stage reports.

For tests and `bench/thresholds_eval.py`: per host and vector, a diurnal rate (low at
night, high in the afternoon) with multiplicative noise and occasional bursts, sampled
once per stats interval (1 s) and consolidated to the store's step by its maximum, as
`watch --store` stores it. Deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

DAY_S = 86400


@dataclass(frozen=True)
class Profile:
    """A host's normal traffic of one vector: the mean packets/s at the daily peak and the
    mean packet size in bytes."""

    peak_pps: float
    packet_bytes: float = 500.0


def diurnal(t: float) -> float:
    """The day's shape, 0.15 (04:00 UTC) .. 1.0 (16:00 UTC)."""
    hour = (t % DAY_S) / 3600
    return 0.575 - 0.425 * math.cos(2 * math.pi * (hour - 4) / 24)


def normal_rates(
    profile: Profile, start_s: int, days: int, step_s: int, seed: int
) -> Iterator[tuple[int, float, float]]:
    """(step start, peak packets/s, peak bits/s) of every step: the maximum of the step's
    1-second rates, each Poisson-like noise around the diurnal mean, with a short burst
    (x2..x4 for a few seconds) in about one step of 200."""
    rng = random.Random(seed)
    for t in range(start_s, start_s + days * DAY_S, step_s):
        mean = profile.peak_pps * diurnal(t)
        # the largest of step_s noisy seconds: mean + about 3 standard deviations
        sd = math.sqrt(max(mean, 1.0)) + 0.08 * mean
        peak = mean + sd * (2.0 + rng.random() * 1.5)
        if rng.random() < 0.005:
            peak *= 2 + 2 * rng.random()
        peak = max(peak, 0.0)
        size = profile.packet_bytes * (0.9 + 0.2 * rng.random())
        yield t, peak, 8 * peak * size
