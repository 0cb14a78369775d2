"""The notebook's features against values computed by hand (its pandas definitions)."""

from __future__ import annotations

import math

import pytest

from controlplane.thresholds.features import FEATURES, daily, features, n_days, quantile
from controlplane.thresholds.store import ALERTED, BLOCKED, Point

D = 86400


def _series() -> list[Point]:
    """Five days, values in packets/s (bits/s = 8 x): day 1 has a blocked spike, day 3
    is blocked all day (the notebook removes those rows: the day is then missing)."""
    days: list[list[tuple[float, int]]] = [
        [(1, 0), (2, 0), (3, 0), (10, 0)],
        [(4, 0), (100, BLOCKED), (4, 0), (4, 0)],
        [(0, 0), (20, 0)],
        [(50, ALERTED)],
        [(5, 0)],
    ]
    pts = []
    for d, values in enumerate(days):
        for i, (v, fl) in enumerate(values):
            pts.append(Point(d * D + i * 3600, float(v), 8.0 * v, fl))
    return pts


def test_quantile_interpolates_linearly() -> None:
    assert quantile([1, 2, 3, 10], 0.9) == pytest.approx(7.9)  # 3 + 0.7 * 7
    assert quantile([10, 1], 0.5) == 5.5
    assert quantile([7], 0.9) == 7
    assert quantile([3, math.nan, 1], 0.5) == 2  # NaN skipped, like pandas
    assert math.isnan(quantile([], 0.9))


def test_daily_resampling_drops_flagged_points_and_keeps_missing_days() -> None:
    days = daily(_series(), "PPS")
    assert [d.t for d in days] == [0, D, 2 * D, 3 * D, 4 * D]
    assert (days[0].max, days[0].mean, days[0].median) == (10, 4, 2.5)
    assert days[0].q90 == pytest.approx(7.9)
    assert (days[1].max, days[1].mean, days[1].median, days[1].q90) == (4, 4, 4, 4)
    assert (days[2].max, days[2].mean, days[2].median, days[2].q90) == (20, 10, 10, 18)
    assert all(math.isnan(x) for x in (days[3].max, days[3].mean, days[3].q90))
    assert (days[4].max, days[4].q90) == (5, 5)
    assert n_days(_series()) == 4


def test_features_equal_the_hand_computed_values() -> None:
    # daily max 10 4 20 5 -> sorted 4 5 10 20; mean 4 4 10 5; median 2.5 4 10 5;
    # q90 7.9 4 18 5. q90 over days: position 2.7; q70: position 2.1.
    want = {
        "daily_max_q90": 17.0,  # 10 + 0.7 * 10
        "daily_mean_q90": 8.5,  # 5 + 0.7 * 5
        "daily_median_q90": 8.5,
        "daily_q90_q90": 14.97,  # 7.9 + 0.7 * 10.1
        "daily_max_q70": 11.0,  # 10 + 0.1 * 10
        "daily_mean_q70": 5.5,
        "daily_median_q70": 5.5,
        "daily_q90_q70": 8.91,  # 7.9 + 0.1 * 10.1
        "daily_max_1": 20.0,
        "daily_max_2": 10.0,
        "daily_max_3": 5.0,
        "daily_max_4": 4.0,
    }
    got = features(_series(), "PPS")
    assert list(got) == list(FEATURES)
    assert got == pytest.approx(want)
    assert features(_series(), "BW") == pytest.approx({k: 8 * v for k, v in want.items()})


def test_fewer_than_four_days_leave_the_missing_maxima_nan() -> None:
    pts = [Point(0, 3.0, 0.0), Point(D, 9.0, 0.0)]
    got = features(pts, "PPS")
    assert (got["daily_max_1"], got["daily_max_2"]) == (9, 3)
    assert math.isnan(got["daily_max_3"]) and math.isnan(got["daily_max_4"])
    assert got["daily_max_q90"] == pytest.approx(8.4)  # 3 + 0.9 * 6


def test_a_series_without_clean_points_has_no_features() -> None:
    got = features([Point(0, 9.0, 9.0, ALERTED)], "PPS")
    assert all(math.isnan(v) for v in got.values())
