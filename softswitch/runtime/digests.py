"""Digest queue: samples from the data plane, batched into P4Runtime DigestLists.

The engine calls `emit(digest_id, values)`; the server drains `poll()` and sends
each `DigestBatch` as a DigestList. Semantics follow the P4Runtime spec and
BMv2's learning engine under PI:

* Nothing is collected for a digest until the controller inserts its
  DigestEntry (config); deleting the config drops what was buffered.
* A batch is ready when it holds `max_list_size` samples (0 = no limit) or
  its first sample is `max_timeout_ns` old (0 = at once).
* A sample equal to one already buffered, or in a list sent and not yet
  acknowledged (until `ack_timeout_ns` passes), is dropped: BMv2's learn
  filter. An ack (digest_id, list_id) lifts the filter for that list's samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DigestConfig:
    """P4Runtime DigestEntry.Config."""

    max_timeout_ns: int = 0
    max_list_size: int = 1
    ack_timeout_ns: int = 0


@dataclass(slots=True)
class DigestBatch:
    """One DigestList to send."""

    digest_id: int
    list_id: int
    samples: list[tuple[int, ...]]
    timestamp_ns: int


@dataclass(slots=True)
class _Pending:
    config: DigestConfig
    buffer: list[tuple[int, ...]] = field(default_factory=list)
    buffered: set[tuple[int, ...]] = field(default_factory=set)
    first_ns: int = 0
    # list_id -> (samples, sent_ns) for lists awaiting an ack
    unacked: dict[int, tuple[frozenset[tuple[int, ...]], int]] = field(default_factory=dict)
    next_list_id: int = 1


class DigestQueue:
    """Per-digest buffers, list ids and ack filters. Thread-safe."""

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._ready: list[DigestBatch] = []
        self.on_ready: Callable[[], None] | None = None  # wakes the server's sender
        self.dropped = 0  # samples dropped for want of a config

    # -- control plane

    def config(self, digest_id: int) -> DigestConfig | None:
        """The current config of a digest, or None if not configured."""
        with self._lock:
            p = self._pending.get(digest_id)
            return p.config if p else None

    def configs(self) -> dict[int, DigestConfig]:
        """Every configured digest."""
        with self._lock:
            return {d: p.config for d, p in self._pending.items()}

    def set_config(self, digest_id: int, config: DigestConfig | None) -> None:
        """Insert/modify (config) or delete (None) a digest's configuration."""
        with self._lock:
            if config is None:
                self._pending.pop(digest_id, None)
                self._ready = [b for b in self._ready if b.digest_id != digest_id]
            elif digest_id in self._pending:
                self._pending[digest_id].config = config
            else:
                self._pending[digest_id] = _Pending(config)

    def ack(self, digest_id: int, list_id: int) -> bool:
        """Acknowledge a list; False if it was unknown (already acked or expired)."""
        with self._lock:
            p = self._pending.get(digest_id)
            return p is not None and p.unacked.pop(list_id, None) is not None

    def clear(self) -> None:
        """Forget every config, buffer and filter (new pipeline)."""
        with self._lock:
            self._pending.clear()
            self._ready.clear()

    # -- data plane

    def emit(self, digest_id: int, values: tuple[int, ...]) -> None:
        """One digest sample from the pipeline."""
        notify = False
        with self._lock:
            p = self._pending.get(digest_id)
            if p is None:
                self.dropped += 1
                return
            if values in p.buffered or any(values in s for s, _ in p.unacked.values()):
                return
            now = self._clock()
            if not p.buffer:
                p.first_ns = now
            p.buffer.append(values)
            p.buffered.add(values)
            cfg = p.config
            if (cfg.max_list_size > 0 and len(p.buffer) >= cfg.max_list_size) or (
                cfg.max_timeout_ns <= 0
            ):
                self._flush(digest_id, p, now)
                notify = True
        if notify and self.on_ready is not None:
            self.on_ready()

    def _flush(self, digest_id: int, p: _Pending, now: int) -> None:
        batch = DigestBatch(digest_id, p.next_list_id, p.buffer, now)
        p.next_list_id = p.next_list_id % 0xFFFFFFFFFFFFFFFF + 1
        if p.config.ack_timeout_ns > 0:
            p.unacked[batch.list_id] = (frozenset(p.buffer), now)
        p.buffer = []
        p.buffered = set()
        self._ready.append(batch)

    # -- server side

    def poll(self) -> list[DigestBatch]:
        """Every batch ready now (full or timed out), oldest first; expires ack filters."""
        with self._lock:
            now = self._clock()
            for digest_id, p in self._pending.items():
                if p.buffer and now - p.first_ns >= p.config.max_timeout_ns:
                    self._flush(digest_id, p, now)
                if p.unacked and p.config.ack_timeout_ns > 0:
                    for lid, (_, sent) in list(p.unacked.items()):
                        if now - sent >= p.config.ack_timeout_ns:
                            del p.unacked[lid]
            ready, self._ready = self._ready, []
            return ready

    def next_deadline_ns(self) -> int | None:
        """Clock time at which `poll()` next has something to do, if any."""
        with self._lock:
            times = []
            for p in self._pending.values():
                if p.buffer:
                    times.append(p.first_ns + p.config.max_timeout_ns)
                times.extend(sent + p.config.ack_timeout_ns for _, sent in p.unacked.values())
            if self._ready:
                times.append(self._clock())
            return min(times) if times else None
