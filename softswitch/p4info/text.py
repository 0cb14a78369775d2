"""P4Info text format, byte-for-byte as p4c writes ``*.p4info.txtpb``.

p4c prints the message with protobuf's C++ TextFormat printer after two
comment lines naming the proto file and message; Python's text_format prints
the same text for P4Info (fields in number order, map entries sorted by key,
bytes with octal escapes).
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

HEADER = "# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\n"


def to_text(p4info: p4info_pb2.P4Info) -> str:
    """The text p4c writes for ``p4info`` (including its header comments)."""
    text: str = text_format.MessageToString(p4info)
    return HEADER + text


def parse_text(text: str) -> p4info_pb2.P4Info:
    """Parse text-format P4Info (comments allowed)."""
    return text_format.Parse(text, p4info_pb2.P4Info())


def write_text(p4info: p4info_pb2.P4Info, path: str | Path) -> None:
    """Write ``p4info`` to ``path`` in p4c's text format."""
    Path(path).write_text(to_text(p4info), encoding="utf-8")


def read_text(path: str | Path) -> p4info_pb2.P4Info:
    """Read a text-format P4Info file."""
    return parse_text(Path(path).read_text(encoding="utf-8"))
