"""Placement scales: rules are compared with the few rules whose match box meets
theirs, never all against all, and an entangled set is bounded in comparisons.
(Speed itself is measured by `make bench`, bench/rules_scale.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane import slots
from controlplane.fields import IPV4_HIGH, Range, Ternary
from controlplane.model import StatsRule
from controlplane.rules import read_rules


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the exact overlap tests assign makes."""
    calls = [0]
    real = slots.can_overlap

    def counted(a: StatsRule, b: StatsRule) -> bool:
        calls[0] += 1
        return real(a, b)

    monkeypatch.setattr(slots, "can_overlap", counted)
    yield calls


V4_HOST = IPV4_HIGH | 0xFFFFFFFF
"""An IPv4 /32 as rules.py writes it in the 128-bit address field (docs/stats-stage.md)."""


def _disjoint(n: int) -> list[StatsRule]:
    return [
        StatsRule(
            i,
            f"r{i}",
            i + 1,
            (
                ("dst_addr", Ternary(0x0A000000 + i, V4_HOST)),
                ("protocol", Ternary(6, 0xFF)),
                ("dst_port", Range(1024, 65535)),
            ),
            (("src_addr", 0xFFFFFFFF),),
        )
        for i in range(n)
    ]


def test_disjoint_rules_are_not_compared_all_against_all(comparisons: list[int]) -> None:
    n = 10_000
    plan = slots.assign(_disjoint(n), 4, 2500)
    assert len(plan.placed) == n and plan.unplaced == ()
    assert sorted(s for s, _ in plan.placed.values()) == [s for s in range(4) for _ in range(2500)]
    assert comparisons[0] < n  # all pairs would be 50 million


def test_a_few_overlaps_among_many_still_get_the_exact_search(comparisons: list[int]) -> None:
    rules = _disjoint(5000)
    # four more rules on r7's destination: five rules that overlap, four slots: one left over
    extra = [
        StatsRule(5000 + k, f"x{k}", 5001 + k, (("dst_addr", Ternary(0x0A000007, V4_HOST)),), ())
        for k in range(4)
    ]
    plan = slots.assign(rules + extra, 4, 2500)
    assert [r.name for r in plan.unplaced] == ["x3"]
    assert "it overlaps a rule in every slot" in plan.reasons["x3"]
    assert comparisons[0] < 100


def test_identical_rules_are_cut_short(comparisons: list[int]) -> None:
    n = 10_000
    rules = [StatsRule(i, f"r{i}", i + 1, (("protocol", Ternary(6, 0xFF)),), ()) for i in range(n)]
    plan = slots.assign(rules, 4, 1 << 20)
    assert len(plan.placed) == 4 and len(plan.unplaced) == n - 4
    assert comparisons[0] == 0  # equal matches conflict without the exact test


def test_entangled_set_is_bounded(comparisons: list[int]) -> None:
    # non-prefix masks: every box spans the field, so the index cannot separate them
    n = 3000
    rules = [
        StatsRule(
            i,
            f"r{i}",
            i + 1,
            (("src_addr", Ternary(i, 0xFFFF)), ("protocol", Ternary(i % 7 + 1, 0xFF))),
            (),
        )
        for i in range(n)
    ]
    plan = slots.assign(rules, 4, 1 << 20)
    assert len(plan.placed) + len(plan.unplaced) == n
    assert comparisons[0] <= slots.CHECK_BUDGET
    gave_up = [r for r in plan.unplaced if "gave up" in plan.reasons[r.name]]
    assert all("overlap comparisons" in plan.reasons[r.name] for r in gave_up)


def test_more_rules_than_rule_ids() -> None:
    text = "monitor: []\nstats:\n" + "".join(f"  - {{name: r{i}}}\n" for i in range(65_537))
    rs, probs = read_rules(text, "r.yaml")
    assert len(rs.stats) == 65_535
    assert [(p.where.line, p.message) for p in probs] == [
        (3 + i, "no rule id left: rule ids are 16 bits, at most 65535 rules")
        for i in (65_535, 65_536)
    ]
