"""P4Info (P4Runtime pipeline description) built from an elaborated program,
with ids, names and ordering as p4c's ``--p4runtime-files`` produces them.

The names below are loaded on first use, so that importing one submodule (e.g.
``softswitch.p4info.text``) does not load the builder and the frontend with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from softswitch.p4info.build import P4InfoError, build_p4info
    from softswitch.p4info.ids import SymbolTable, hashed_id, jenkins_one_at_a_time
    from softswitch.p4info.text import parse_text, to_text

_EXPORTS = {
    "P4InfoError": "build",
    "build_p4info": "build",
    "SymbolTable": "ids",
    "hashed_id": "ids",
    "jenkins_one_at_a_time": "ids",
    "parse_text": "text",
    "to_text": "text",
}

__all__ = [
    "P4InfoError",
    "SymbolTable",
    "build_p4info",
    "hashed_id",
    "jenkins_one_at_a_time",
    "parse_text",
    "to_text",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
