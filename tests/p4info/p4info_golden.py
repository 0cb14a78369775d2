"""Helpers for the P4Info tests: the golden files under data/own (our programs, one
P4Info kind each, with the P4Info `p4c-bm2-ss --p4runtime-files` wrote for them)."""

from __future__ import annotations

import difflib
from pathlib import Path

from p4.config.v1 import p4info_pb2

from softswitch.p4info.text import parse_text, to_text

DATA = Path(__file__).parent / "data"
OWN_DATA = DATA / "own"

# "own/<name>.p4", each next to "<name>.p4.p4info.txtpb".
GOLDEN_PROGRAMS = sorted(str(p.relative_to(DATA)) for p in OWN_DATA.glob("*.p4"))


def golden_text(program: str) -> str:
    return (DATA / f"{program}.p4info.txtpb").read_text(encoding="utf-8")


def strip_unknown_fields(text: str) -> str:
    """Drop the P4Runtime 1.5 field our 1.4.1 protos do not know (a newer p4c writes
    `initial_default_action_id`; the P4Runtime 1.4.1 protos this project pins lack it)."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not line.lstrip().startswith("initial_default_action_id:")
    )


def golden_p4info(program: str) -> p4info_pb2.P4Info:
    return parse_text(strip_unknown_fields(golden_text(program)))


def diff(expected: p4info_pb2.P4Info, actual: p4info_pb2.P4Info) -> str:
    return "".join(
        difflib.unified_diff(
            to_text(expected).splitlines(keepends=True),
            to_text(actual).splitlines(keepends=True),
            "p4c",
            "softswitch",
        )
    )
