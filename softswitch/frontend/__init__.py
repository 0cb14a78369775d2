"""The P4_16 frontend: preprocess, parse, type-check and elaborate a v1model program.

`load_program(path)` is the entry point; every problem in the program is
reported as a `P4Error` whose `str()` is `file:line:col: message`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from softswitch.frontend.ast import NOLOC, Elaborated, Program
from softswitch.frontend.errors import P4Error, Unsupported
from softswitch.frontend.preprocess import PPResult, preprocess, preprocess_text, render

__all__ = [
    "P4Error",
    "Unsupported",
    "load_program",
    "load_source",
    "parse_program",
    "preprocessed_source",
]


def _front(pp: PPResult, target_checks: bool = True) -> Elaborated:
    from softswitch.frontend.bmv2_checks import check_bmv2
    from softswitch.frontend.deadcode import (
        drop_unapplied_instances,
        drop_unapplied_tables,
        fold_constant_branches,
    )
    from softswitch.frontend.elaborate import elaborate
    from softswitch.frontend.parser import Parser
    from softswitch.frontend.support import refuse_unsupported
    from softswitch.frontend.typecheck import typecheck

    parser = Parser(pp.tokens)
    try:
        program = parser.parse_program()
        program.files = list(pp.files)
        tc = typecheck(program)
        fold_constant_branches(program)
        elaborated = elaborate(program, tc)
        drop_unapplied_instances(elaborated)
        drop_unapplied_tables(elaborated)
        if target_checks:
            check_bmv2(elaborated)
        refuse_unsupported(elaborated)
        return elaborated
    except P4Error:
        raise
    except RecursionError:
        raise P4Error(parser.tok.loc, "program is nested too deeply") from None
    except Exception as e:  # a frontend bug: report it as a located error, not a traceback
        raise P4Error(
            parser.tok.loc if parser.pos < len(parser.toks) - 1 else NOLOC,
            f"internal error in the P4 frontend: {type(e).__name__}: {e}",
        ) from e


def load_program(
    path: str | os.PathLike[str],
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | None = None,
) -> Elaborated:
    """Preprocess, parse, type-check and elaborate a P4_16 v1model program."""
    try:
        pp = preprocess(path, include_dirs, defines)
    except P4Error:
        raise
    except RecursionError:
        raise P4Error(NOLOC, "macro expansion is nested too deeply") from None
    except Exception as e:
        raise P4Error(NOLOC, f"internal error in the preprocessor: {type(e).__name__}: {e}") from e
    return _front(pp)


def load_source(
    text: str,
    file: str = "<source>",
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | None = None,
    target_checks: bool = True,
) -> Elaborated:
    """As load_program, for source text in memory (e.g. a device config's `source`).

    `target_checks=False` skips what only the BMv2 target refuses (bmv2_checks), for
    tools and tests of the language alone.
    """
    try:
        pp = preprocess_text(text, file, include_dirs, defines)
    except P4Error:
        raise
    except Exception as e:
        raise P4Error(NOLOC, f"internal error in the preprocessor: {type(e).__name__}: {e}") from e
    return _front(pp, target_checks)


def preprocessed_source(
    path: str | os.PathLike[str],
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | None = None,
) -> str:
    """The preprocessed program as text with `#line` markers (the device config's `source`)."""
    return render(preprocess(path, include_dirs, defines).tokens)


def parse_program(text: str, file: str = "<source>") -> Program:
    """Preprocess and parse only (no type checking): for tools and tests."""
    from softswitch.frontend.parser import parse_tokens

    return parse_tokens(preprocess_text(text, file).tokens)
