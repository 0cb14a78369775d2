"""The controller's memory between runs: run/controlplane-state.json.

`install` writes which rule (name) has which rule id, slot and priority; `watch` and
`status` use it to name rules in their output, and the next `install` uses the slots
as a preference so that adding a rule does not move (and reset) the others. `watch`
adds the group keys it learned (slot, group index -> key) from collision records.
The file is advisory: everything still works without it, with less helpful names.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_STATE = Path("run/controlplane-state.json")


@dataclass
class InstalledRule:
    """What was installed for one rule."""

    name: str
    rule_id: int
    slot: int
    priority: int
    group_by: dict[str, int] = field(default_factory=dict)
    description: str = ""


@dataclass
class State:
    """The whole state file."""

    address: str = ""
    device_id: int = 0
    rules_file: str = ""
    rules: list[InstalledRule] = field(default_factory=list)
    software_rules_file: str = ""
    group_keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # "slot/index" -> key
    # the SYN-offload settings installed (empty: stage off): slots, timeout_us,
    # sweep_rate, sweep_monitor_port; `sweep` reads them
    syn_offload: dict[str, int] = field(default_factory=dict)

    def rule_by_id(self) -> dict[int, InstalledRule]:
        """Installed rules by rule id."""
        return {r.rule_id: r for r in self.rules}

    def slots_by_name(self) -> dict[str, int]:
        """Previous slot per rule name (placement preference)."""
        return {r.name: r.slot for r in self.rules}


def load(path: Path = DEFAULT_STATE) -> State:
    """The state at `path`, or an empty State if it is missing or unreadable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        rules = [InstalledRule(**r) for r in raw.pop("rules", [])]
        return State(rules=rules, **raw)
    except (OSError, ValueError, TypeError):
        return State()


def save(state: State, path: Path = DEFAULT_STATE) -> None:
    """Write `state` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(state), f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
