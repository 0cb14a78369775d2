"""Fixtures of the end-to-end tests: the shared switch lock."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator

import pytest
from e2e_helpers import LOCK_PATH, lock_held_by_ancestor

LOCK_WAIT_S = 600.0


@pytest.fixture(scope="module")
def switch_lock() -> Iterator[None]:
    """Hold /tmp/p4nids-switch.lock (as `flock` does) so no other switch run overlaps."""
    if lock_held_by_ancestor():  # e.g. `flock /tmp/p4nids-switch.lock make test`
        yield
        return
    with LOCK_PATH.open("a") as f:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{LOCK_PATH} was held by another run for {LOCK_WAIT_S:g} s")
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
