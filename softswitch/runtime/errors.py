"""Errors raised by the runtime state, carrying a google.rpc canonical code.

The runtime does not import gRPC: the server maps `code` (a `google.rpc.Code`
number) straight into the per-update `p4.v1.Error` it reports.
"""

from __future__ import annotations

import enum


class Code(enum.IntEnum):
    """google.rpc.Code values used by P4Runtime."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14


class RuntimeStateError(Exception):
    """A refused change to the data-plane state; `code` says why (canonical code)."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"
