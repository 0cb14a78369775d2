"""Microstructure control on the path: delay, jitter, loss, reordering, rate.

The kernel here has no `netem` qdisc, so the path namespace runs a userspace relay
(`scenarios/relay.py`) between its two veths instead of the bridge. What the relay does
to each frame is drawn from a seeded RNG per direction, in the order frames arrive:

- loss: the frame is dropped with probability `loss`;
- delay and jitter: the frame leaves `delay_ms` + U(-`jitter_ms`, +`jitter_ms`) after it
  arrived (at least 0), but never before the frame in front of it (FIFO, as a link);
- reordering: with probability `reorder` the frame skips the queue and leaves at once
  (netem's reorder semantics), overtaking the delayed frames in front of it;
- rate: frames are serialised at `rate_kbit` kbit/s behind each other, with a queue of
  `queue` frames (tail drop beyond it).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from scenarios.hosts import Network

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Shaping:
    """Path properties (both directions alike)."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    reorder: float = 0.0
    rate_kbit: float = 0.0  # 0: no limit
    queue: int = 1000

    @property
    def active(self) -> bool:
        """Whether anything is shaped (otherwise the path is a plain bridge)."""
        return any((self.delay_ms, self.jitter_ms, self.loss, self.reorder, self.rate_kbit))

    def args(self) -> list[str]:
        """The relay's command-line options for these properties."""
        return [
            "--delay-ms",
            str(self.delay_ms),
            "--jitter-ms",
            str(self.jitter_ms),
            "--loss",
            str(self.loss),
            "--reorder",
            str(self.reorder),
            "--rate-kbit",
            str(self.rate_kbit),
            "--queue",
            str(self.queue),
        ]

    def start(self, net: Network, seed: int) -> None:
        """Replace the path's bridge by the relay, seeded with `seed`."""
        net.unbridge()
        stats = net.workdir / "relay-stats.json"
        bg = net.start(
            "relay",
            net.site.path_ns,
            [
                sys.executable,
                "-m",
                "scenarios.relay",
                "--a",
                net.site.client_path_if,
                "--b",
                net.site.server_path_if,
                "--seed",
                str(seed),
                "--stats",
                str(stats),
                *self.args(),
            ],
            env={"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")},
        )
        deadline = time.monotonic() + 10
        while b"relay ready" not in bg.log.read_bytes():
            if bg.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"relay did not start: {bg.log.read_text(errors='replace')}")
            time.sleep(0.02)


def parse_shaping(text: str) -> Shaping:
    """`delay=40ms,jitter=10ms,loss=1%,reorder=0.5%,rate=2mbit` -> Shaping."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, val = part.partition("=")
        key, val = key.strip(), val.strip().lower()
        if key in ("delay", "jitter"):
            num = float(val.removesuffix("ms")) if val.endswith("ms") else float(val) * 1e3
            values[f"{key}_ms"] = num
        elif key in ("loss", "reorder"):
            values[key] = float(val.removesuffix("%")) / 100 if val.endswith("%") else float(val)
        elif key == "rate":
            for suffix, mult in (("gbit", 1e6), ("mbit", 1e3), ("kbit", 1.0)):
                if val.endswith(suffix):
                    values["rate_kbit"] = float(val.removesuffix(suffix)) * mult
                    break
            else:
                raise ValueError(f"rate {val!r}: write e.g. 2mbit or 500kbit")
        elif key == "queue":
            values["queue"] = float(val)
        else:
            raise ValueError(f"unknown shaping property {key!r} (delay jitter loss reorder rate)")
    queue = int(values.pop("queue", 1000))
    return Shaping(**values, queue=queue)
