"""`thresholds learn`: the notebook's features per series and a proposed threshold each.

Per (address, vector, metric) of the store, in this order:

- **given**: the operator's CSV has a threshold for this address: it is kept;
- **regression**: the operator's CSV has thresholds for some addresses of this vector
  and metric: a least-squares linear regression (with intercept) from the 12 features
  to those thresholds, as the notebook fits its analysts' thresholds, predicts one. With
  fewer labelled rows than features + 1 the model has only `daily_max_q90` (two rows
  or more) or is the ratio threshold / daily_max_q90 (one row);
- **rule**: otherwise RULE_FACTOR x daily_max_q90 (the notebook draws this line next
  to the analysts' threshold);
- **floor**: no unflagged history at all: the vector's floor.

Every proposal is kept within the vector's floor and ceiling (vectors.py). A training
row takes its features from its own feature columns when it has all 12 (as the
notebook's CSV does), else from the store's series of its address.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from controlplane.errors import Problem, RulesError
from controlplane.thresholds.csvfile import read_csv, require_columns
from controlplane.thresholds.features import FEATURES, features, n_days
from controlplane.thresholds.store import Store, canonical_address
from controlplane.thresholds.vectors import BY_NAME, METRICS

RULE_FACTOR = 3.0
"""The rule's multiple of the 90th percentile of the daily maxima."""


@dataclass
class Proposal:
    """One row of the proposal: a series' features and its proposed threshold (in the
    metric's unit: packets/s or bits/s)."""

    address: str
    vector: str
    metric: str
    days: int
    features: dict[str, float]
    method: str
    threshold: float


@dataclass(frozen=True)
class Label:
    """A threshold the operator chose, and the features to learn it from (may be empty)."""

    key: str  # an address (canonical) or the notebook's prediction id
    vector: str
    metric: str
    threshold: float
    features: dict[str, float] = field(default_factory=dict)


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_labels(path: Path) -> list[Label]:
    """The operator's thresholds CSV (docs/thresholds.md); RulesError at file:line:col."""
    header, rows, problems = read_csv(path)
    cols, missing = require_columns(
        header,
        path,
        [("address", "prediction_id"), ("vector",), ("metric",), ("threshold", "ip_ss")],
    )
    problems += missing
    if missing:
        raise RulesError(problems)
    labels: list[Label] = []
    for row in rows:
        cells = {k: row.get(v) for k, v in cols.items()}
        bad = False
        for k, c in cells.items():
            if c is None:
                problems.append(Problem(row.where, "", f"no {cols[k]} in this row"))
                bad = True
        if bad:
            continue
        addr, vec, met, thr = (cells[k] for k in ("address", "vector", "metric", "threshold"))
        assert addr is not None and vec is not None and met is not None and thr is not None
        key = addr.text
        if cols["address"] == "address":
            try:
                key = canonical_address(addr.text)
            except ValueError:
                problems.append(Problem(addr.where, "", f"'{addr.text}' is not an IP address"))
                bad = True
        if vec.text not in BY_NAME:
            import difflib

            close = difflib.get_close_matches(vec.text, list(BY_NAME), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see docs/thresholds.md"
            problems.append(Problem(vec.where, "", f"unknown vector '{vec.text}' ({hint})"))
            bad = True
        if met.text not in METRICS:
            problems.append(
                Problem(met.where, "", f"unknown metric '{met.text}' (expected PPS or BW)")
            )
            bad = True
        value = _number(thr.text)
        if value is None or value <= 0:
            problems.append(
                Problem(thr.where, "", f"'{thr.text}' is not a positive number (the threshold)")
            )
            bad = True
        feats: dict[str, float] = {}
        for name in FEATURES:
            c = row.get(name)
            if c is None:
                continue
            x = _number(c.text)
            if x is None:
                problems.append(Problem(c.where, "", f"'{c.text}' is not a number ({name})"))
                bad = True
            else:
                feats[name] = x
        if not bad:
            assert value is not None
            full = feats if len(feats) == len(FEATURES) else {}
            labels.append(Label(key, vec.text, met.text, value, full))
    if problems:
        raise RulesError(problems)
    return labels


@dataclass(frozen=True)
class Model:
    """A fitted linear model: threshold = intercept + sum(coef * feature)."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    method: str

    def predict(self, feats: dict[str, float]) -> float:
        """The model's threshold for `feats` (NaN if a feature it uses is NaN)."""
        xs = [feats[n] for n in self.names]
        if any(math.isnan(x) for x in xs):
            return math.nan
        return self.intercept + sum(c * x for c, x in zip(self.coef, xs, strict=True))


def fit(rows: Sequence[tuple[dict[str, float], float]]) -> Model | None:
    """Least squares from features to thresholds (docs above); None without usable rows."""
    full = [(f, y) for f, y in rows if all(not math.isnan(f[n]) for n in FEATURES)]
    if len(full) >= len(FEATURES) + 1:
        x = np.array([[f[n] for n in FEATURES] + [1.0] for f, _ in full])
        y = np.array([t for _, t in full])
        sol, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
        if rank == len(FEATURES) + 1:
            return Model(FEATURES, tuple(float(c) for c in sol[:-1]), float(sol[-1]), "regression")
    one = [(f["daily_max_q90"], y) for f, y in rows if not math.isnan(f["daily_max_q90"])]
    if len(one) >= 2 and len({x for x, _ in one}) >= 2:
        x = np.array([[a, 1.0] for a, _ in one])
        y = np.array([t for _, t in one])
        sol = np.linalg.lstsq(x, y, rcond=None)[0]
        return Model(("daily_max_q90",), (float(sol[0]),), float(sol[1]), "regression-1")
    ratios = [y / x for x, y in one if x > 0]
    if ratios:
        return Model(("daily_max_q90",), (sum(ratios) / len(ratios),), 0.0, "ratio")
    return None


Limits = Mapping[tuple[str, str], tuple[float, float]]
"""(vector, metric) -> (floor, ceiling), overriding vectors.py's."""


def clamp(value: float, vector: str, metric: str, limits: Limits | None = None) -> float:
    """`value` within the vector's floor and ceiling of `metric`."""
    lo, hi = (limits or {}).get((vector, metric)) or BY_NAME[vector].limit(metric)
    return min(max(value, lo), hi)


def learn(
    store: Store, labels: Sequence[Label] = (), limits: Limits | None = None
) -> list[Proposal]:
    """A proposal for every series and metric of `store`, sorted by address, vector, metric;
    `limits` overrides floors and ceilings."""
    table: dict[tuple[str, str, str], tuple[int, dict[str, float]]] = {}
    for address, vector in store.series():
        pts = store.points(address, vector)
        days = n_days(pts)
        for metric in METRICS:
            table[(address, vector, metric)] = (days, features(pts, metric))
    given = {(lb.key, lb.vector, lb.metric): lb.threshold for lb in labels}
    models: dict[tuple[str, str], Model | None] = {}
    for vector, metric in sorted({(lb.vector, lb.metric) for lb in labels}):
        rows = []
        for lb in labels:
            if (lb.vector, lb.metric) != (vector, metric):
                continue
            feats = lb.features or table.get((lb.key, vector, metric), (0, {}))[1]
            if feats:
                rows.append((feats, lb.threshold))
        models[(vector, metric)] = fit(rows)
    out = []
    for (address, vector, metric), (days, feats) in table.items():
        model = models.get((vector, metric))
        if (address, vector, metric) in given:
            method, value = "given", given[(address, vector, metric)]
        elif model is not None and not math.isnan(model.predict(feats)):
            method, value = model.method, model.predict(feats)
        elif not math.isnan(feats["daily_max_q90"]):
            method, value = "rule", RULE_FACTOR * feats["daily_max_q90"]
        else:
            method, value = "floor", 0.0
        if method != "given":
            value = clamp(value, vector, metric, limits)
        out.append(Proposal(address, vector, metric, days, feats, method, value))
    return out


COLUMNS = ("address", "vector", "metric", "days", *FEATURES, "method", "threshold")


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.6g}"


def write_proposal(rows: Sequence[Proposal], path: Path) -> None:
    """The proposal as CSV (COLUMNS; empty cell: NaN); `apply` reads it back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(COLUMNS)]
    for p in rows:
        cells = [p.address, p.vector, p.metric, str(p.days)]
        cells += [_fmt(p.features[n]) for n in FEATURES]
        cells += [p.method, _fmt(p.threshold)]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
