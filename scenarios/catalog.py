"""Every scenario by name, in the order `make scenarios` runs them."""

from __future__ import annotations

from scenarios.attacks import ATTACKS
from scenarios.benign import BENIGN
from scenarios.run import Scenario

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (*BENIGN, *ATTACKS)}
