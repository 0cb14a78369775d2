"""What a validated rules.yaml says, as typed, frozen values.

Nothing here knows YAML or P4Runtime: `rules.py` builds these from the file,
`slots.py` places them, `compile.py` turns them into table entries and
`software_stats.py` evaluates them on packets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controlplane.fields import FIELDS, Match
from controlplane.pipeline_spec import STATS_SLOTS as STATS_SLOTS  # one spec, re-exported

if TYPE_CHECKING:
    from controlplane.balance.section import MonitorGroup
    from controlplane.prefilter import PrefilterConfig

STATS_RULES_PER_SLOT = 64
"""Entries per slot table per docs/stats-stage.md (p4src/include/size.p4)."""


@dataclass(frozen=True)
class Where:
    """A position in the rules file (1-based line and column)."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class StatsRule:
    """One masked-field counter rule (paper §2.1).

    `match` holds the fields the rule matches on (every other field is a wildcard),
    `group_by` the group-by mask per field (fields not listed are not grouped).
    Thresholds and `interval_us` of 0 are off.
    """

    index: int
    name: str
    rule_id: int
    match: tuple[tuple[str, Match], ...]
    group_by: tuple[tuple[str, int], ...]
    interval_us: int = 0
    packet_threshold: int = 0
    byte_threshold: int = 0
    bidirectional: bool = False
    slot: int | None = None
    priority: int | None = None
    description: str = ""
    where: Where | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How messages name the rule: `stats[2] 'dns-responses'`."""
        return f"stats[{self.index}] '{self.name}'"

    def match_of(self, name: str) -> Match | None:
        """The rule's match on field `name`, None if it is a wildcard."""
        return dict(self.match).get(name)

    def group_mask(self, name: str) -> int:
        """The group-by mask of field `name` (0 if the rule does not group by it)."""
        return dict(self.group_by).get(name, 0)


@dataclass(frozen=True)
class MonitorPort:
    """Traffic arriving on `ingress_port` goes to the monitor on `monitor_port`."""

    ingress_port: int
    monitor_port: int
    where: Where | None = field(default=None, compare=False)


# SYN offload limits (docs/syn-offload.md): the record keeps last-seen as a
# 24-bit offset in µs, so the timeout is at most 2^24 - 1 µs.
SYN_MAX_TIMEOUT_US = (1 << 24) - 1
SYN_DEFAULT_TIMEOUT_US = 5_000_000
SYN_DEFAULT_SWEEP_RATE = 1000


@dataclass(frozen=True)
class SynOffloadConfig:
    """The `syn_offload:` section: stage on/off, timeout, sweep rate, table size."""

    enabled: bool = True
    timeout_us: int = SYN_DEFAULT_TIMEOUT_US
    sweep_rate: int = SYN_DEFAULT_SWEEP_RATE  # sweep packets (slots examined) per second
    slots: int | None = None  # None: all the P4 was compiled with
    sweep_monitor_port: int | None = None  # None: the first monitor port
    where: Where | None = field(default=None, compare=False)
    slots_where: Where | None = field(default=None, compare=False)


REASM_DEFAULT_IDLE_TIMEOUT_US = 300_000_000
REASM_DEFAULT_HOLD_PER_FLOW = 4
REASM_DEFAULT_HOLD_TOTAL = 1024
REASM_DEFAULT_GAP_TIMEOUT_US = 10_000


@dataclass(frozen=True)
class ReassemblyConfig:
    """The `reassembly:` section: stage on/off, session-table size, idle timeout and the
    hold budgets (segments ahead of a gap held per connection and in all, and how long a
    gap may stay open)."""

    enabled: bool = True
    slots: int | None = None  # None: all the P4 was compiled with
    idle_timeout_us: int = REASM_DEFAULT_IDLE_TIMEOUT_US
    hold_segments_per_flow: int = REASM_DEFAULT_HOLD_PER_FLOW
    hold_segments_total: int = REASM_DEFAULT_HOLD_TOTAL
    gap_timeout_us: int = REASM_DEFAULT_GAP_TIMEOUT_US
    where: Where | None = field(default=None, compare=False)
    slots_where: Where | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RuleSet:
    """A whole, valid rules file."""

    path: str
    stats: tuple[StatsRule, ...] = ()
    monitor: tuple[MonitorPort, ...] = ()
    syn_offload: SynOffloadConfig | None = None
    sections: frozenset[str] = frozenset()  # top-level sections written with a value
    end: Where | None = field(default=None, compare=False)  # where the file's text ends
    monitors: MonitorGroup | None = None
    reassembly: ReassemblyConfig | None = None
    prefilters: PrefilterConfig | None = None

    def by_name(self) -> dict[str, StatsRule]:
        """Rules by name."""
        return {r.name: r for r in self.stats}


def field_order(name: str) -> int:
    """Position of a field in the table key (for stable output)."""
    return list(FIELDS).index(name)
