"""Shared pieces of the end-to-end tests: paths, the root check, scripts/ modules."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCK_PATH = Path("/tmp/p4nids-switch.lock")

ROOT_REASON = "needs root: creates veths and opens AF_PACKET sockets (run: sudo .venv/bin/pytest)"
requires_root = pytest.mark.skipif(os.geteuid() != 0, reason=ROOT_REASON)


def skip_unless_root() -> None:
    """Skip the calling test or fixture unless we are root."""
    if os.geteuid() != 0:
        pytest.skip(ROOT_REASON)


def _ancestors() -> set[int]:
    """PIDs of this process and every process above it."""
    out, pid = set(), os.getpid()
    while pid > 0 and pid not in out:
        out.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def lock_held_by_ancestor(path: Path = LOCK_PATH) -> bool:
    """True if a process above us holds the flock on `path`, as in
    `flock /tmp/p4nids-switch.lock make test`: then waiting for it would never end."""
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return False
    mine = _ancestors()
    for line in lines:
        f = line.split()
        if "->" in f or len(f) < 6 or f[1] != "FLOCK":
            continue
        if int(f[5].rsplit(":", 1)[1]) == inode and int(f[4]) in mine:
            return True
    return False


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py (scripts/ is not a package)."""
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod
