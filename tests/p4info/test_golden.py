"""build_p4info on p4c's own test programs must give the P4Info p4c wrote.

These need the frontend (``softswitch.frontend.load_program``) and fail
until it can load each program.
"""

from __future__ import annotations

import pytest
from p4info_golden import GOLDEN_PROGRAMS, P4C_DATA, diff, golden_p4info

from softswitch.p4info import build_p4info


@pytest.mark.parametrize("program", GOLDEN_PROGRAMS)
def test_p4info_equals_p4c_output(program: str) -> None:
    from softswitch.frontend import load_program  # type: ignore[attr-defined]

    expected = golden_p4info(program)
    actual = build_p4info(load_program(str(P4C_DATA / program)))
    assert actual == expected, "P4Info differs from p4c's:\n" + diff(expected, actual)
