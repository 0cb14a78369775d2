"""build_p4info on golden programs must give the P4Info p4c wrote for them.

Programs are loaded through the whole frontend (as `load_program` does) except the
refusal of constructs the engine cannot run yet (action profiles and selectors): their
P4Info is still p4c's.
"""

from __future__ import annotations

import pytest
from p4info_golden import DATA, GOLDEN_PROGRAMS, diff, golden_p4info

from softswitch.frontend import ast
from softswitch.frontend.bmv2_checks import check_bmv2
from softswitch.frontend.deadcode import (
    drop_unapplied_instances,
    drop_unapplied_tables,
    fold_constant_branches,
)
from softswitch.frontend.elaborate import elaborate
from softswitch.frontend.parser import Parser
from softswitch.frontend.preprocess import preprocess
from softswitch.frontend.typecheck import typecheck
from softswitch.p4info import build_p4info


def elaborate_for_p4info(path: str) -> ast.Elaborated:
    pp = preprocess(path)
    program = Parser(pp.tokens).parse_program()
    program.files = list(pp.files)
    tc = typecheck(program)
    fold_constant_branches(program)
    e = elaborate(program, tc)
    drop_unapplied_instances(e)
    drop_unapplied_tables(e)
    check_bmv2(e)
    return e


@pytest.mark.parametrize("program", GOLDEN_PROGRAMS)
def test_p4info_equals_p4c_output(program: str) -> None:
    expected = golden_p4info(program)
    actual = build_p4info(elaborate_for_p4info(str(DATA / program)))
    assert actual == expected, "P4Info differs from p4c's:\n" + diff(expected, actual)
