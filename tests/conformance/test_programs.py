"""The project's conformance programs (conformance/programs/*.p4 + .stf) on each target.

The softswitch leg always runs (in-process, over P4Runtime). The BMv2 leg runs when
p4c-bm2-ss and simple_switch_grpc are found ($P4TOOLS, or PATH) and the tests run as
root (BMv2 needs veths); otherwise it is skipped with the reason. Programs the
softswitch does not yet run correctly are listed in SOFTSWITCH_KNOWN_FAILURES as
strict xfails: fixing the engine turns them into failures until the entry is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import stf
from conformance.runner import PASS, Timing, differential, run_on_target
from conformance.targets import Bmv2, Softswitch, Target, hold_slot

PROGRAMS = Path(__file__).resolve().parents[2] / "conformance" / "programs"
CASES = sorted(p.stem for p in PROGRAMS.glob("*.stf"))

SOFTSWITCH_KNOWN_FAILURES: dict[str, str] = {}

# slot 2 keeps these tests off the default slot of an interactive `python -m conformance`;
# it is locked for the test session, so concurrent runs wait for each other
SLOT_INDEX = 2
TIMING = Timing(timeout=3.0, grace=0.2)

pytestmark = pytest.mark.conformance


def _run(target: Target, case: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    why = target.unavailable()
    if why:
        pytest.skip(f"{target.name} leg skipped: {why}")
    test = stf.parse_file(PROGRAMS / f"{case}.stf")
    where = hold_slot(SLOT_INDEX, "conformance tests: waiting for slot {slot} ({path})")
    return run_on_target(test, target, where, tmp_path / target.name, TIMING)


def test_every_program_has_its_stf() -> None:
    programs = sorted(p.stem for p in PROGRAMS.glob("*.p4"))
    assert programs == CASES
    assert CASES, "no conformance programs found"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=SOFTSWITCH_KNOWN_FAILURES[c]))
        if c in SOFTSWITCH_KNOWN_FAILURES
        else c
        for c in CASES
    ],
)
def test_softswitch(case: str, tmp_path: Path) -> None:
    r = _run(Softswitch(), case, tmp_path)
    assert r.status == PASS, r.reason


@pytest.mark.parametrize("case", CASES)
def test_bmv2_and_differential(case: str, tmp_path: Path) -> None:
    bmv2 = Bmv2()
    b = _run(bmv2, case, tmp_path)
    assert b.status == PASS, b.reason
    if case in SOFTSWITCH_KNOWN_FAILURES:
        return
    s = _run(Softswitch(), case, tmp_path)
    assert differential(s, b) == "", "softswitch and BMv2 sent different frames"
