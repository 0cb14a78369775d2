"""Valid v1model constructs the softswitch cannot run yet: refused after elaboration.

The type checker and elaborator accept them (so the P4Info builder sees them as
p4c does); `refuse_unsupported` turns them into `file:line:col: ... is not
supported` before anything tries to execute the program.
"""

from __future__ import annotations

from softswitch.frontend import ast
from softswitch.frontend.errors import Unsupported


def refuse_unsupported(e: ast.Elaborated) -> None:
    """Raise Unsupported for the first construct in `e` the engine cannot execute."""
    for t in e.tables:
        for k in t.decl.keys:
            if k.match_kind == "selector":
                raise Unsupported(k.loc, "selector match kind (action selectors)")
        for prop in t.decl.properties:
            if prop.name == "implementation":
                raise Unsupported(prop.loc, "table implementation (action profiles and selectors)")
