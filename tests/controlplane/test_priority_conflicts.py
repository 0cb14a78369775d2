"""Two rules in one slot at one priority that can match the same packet (or are the
same entry): `check` and `install` refuse them at both rules' file:line:col, before
the switch answers ALREADY_EXISTS."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.cli import main
from controlplane.rules import read_rules
from controlplane.slots import assign

HEAD = "monitor: []\nstats:\n"


def _check(tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    f = tmp_path / "r.yaml"
    f.write_text(HEAD + body)
    rc = main(["check", str(f)])
    cap = capsys.readouterr()
    return rc, cap.err + cap.out


def test_same_match_same_slot_same_priority(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _check(
        tmp_path,
        "  - {name: a, match: {protocol: tcp}, slot: 1, priority: 5}\n"
        "  - {name: b, match: {protocol: tcp}, group_by: [src_addr], slot: 1, priority: 5}\n",
        capsys,
    )
    f = tmp_path / "r.yaml"
    assert rc == 2, out
    assert (
        f"{f}:3:5: stats[0]: stats[0] 'a' and stats[1] 'b' (at {f}:4:5) are both in slot 1 "
        "at priority 5 and have the same match" in out
    )
    assert f"{f}:4:5: stats[1]: stats[1] 'b' and stats[0] 'a' (at {f}:3:5)" in out
    assert "ALREADY_EXISTS" in out


def test_overlapping_same_slot_same_priority(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _check(
        tmp_path,
        "  - {name: a, match: {protocol: udp}, slot: 0, priority: 9}\n"
        "  - {name: b, match: {protocol: udp, src_port: 53}, slot: 0, priority: 9}\n",
        capsys,
    )
    assert rc == 2, out
    assert "can match the same packets: the switch cannot tell which one counts them" in out


def test_same_priority_disjoint_or_other_slot_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _check(
        tmp_path,
        "  - {name: a, match: {protocol: udp}, slot: 0, priority: 9}\n"
        "  - {name: b, match: {protocol: tcp}, slot: 0, priority: 9}\n"
        "  - {name: c, match: {protocol: tcp}, slot: 1, priority: 9}\n",
        capsys,
    )
    assert rc == 0, out


def test_file_order_priority_steps_around_an_explicit_one() -> None:
    rs, probs = read_rules(
        HEAD + "  - {name: a, match: {protocol: udp}, slot: 0, priority: 1}\n"
        "  - {name: b, match: {protocol: udp, src_port: 53}, slot: 0}\n",
        "r.yaml",
    )
    assert probs == []
    plan = assign(rs.stats)
    assert plan.conflicts == ()
    assert plan.placed == {"a": (0, 1), "b": (0, 2)}


def test_equal_unsatisfiable_matches_get_different_slots() -> None:
    # no packet matches either (non-IPv4 with a protocol), yet they are one table entry
    rs, probs = read_rules(
        HEAD + "  - {name: a, match: {is_ipv4: 0, protocol: tcp}}\n"
        "  - {name: b, match: {is_ipv4: 0, protocol: tcp}}\n",
        "r.yaml",
    )
    assert probs == []
    plan = assign(rs.stats)
    assert plan.placed["a"][0] != plan.placed["b"][0]
