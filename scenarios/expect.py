"""A run's connections against what its subscenarios expect.

Expectation keys per subscenario:

- `tcp/80`: this many connections of that protocol to that responder port;
- `tcp/*`: this many of that protocol to any port no explicit key names;
- `targets/tcp`: this many distinct (responder address, port) pairs of that protocol;
- a count of -1: any number (allowed, not counted).

Every connection of the subscenario must fall under one of its keys.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def check(doc: dict[str, Any]) -> list[str]:
    """Mismatches between `doc`'s connections and expectations (empty when it matches)."""
    problems = []
    by_sub: dict[str, list[dict[str, Any]]] = {s["name"]: [] for s in doc["subscenarios"]}
    for c in doc["connections"]:
        by_sub.setdefault(c["subscenario"], []).append(c)
    for sub in doc["subscenarios"]:
        name, expect = sub["name"], sub["expect"]
        got: Counter[str] = Counter()
        targets: dict[str, set[tuple[str, int]]] = {}
        for c in by_sub[name]:
            exact, wild, tkey = f"{c['proto']}/{c['resp_p']}", f"{c['proto']}/*", ""
            tkey = f"targets/{c['proto']}"
            if exact in expect:
                got[exact] += 1
            elif wild in expect:
                got[wild] += 1
            elif tkey in expect:
                targets.setdefault(tkey, set()).add((c["resp_h"], c["resp_p"]))
            else:
                problems.append(
                    f"{doc['scenario']}/{name}: unexpected connection {exact} "
                    f"{c['orig_h']}:{c['orig_p']} -> {c['resp_h']}"
                )
        for key, want in expect.items():
            have = len(targets.get(key, ())) if key.startswith("targets/") else got[key]
            if want >= 0 and have != want:
                problems.append(
                    f"{doc['scenario']}/{name}: {key}: {have} connections, expected {want}"
                )
    return problems
