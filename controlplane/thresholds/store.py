"""The history store: one SQLite file of interval rates per protected address and vector.

Why SQLite: it is in Python's standard library (no new dependency on the switch host),
one file, safe to read while `watch --store` writes it, and its UPSERT merges many
interval reports into one downsampled point in a single statement. (Parquet, the
notebook's format, is columnar and append-only: merging reports into buckets and
dropping old ones means rewriting files.)

Model (docs/thresholds.md):

- a *series* is (address, vector); it has two metrics, packets/s (`pps`) and bits/s
  (`bps`), stored side by side;
- downsampling: a *point* covers `step_s` seconds (default 60) and holds the largest
  interval rate reported in it (MAX consolidation keeps the peaks a threshold is about)
  and how many reports it merged;
- flags per point: ALERTED (the switch sent a threshold alert for an interval in it),
  BLOCKED (traffic was being mitigated); `learn` leaves flagged points out;
- retention: points older than `retention_s` before the newest point are deleted, so a
  series holds at most retention_s / step_s points;
- the store's span (first and last point written) says when the collector ran: a step
  inside the span without a point of a series is a zero of that series.

Addresses are stored as text (`ipaddress` canonical form), so IPv6 series fit as they are.
"""

from __future__ import annotations

import ipaddress
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from controlplane.errors import ControllerError

ALERTED = 1
BLOCKED = 2

DEFAULT_STEP_S = 60
DEFAULT_RETENTION_S = 35 * 86400
RETENTION_EVERY = 10_000  # writes between two retention passes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    vector TEXT NOT NULL,
    UNIQUE (address, vector)
);
CREATE TABLE IF NOT EXISTS points (
    series INTEGER NOT NULL REFERENCES series (id),
    t INTEGER NOT NULL,
    pps REAL NOT NULL,
    bps REAL NOT NULL,
    reports INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    PRIMARY KEY (series, t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_t ON points (t);
"""

_UPSERT = """
INSERT INTO points (series, t, pps, bps, reports, flags) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (series, t) DO UPDATE SET
    pps = max(pps, excluded.pps),
    bps = max(bps, excluded.bps),
    reports = reports + excluded.reports,
    flags = flags | excluded.flags
"""


class StoreError(ControllerError):
    """The store file cannot be used (not a store, other step, unreadable)."""


@dataclass(frozen=True)
class Point:
    """One downsampled point: bucket start `t` (s), peak packets/s and bits/s, flags."""

    t: int
    pps: float
    bps: float
    flags: int = 0

    def value(self, metric: str) -> float:
        """The point's figure of `metric` (PPS or BW)."""
        return self.pps if metric == "PPS" else self.bps


def canonical_address(text: str) -> str:
    """`text` as `ipaddress` writes it (ValueError if it is no address)."""
    return str(ipaddress.ip_address(text.strip()))


class Store:
    """An open history store; use as a context manager (commits and closes)."""

    def __init__(
        self,
        path: Path,
        step_s: int | None = None,
        retention_s: int | None = None,
    ) -> None:
        """Open (or create) the store at `path`; `step_s` is fixed when it is created
        (default DEFAULT_STEP_S), `retention_s` can change (default: as stored, else
        DEFAULT_RETENTION_S)."""
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path)
            self.db.executescript(_SCHEMA)
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path}: not a history store ({e})") from None
        stored = meta.get("step_s")
        if step_s is not None and stored is not None and stored != step_s:
            raise StoreError(f"{path}: the store has a step of {stored}s, not {step_s}s")
        self.step_s = int(stored or step_s or DEFAULT_STEP_S)
        self.retention_s = int(retention_s or meta.get("retention_s") or DEFAULT_RETENTION_S)
        if self.retention_s < self.step_s or self.step_s <= 0:
            raise StoreError(
                f"{path}: a retention of {self.retention_s}s is shorter than the step "
                f"of {self.step_s}s"
            )
        self.first_t: int | None = meta.get("first_t")
        self.last_t: int | None = meta.get("last_t")
        self._ids: dict[tuple[str, str], int] = {
            (a, v): i for i, a, v in self.db.execute("SELECT id, address, vector FROM series")
        }
        self._writes = 0
        self._save_meta()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _save_meta(self) -> None:
        rows = [("step_s", self.step_s), ("retention_s", self.retention_s)]
        rows += [(k, v) for k, v in (("first_t", self.first_t), ("last_t", self.last_t)) if v]
        self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)

    def bucket(self, t_s: float) -> int:
        """Start of the step that holds time `t_s`."""
        return int(t_s // self.step_s) * self.step_s

    def _series_id(self, address: str, vector: str) -> int:
        key = (canonical_address(address), vector)
        sid = self._ids.get(key)
        if sid is None:
            cur = self.db.execute("INSERT INTO series (address, vector) VALUES (?, ?)", key)
            assert cur.lastrowid is not None
            sid = self._ids[key] = cur.lastrowid
        return sid

    def _write(
        self, address: str, vector: str, t: int, pps: float, bps: float, n: int, fl: int
    ) -> None:
        self.db.execute(_UPSERT, (self._series_id(address, vector), t, pps, bps, n, fl))
        self.first_t = t if self.first_t is None else min(self.first_t, t)
        self.last_t = t if self.last_t is None else max(self.last_t, t)
        self._writes += 1
        if self._writes % RETENTION_EVERY == 0:
            self.enforce_retention()

    def add_report(
        self,
        address: str,
        vector: str,
        start_s: float,
        interval_s: float,
        packets: int,
        nbytes: int,
        flags: int = 0,
    ) -> None:
        """One interval report: `packets` and `nbytes` counted in an interval of the rule's
        `interval_s` that began at `start_s`."""
        pps = packets / interval_s
        bps = 8 * nbytes / interval_s
        self._write(address, vector, self.bucket(start_s), pps, bps, 1, flags)

    def add_point(
        self, address: str, vector: str, t_s: float, pps: float, bps: float, flags: int = 0
    ) -> None:
        """A rate observed at `t_s` (merged into its step like a report)."""
        self._write(address, vector, self.bucket(t_s), pps, bps, 1, flags)

    def mark(self, address: str, vector: str, start_s: float, flag: int) -> None:
        """Flag the point that holds time `start_s` (created at 0 if there is none yet)."""
        self._write(address, vector, self.bucket(start_s), 0.0, 0.0, 0, flag)

    def mark_range(self, address: str, vector: str, start_s: float, end_s: float, flag: int) -> int:
        """Flag every step of the store's span that overlaps [start_s, end_s) (the span is
        not extended: outside it nothing was collected); returns how many."""
        if self.first_t is None or self.last_t is None:
            return 0
        lo = max(self.bucket(start_s), self.first_t)
        hi = min(math.ceil(end_s / self.step_s) * self.step_s, self.last_t + self.step_s)
        sid = self._series_id(address, vector)
        steps = range(lo, hi, self.step_s)
        self.db.executemany(_UPSERT, ((sid, t, 0.0, 0.0, 0, flag) for t in steps))
        return len(steps)

    def enforce_retention(self) -> int:
        """Delete points older than the retention before the newest; returns how many."""
        if self.last_t is None:
            return 0
        cut = self.last_t - self.retention_s
        n = self.db.execute("DELETE FROM points WHERE t < ?", (cut,)).rowcount
        if self.first_t is not None and self.first_t < cut:
            self.first_t = self.bucket(cut + self.step_s - 1)
        return n

    def commit(self) -> None:
        """Make what was written visible to readers."""
        self._save_meta()
        self.db.commit()

    def close(self) -> None:
        """Apply the retention, commit and close."""
        self.enforce_retention()
        self.commit()
        self.db.close()

    def series(self) -> list[tuple[str, str]]:
        """(address, vector) of every series with points, sorted."""
        rows = self.db.execute(
            "SELECT DISTINCT s.address, s.vector FROM series s JOIN points p ON p.series = s.id"
        ).fetchall()
        return sorted(
            ((str(a), str(v)) for a, v in rows),
            key=lambda av: (
                ipaddress.ip_address(av[0]).version,
                ipaddress.ip_address(av[0]),
                av[1],
            ),
        )

    def points(self, address: str, vector: str, fill: bool = True) -> list[Point]:
        """The series' points in time order; with `fill`, a zero point for every step of the
        store's span that has none (the collector ran, the series had no traffic)."""
        sid = self._ids.get((canonical_address(address), vector))
        rows: list[Point] = []
        if sid is not None:
            rows = [
                Point(int(t), float(p), float(b), int(f))
                for t, p, b, f in self.db.execute(
                    "SELECT t, pps, bps, flags FROM points WHERE series = ? ORDER BY t", (sid,)
                )
            ]
        if not fill or self.first_t is None or self.last_t is None:
            return rows
        have = {p.t: p for p in rows}
        return [
            have.get(t, Point(t, 0.0, 0.0))
            for t in range(self.first_t, self.last_t + 1, self.step_s)
        ]

    def count(self) -> int:
        """Number of stored points."""
        return int(self.db.execute("SELECT count(*) FROM points").fetchone()[0])
