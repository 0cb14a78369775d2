"""`watch --store FILE`: the vector rules' interval reports and alerts into the store.

Each COUNTER_REPORT of a vector rule (vectors.classify) becomes one rate of its
destination address: packets and bits per second over the rule's interval, i.e. the
figure the rule's thresholds are compared with, as a rate. A THRESHOLD_ALERT marks the
interval it fell in as ALERTED. Reports of other rules are ignored.

Interval start times are taken on the capture clock: the report rides on a packet
captured at `ts`, stamped by the switch at `header.timestamp`, so the interval began
`(header.timestamp - interval_start)` µs before `ts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from controlplane.errors import ControllerError, RulesError
from controlplane.model import StatsRule
from controlplane.rules import load_rules
from controlplane.thresholds.store import ALERTED, Store
from controlplane.thresholds.vectors import Vector, classify

COMMIT_EVERY = 1000


class Collector:
    """Writes the events of `watch` that concern vector rules into `store`."""

    def __init__(self, store: Store, rules: Iterable[StatsRule]) -> None:
        self.store = store
        self.rules: dict[int, tuple[StatsRule, Vector]] = {}
        for r in rules:
            v = classify(r)
            if v is not None and r.interval_us > 0:
                self.rules[r.rule_id] = (r, v)
        self.reports = 0
        self.alerts = 0

    def observe(self, event: dict[str, Any]) -> None:
        """Take one event of `watch` (the JSON line's dict)."""
        kind = event.get("type")
        if kind not in ("counter_report", "threshold_alert"):
            return
        hit = self.rules.get(event.get("rule_id", -1))
        key = event.get("key")
        header = event.get("header")
        if hit is None or not isinstance(key, dict) or not isinstance(header, dict):
            return
        rule, vector = hit
        address = str(key.get("ipv4_dst"))
        ago_us = int(header.get("timestamp", 0)) - int(event.get("interval_start", 0))
        start_s = float(event.get("ts", 0.0)) - ago_us / 1e6
        if kind == "counter_report":
            self.store.add_report(
                address,
                vector.name,
                start_s,
                rule.interval_us / 1e6,
                int(event.get("packets", 0)),
                int(event.get("bytes", 0)),
            )
            self.reports += 1
        else:
            self.store.mark(address, vector.name, start_s, ALERTED)
            self.alerts += 1
        if (self.reports + self.alerts) % COMMIT_EVERY == 0:
            self.store.commit()

    def close(self) -> str:
        """Commit and close the store; returns a summary line."""
        self.store.close()
        return (
            f"{self.reports} interval reports and {self.alerts} alerts of "
            f"{len(self.rules)} vector rules stored in {self.store.path}"
        )


def open_collector(store_path: Path, rules_file: str) -> Collector:
    """A collector for the rules installed from `rules_file` (the state file's)."""
    if not rules_file:
        raise ControllerError(
            "watch --store: the state file names no installed rules file: run "
            "`python -m controlplane install rules.yaml` first"
        )
    rules, problems = load_rules(rules_file)
    if problems:
        raise RulesError(problems)
    return Collector(Store(store_path), rules.stats)
