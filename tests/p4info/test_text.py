"""Text format: what we print for a P4Info is byte-for-byte what p4c prints."""

from __future__ import annotations

import pytest
from p4info_golden import GOLDEN_PROGRAMS, golden_text, strip_unknown_fields

from softswitch.p4info.text import HEADER, parse_text, read_text, to_text, write_text


@pytest.mark.parametrize("program", GOLDEN_PROGRAMS)
def test_round_trip_is_byte_exact(program: str) -> None:
    text = strip_unknown_fields(golden_text(program))
    assert to_text(parse_text(text)) == text


def test_header_comments_and_empty_type_info() -> None:
    from p4.config.v1 import p4info_pb2

    info = p4info_pb2.P4Info()
    info.pkg_info.arch = "v1model"
    info.type_info.SetInParent()
    assert to_text(info) == HEADER + 'pkg_info {\n  arch: "v1model"\n}\ntype_info {\n}\n'


def test_bytes_use_octal_escapes() -> None:
    from p4.config.v1 import p4info_pb2

    info = p4info_pb2.P4Info()
    enum = info.type_info.serializable_enums["E"]
    enum.underlying_type.bitwidth = 8
    member = enum.members.add()
    member.name = "foo"
    member.value = b"\x1c"
    assert 'value: "\\034"' in to_text(info)


def test_write_and_read_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    info = parse_text(strip_unknown_fields(golden_text(GOLDEN_PROGRAMS[0])))
    path = tmp_path / "x.p4info.txtpb"
    write_text(info, path)
    assert read_text(path) == info
    assert path.read_text().startswith("# proto-file: p4/config/v1/p4info.proto\n")
