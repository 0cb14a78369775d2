"""Errors the frontend reports: always with the original source location."""

from __future__ import annotations

from softswitch.frontend.ast import NOLOC, Loc


class P4Error(Exception):
    """A problem in the P4 program; ``str()`` is ``file:line:col: msg``."""

    def __init__(self, loc: Loc | None, msg: str) -> None:
        self.loc = loc if loc is not None else NOLOC
        self.msg = msg
        super().__init__(f"{self.loc}: {msg}")

    def __str__(self) -> str:
        return f"{self.loc}: {self.msg}"


class Unsupported(P4Error):
    """A valid P4 construct this frontend does not implement."""

    def __init__(self, loc: Loc | None, construct: str) -> None:
        self.construct = construct
        super().__init__(loc, f"{construct} is not supported")
