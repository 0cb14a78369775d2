"""The machine a benchmark ran on, for bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), or what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> str:
    """CPU model, cores, architecture, kernel and Python in one line."""
    return (
        f"{cpu_model()} ({os.cpu_count()} cores), {platform.machine()}, Linux "
        f"{platform.release()}; {platform.python_implementation()} {platform.python_version()}"
    )
