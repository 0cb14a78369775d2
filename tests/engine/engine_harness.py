"""Helpers for engine tests: compile a P4 program from tests/engine/programs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from softswitch.engine import Pipeline, build_pipeline
from softswitch.runtime import DeviceState

PROGRAMS = Path(__file__).parent / "programs"


@dataclass
class Switch:
    pipeline: Pipeline
    state: DeviceState

    def run(self, port: int, data: bytes, now: int = 1000) -> list[tuple[int, bytes]]:
        return self.pipeline.process(port, data, now)


def load(name: str, seed: int = 0) -> Switch:
    """Compile tests/engine/programs/<name> (frontend -> P4Info -> state -> pipeline)."""
    return load_path(PROGRAMS / name, seed)


def load_path(path: Path, seed: int = 0) -> Switch:
    """Compile the P4 program at `path` (frontend -> P4Info -> state -> pipeline)."""
    try:
        from softswitch.frontend import load_program
        from softswitch.p4info import build_p4info
    except ImportError as exc:  # pragma: no cover - only while the frontend is missing
        pytest.fail(f"frontend or p4info missing: {exc}")
    e = load_program(str(path))
    state = DeviceState(build_p4info(e))
    return Switch(build_pipeline(e, state, None, seed=seed), state)
