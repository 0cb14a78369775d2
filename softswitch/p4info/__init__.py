"""P4Info (P4Runtime pipeline description) built from an elaborated program,
with ids, names and ordering as p4c's ``--p4runtime-files`` produces them."""

from softswitch.p4info.build import P4InfoError, build_p4info
from softswitch.p4info.ids import SymbolTable, hashed_id, jenkins_one_at_a_time
from softswitch.p4info.text import parse_text, to_text

__all__ = [
    "P4InfoError",
    "SymbolTable",
    "build_p4info",
    "hashed_id",
    "jenkins_one_at_a_time",
    "parse_text",
    "to_text",
]
