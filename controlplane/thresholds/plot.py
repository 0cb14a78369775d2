"""One PNG per address: its series per vector and metric with the proposed threshold.

Drawn as the notebook plots a series: the points (flagged ones crossed out: they are
left out of the features), the daily maxima, the 90th percentile of the daily maxima,
and the threshold as a dashed line. Matplotlib's object API with the Agg canvas: no
display and no pyplot state.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from controlplane.thresholds.features import daily
from controlplane.thresholds.learn import Proposal
from controlplane.thresholds.store import Store
from controlplane.thresholds.vectors import METRICS

UNITS = {"PPS": "packets/s", "BW": "bits/s"}


def _when(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def file_name(address: str) -> str:
    """The PNG's file name for `address` (IPv6 colons become underscores)."""
    return address.replace(":", "_") + ".png"


def plot_address(store: Store, address: str, rows: Sequence[Proposal], out_dir: Path) -> Path:
    """Draw `address`'s series with the thresholds of `rows`; returns the PNG's path."""
    vectors = sorted({p.vector for p in rows})
    by_key = {(p.vector, p.metric): p for p in rows}
    fig = Figure(figsize=(12, 2.6 * len(vectors)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(vectors), len(METRICS), squeeze=False)
    for i, vector in enumerate(vectors):
        pts = store.points(address, vector)
        for j, metric in enumerate(METRICS):
            ax = axes[i][j]
            ax.set_title(f"{address} {vector} {UNITS[metric]}", fontsize=9)
            ax.plot(
                [_when(p.t) for p in pts], [p.value(metric) for p in pts], lw=0.6, label="series"
            )
            flagged = [p for p in pts if p.flags]
            if flagged:
                ax.plot(
                    [_when(p.t) for p in flagged],
                    [p.value(metric) for p in flagged],
                    "x",
                    color="tab:red",
                    ms=4,
                    label="alerted/blocked (left out)",
                )
            days = [d for d in daily(pts, metric) if not math.isnan(d.max)]
            ax.plot([_when(d.t) for d in days], [d.max for d in days], "o", ms=3, label="daily max")
            prop = by_key.get((vector, metric))
            if prop is not None:
                q90 = prop.features["daily_max_q90"]
                if not math.isnan(q90):
                    ax.axhline(q90, color="tab:green", ls=":", lw=1, label="daily_max_q90")
                ax.axhline(
                    prop.threshold,
                    color="black",
                    ls="--",
                    lw=1.2,
                    label=f"threshold ({prop.method}) {prop.threshold:.4g}",
                )
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6, loc="upper left")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / file_name(address)
    fig.savefig(path, dpi=80)
    return path
