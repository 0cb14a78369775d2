"""Compare the P4Info two compilers wrote for one program, ignoring order.

Repeated fields are matched by name (`preamble.name`, `name`) or id where they have
one, so a reordered list is not a difference; every other difference is reported as
a field path with both values, e.g. `actions[foo].params[x].bitwidth: 8 != 16`.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict
from p4.config.v1 import p4info_pb2

# top-level fields left out of the comparison (none: pkg_info is compared too)
IGNORED: set[str] = set()


def _key(item: Any) -> str:
    if isinstance(item, dict):
        pre = item.get("preamble")
        if isinstance(pre, dict) and "name" in pre:
            return str(pre["name"])
        for k in ("name", "id"):
            if k in item:
                return str(item[k])
    return repr(item)


def _names(value: Any) -> str:
    """` (a, b)` for a list of named objects, else ''."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return " (" + ", ".join(_key(x) for x in value) + ")"
    return ""


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if not path and k in IGNORED:
                continue
            sub = f"{path}.{k}" if path else k
            if k not in a:
                out.append(f"{sub}: only in the second{_names(b[k])}")
            elif k not in b:
                out.append(f"{sub}: only in the first{_names(a[k])}")
            else:
                _diff(a[k], b[k], sub, out)
    elif isinstance(a, list) and isinstance(b, list):
        ka = {_key(x): x for x in a}
        kb = {_key(x): x for x in b}
        if len(ka) != len(a) or len(kb) != len(b):
            if sorted(map(repr, a)) != sorted(map(repr, b)):
                out.append(f"{path}: {a!r} != {b!r}")
            return
        for k in sorted(set(ka) | set(kb)):
            sub = f"{path}[{k}]"
            if k not in ka:
                out.append(f"{sub}: only in the second")
            elif k not in kb:
                out.append(f"{sub}: only in the first")
            else:
                _diff(ka[k], kb[k], sub, out)
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")


def differences(first: p4info_pb2.P4Info, second: p4info_pb2.P4Info) -> list[str]:
    """Every difference between two P4Infos, as `path: detail` lines (empty if equal)."""
    out: list[str] = []
    _diff(MessageToDict(first), MessageToDict(second), "", out)
    return out
