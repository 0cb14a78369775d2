"""Per-packet errors: a failure while one packet runs costs that packet, nothing more.

The generated driver catches any exception raised while a packet is in the
pipeline and hands it to `PacketErrors.record`: it finds the P4 statement that
was running (generated lines carry `LOC_TAG` comments naming their P4
source position), logs `file:line:col: packet error: ...`, and counts it.
The packet is dropped (outputs already produced for it, such as earlier
clones, are kept). P4 `assert`/`assume` failures arrive here too and cost
only their packet.
"""

from __future__ import annotations

import linecache
import logging
import traceback
from types import TracebackType

from softswitch.engine.context import LOC_TAG

log = logging.getLogger("softswitch.engine")


def p4_location(tb: TracebackType | None, filename: str) -> str | None:
    """The P4 location of the innermost tagged generated line on the traceback."""
    frames = [f for f in traceback.extract_tb(tb) if f.filename == filename]
    for fr in reversed(frames):
        lineno = fr.lineno or 0
        while lineno > 0:
            line = linecache.getline(filename, lineno)
            i = line.find(LOC_TAG)
            if i >= 0:
                return line[i + len(LOC_TAG) :].strip()
            if line.lstrip().startswith("def "):
                break  # not tagged in this function: look at its caller
            lineno -= 1
    return None


class PacketErrors:
    """Counts and logs the packets an error stopped; `record` is bound into the driver."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.count = 0
        self.last: str | None = None

    def record(self, exc: BaseException) -> None:
        self.count += 1
        where = p4_location(exc.__traceback__, self.filename) or "<pipeline>"
        self.last = f"{where}: packet error: {type(exc).__name__}: {exc}"
        log.error("%s (packet dropped; %d packet errors so far)", self.last, self.count)
        log.debug("packet error traceback", exc_info=exc)
