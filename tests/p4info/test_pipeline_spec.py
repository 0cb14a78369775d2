"""controlplane/pipeline_spec.py and p4src/main.p4 agree: every name the controller and the
tests use exists in the compiled P4Info with the parameters, fields and sizes the spec
lists, the generated P4 constants are up to date, and p4c (when installed) writes the same
P4Info as softswitch."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from controlplane import pipeline_generate
from controlplane import pipeline_spec as ps
from controlplane.fields import FIELDS
from controlplane.groups import STATS_GROUPS_PER_SLOT
from softswitch.frontend import load_program
from softswitch.p4info import build_p4info

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "p4src" / "main.p4"
P4C = ROOT.parent / "shared" / "p4tools" / "bin" / "p4c-bm2-ss"


@pytest.fixture(scope="module")
def p4info() -> p4info_pb2.P4Info:
    return build_p4info(load_program(str(MAIN)))


def test_generated_p4_constants_are_up_to_date() -> None:
    assert not pipeline_generate.is_stale(), "run python -m controlplane.pipeline_generate"


def test_tables_and_match_fields(p4info: p4info_pb2.P4Info) -> None:
    have = {t.preamble.name: tuple(m.name for m in t.match_fields) for t in p4info.tables}
    assert have == ps.tables()


def test_actions_and_params(p4info: p4info_pb2.P4Info) -> None:
    have = {a.preamble.name: tuple(p.name for p in a.params) for a in p4info.actions}
    assert {k: have.get(k) for k in ps.actions()} == ps.actions()
    assert set(have) - set(ps.actions()) == {"NoAction"}


def test_counters_registers(p4info: p4info_pb2.P4Info) -> None:
    sizes = {c.preamble.name: c.size for c in p4info.counters}
    assert set(sizes) == set(ps.counters())
    for name, size in ps.counters().items():
        assert sizes[name] == (STATS_GROUPS_PER_SLOT if size is None else size), name
    assert {c.preamble.name for c in p4info.direct_counters} == set(ps.direct_counters())
    assert {r.preamble.name for r in p4info.registers} == set(ps.registers())
    assert all(re.fullmatch(ps.STATS_TABLE_PATTERN, ps.stats_table(s)) for s in range(4))


def test_controller_fields_follow_the_spec() -> None:
    assert set(FIELDS) <= set(ps.STATS_MATCH_FIELDS)
    params = {f.group_param for f in FIELDS.values() if f.group_param}
    assert params <= set(ps.COUNT_GROUP_PARAMS)


def test_generated_constants_are_the_ones_p4_uses() -> None:
    text = (ROOT / pipeline_generate.OUTPUT).read_text()
    for i, o in enumerate(ps.SYN_OUTCOMES):
        assert f"const bit<32> SYN_OUTCOME_{o.p4} = {i};" in text
    assert f"ETHERTYPE_NIDS_SWEEP = {ps.ETHERTYPE_SWEEP:#06x};" in text
    assert f"SYN_CLONE_SESSION_BASE = {ps.SYN_CLONE_SESSION_BASE};" in text
    # the literal field-list index of the @field_list annotations is the spec's
    header = (ROOT / "p4src/include/header.p4").read_text()
    assert set(re.findall(r"@field_list\((\d+)\)", header)) == {
        str(ps.FIELD_LIST_SYN_REGEN),
        str(ps.FIELD_LIST_REASM_HOLD),
    }
    hold = header[header.index("struct reasm_hold_t {") :]
    hold = hold[: hold.index("}")]
    assert set(re.findall(r"@field_list\((\d+)\)", hold)) == {str(ps.FIELD_LIST_REASM_HOLD)}
    assert f"FIELD_LIST_REASM_HOLD = {ps.FIELD_LIST_REASM_HOLD};" in text


def test_parser_takes_as_many_tags_as_decoders_skip() -> None:
    """The switch puts its header after the tags it parses; decoders look there only."""
    from feedback_header import spec

    parser = (ROOT / "p4src/include/parser.p4").read_text()
    states = set(re.findall(r"state parse_vlan(\d+)", parser))
    assert states == {str(i) for i in range(spec.MAX_VLAN_TAGS)}


@pytest.mark.skipif(not P4C.is_file(), reason="p4c-bm2-ss not installed (../shared/p4tools)")
def test_p4c_compiles_without_warnings_and_agrees(
    tmp_path: Path, p4info: p4info_pb2.P4Info
) -> None:
    out = tmp_path / "main.p4info.txtpb"
    proc = subprocess.run(
        [
            str(P4C),
            "--arch",
            "v1model",
            "--p4runtime-files",
            str(out),
            "-o",
            str(tmp_path / "main.json"),
            str(MAIN),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""
    theirs = text_format.Parse(out.read_text(), p4info_pb2.P4Info())
    assert theirs == p4info
