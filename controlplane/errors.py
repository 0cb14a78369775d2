"""Errors the controller reports to its user (never as a traceback).

Each kind maps to one exit status in `cli.py`: 2 for a rules file with mistakes,
3 for rules the running pipeline cannot carry, 4 for a refused write, 1 for an
unreachable switch or other trouble.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.model import Where


@dataclass(frozen=True)
class Problem:
    """One mistake in a rules file: where, which setting (`stats[2].match.src_addr`), what."""

    where: Where
    path: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.where}: {self.path}: {self.message}"
            if self.path
            else f"{self.where}: {self.message}"
        )


class ControllerError(Exception):
    """Base class: `str()` is the message for the user."""

    exit_status = 1


class RulesError(ControllerError):
    """The rules file has mistakes; `problems` lists every one of them, in file order."""

    exit_status = 2

    def __init__(self, problems: list[Problem], hint: str = "") -> None:
        self.problems = sorted(problems, key=lambda p: (p.where.line, p.where.col))
        self.hint = hint
        text = "\n".join(str(p) for p in self.problems)
        n = len(self.problems)
        text += f"\n{n} error{'s' if n != 1 else ''} in {self.problems[0].where.path}" if n else ""
        super().__init__(text + (f"\n{hint}" if hint else ""))


class CapabilityError(ControllerError):
    """The running pipeline cannot carry some rules; `messages` says which and why."""

    exit_status = 3

    def __init__(self, messages: list[str], hint: str = "") -> None:
        self.messages = messages
        self.hint = hint
        head = "the running pipeline cannot carry these rules:"
        super().__init__(
            "\n".join([head, *("  " + m for m in messages)] + ([hint] if hint else []))
        )


class SwitchUnreachable(ControllerError):
    """No P4Runtime server answers at the address."""

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(
            f"cannot reach the switch at {address}: {detail} — is it running? (make run)"
        )


class SwitchError(ControllerError):
    """The switch answered with an error the user must act on (not primary, no pipeline, ...)."""


@dataclass(frozen=True)
class UpdateError:
    """The switch's answer to one update of a Write batch."""

    index: int
    code: str
    message: str


class WriteFailed(ControllerError):
    """A Write batch was refused (partly); `errors` are the per-update details."""

    exit_status = 4

    def __init__(self, summary: str, errors: list[UpdateError]) -> None:
        self.errors = errors
        super().__init__(summary)
