"""Digest queue: samples from the data plane, batched into P4Runtime DigestLists.

The engine calls `emit(digest_id, values)`; the server drains `poll()` and sends
each `DigestBatch` as a DigestList. Two layers, as simple_switch_grpc (BMv2 1.15.5
under PI) has them, measured against it:

Device (BMv2's learn list, bm_sim/learning.cpp), one per digest, configured or not:

* A sample equal to one in the device buffer, or held by the server layer (in the
  list being built, or in a list sent and not acknowledged), is dropped: the filter.
* The buffer goes to the server layer when it holds `max_samples` samples or when its
  first sample is `timeout` old. Before any DigestEntry: 16 samples, 1 s
  (p4objects.cpp). A DigestEntry sets `max_list_size` (0: 1024) and `max_timeout_ns`
  truncated to milliseconds (0: no timeout, the buffer waits until it is full);
  deleting the DigestEntry leaves them. A changed timeout applies to a buffer
  already waiting only when it is later than the deadline it waits for.

Server (PI's DigestMgr, proto/frontend/src/digest_mgr.cpp), while a DigestEntry exists:

* A buffer arriving without a DigestEntry is dropped (`dropped`); samples buffered
  before the DigestEntry and still in the device buffer when it comes are delivered.
* With `ack_timeout_ns` > 0, a sample already in a list being built or sent and not
  acknowledged is dropped; an ack (digest_id, list_id) releases that list's samples, as
  does the ack sweep: every max(ack_timeout_ns, 100 ms) from the config, a list seen
  by the previous sweep is released.
* The list is sent when a buffer brings it to `max_list_size` samples held for acks
  (not counted when `ack_timeout_ns` is 0), or at once when `max_timeout_ns` is 0;
  otherwise by the timeout sweep: every max(max_timeout_ns, 100 ms) from the config, a
  non-empty list seen by the previous sweep is sent (a sample waits one to two periods).
* List ids count from 1 per digest, across DigestEntry deletes and inserts; deleting
  the DigestEntry drops the list being built and the acknowledgement state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEVICE_MAX_SAMPLES = 16
"""BMv2's learn list size before any DigestEntry (p4objects.cpp)."""
DEVICE_TIMEOUT_NS = 1_000_000_000
"""BMv2's learn list timeout before any DigestEntry (LearnEngine::list_create)."""
UNLIMITED_LIST_SAMPLES = 1024
"""The device buffer size for a DigestEntry with max_list_size 0 (pi_learn_imp.cpp)."""
SWEEP_MIN_NS = 100_000_000
"""The shortest period of PI's timeout and ack sweeps (digest_mgr.cpp)."""

Sample = tuple[int, ...]


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
    samples: list[Sample]
    timestamp_ns: int


@dataclass(slots=True)
class _Device:
    """BMv2's learn list of one digest."""

    max_samples: int = DEVICE_MAX_SAMPLES
    timeout_ns: int = DEVICE_TIMEOUT_NS  # 0: no timeout
    buffer: list[Sample] = field(default_factory=list)
    buffered: set[Sample] = field(default_factory=set)
    started: int = 0  # when the buffer's first sample came
    deadline: int | None = None  # when the buffer goes to the server layer


@dataclass(slots=True)
class _Sweep:
    """A periodic task of PI's digest manager: ticks at phase + k * period."""

    phase: int
    period: int
    next: int

    @staticmethod
    def start(now: int, interval_ns: int) -> _Sweep | None:
        if interval_ns <= 0:
            return None
        period = max(interval_ns, SWEEP_MIN_NS)
        return _Sweep(now, period, now + period)

    def realign(self, now: int) -> None:
        """The first tick after `now` (ticks that passed while idle changed nothing)."""
        if self.next <= now:
            self.next = self.phase + ((now - self.phase) // self.period + 1) * self.period


@dataclass(slots=True)
class _Server:
    """PI's state of one configured digest."""

    config: DigestConfig
    current: list[Sample] = field(default_factory=list)
    cached: int = 0  # samples of `current` held for acks
    held: set[Sample] = field(default_factory=set)  # current's and unacked lists' samples
    timeout_bit: bool = False
    unacked: dict[int, tuple[frozenset[Sample], bool]] = field(default_factory=dict)
    max_sweep: _Sweep | None = None
    ack_sweep: _Sweep | None = None


@dataclass(slots=True)
class _Digest:
    device: _Device = field(default_factory=_Device)
    server: _Server | None = None
    next_list_id: int = 1


class DigestQueue:
    """Per-digest device buffers, server lists, list ids and filters. Thread-safe."""

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._digests: dict[int, _Digest] = {}
        self._ready: list[DigestBatch] = []
        self.on_ready: Callable[[], None] | None = None  # wakes the server's sender
        self.dropped = 0  # samples dropped for want of a config

    # -- control plane

    def config(self, digest_id: int) -> DigestConfig | None:
        """The current config of a digest, or None if not configured."""
        with self._lock:
            d = self._digests.get(digest_id)
            return d.server.config if d is not None and d.server is not None else None

    def configs(self) -> dict[int, DigestConfig]:
        """Every configured digest."""
        with self._lock:
            return {i: d.server.config for i, d in self._digests.items() if d.server}

    def set_config(self, digest_id: int, config: DigestConfig | None) -> None:
        """Insert/modify (config) or delete (None) a digest's configuration."""
        with self._lock:
            now = self._clock()
            d = self._digests.setdefault(digest_id, _Digest())
            if config is None:
                d.server = None
                self._ready = [b for b in self._ready if b.digest_id != digest_id]
                return
            before = len(self._ready)
            s = d.server
            if s is None:
                s = d.server = _Server(config)
            else:
                s.config = config
            s.max_sweep = _Sweep.start(now, config.max_timeout_ns)
            s.ack_sweep = _Sweep.start(now, config.ack_timeout_ns)
            dev = d.device
            dev.max_samples = config.max_list_size or UNLIMITED_LIST_SAMPLES
            dev.timeout_ns = config.max_timeout_ns // 1_000_000 * 1_000_000
            if dev.buffer and len(dev.buffer) >= dev.max_samples:
                self._flush_device(digest_id, d, now)
            elif dev.buffer and dev.deadline is not None:
                if dev.timeout_ns <= 0:
                    dev.deadline = None
                else:
                    dev.deadline = max(dev.deadline, dev.started + dev.timeout_ns)
            notify = len(self._ready) > before
        if notify and self.on_ready is not None:
            self.on_ready()

    def ack(self, digest_id: int, list_id: int) -> bool:
        """Acknowledge a list; False if it was unknown (already acked or expired)."""
        with self._lock:
            d = self._digests.get(digest_id)
            s = d.server if d is not None else None
            if s is None or list_id not in s.unacked:
                return False
            samples, _ = s.unacked.pop(list_id)
            s.held -= samples
            return True

    def clear(self) -> None:
        """Forget every config, buffer and filter (new pipeline)."""
        with self._lock:
            self._digests.clear()
            self._ready.clear()

    # -- data plane

    def emit(self, digest_id: int, values: Sample) -> None:
        """One digest sample from the pipeline."""
        with self._lock:
            d = self._digests.setdefault(digest_id, _Digest())
            dev = d.device
            if values in dev.buffered or (d.server is not None and values in d.server.held):
                return
            now = self._clock()
            before = len(self._ready)
            dev.buffer.append(values)
            dev.buffered.add(values)
            if len(dev.buffer) >= dev.max_samples:
                self._flush_device(digest_id, d, now)
            elif len(dev.buffer) == 1:
                dev.started = now
                dev.deadline = now + dev.timeout_ns if dev.timeout_ns > 0 else None
            notify = len(self._ready) > before
        if notify and self.on_ready is not None:
            self.on_ready()

    def _flush_device(self, digest_id: int, d: _Digest, now: int) -> None:
        """The device buffer goes to the server layer (PI's learn callback)."""
        dev = d.device
        samples, dev.buffer, dev.buffered, dev.deadline = dev.buffer, [], set(), None
        s = d.server
        if s is None:
            self.dropped += len(samples)
            return
        cache = s.config.ack_timeout_ns > 0
        added = False
        for v in samples:
            if cache:
                if v in s.held:
                    continue
                s.held.add(v)
                s.cached += 1
            if not s.current and s.max_sweep is not None:
                s.max_sweep.realign(now)
            s.current.append(v)
            added = True
        if not added:
            return
        cfg = s.config
        if (cfg.max_list_size != 0 and s.cached >= cfg.max_list_size) or cfg.max_timeout_ns == 0:
            self._send(digest_id, d, s, now)

    def _send(self, digest_id: int, d: _Digest, s: _Server, now: int) -> None:
        batch = DigestBatch(digest_id, d.next_list_id, s.current, now)
        d.next_list_id = d.next_list_id % 0xFFFFFFFFFFFFFFFF + 1
        if s.cached:
            if not s.unacked and s.ack_sweep is not None:
                s.ack_sweep.realign(now)
            s.unacked[batch.list_id] = (frozenset(s.current), False)
        s.current, s.cached, s.timeout_bit = [], 0, False
        self._ready.append(batch)

    # -- server side

    def poll(self) -> list[DigestBatch]:
        """Every batch ready now, oldest first: device buffers that timed out, the
        timeout and ack sweeps that came due, in time order."""
        with self._lock:
            now = self._clock()
            for digest_id, d in self._digests.items():
                while True:
                    when, what = self._next_event(d)
                    if when is None or when > now:
                        break
                    if what == "device":
                        self._flush_device(digest_id, d, when)
                    elif what == "max":
                        self._max_tick(digest_id, d, when)
                    else:
                        self._ack_tick(d)
            ready, self._ready = self._ready, []
            return ready

    @staticmethod
    def _next_event(d: _Digest) -> tuple[int | None, str]:
        events: list[tuple[int, str]] = []
        if d.device.buffer and d.device.deadline is not None:
            events.append((d.device.deadline, "device"))
        s = d.server
        if s is not None:
            if s.current and s.max_sweep is not None:
                events.append((s.max_sweep.next, "max"))
            if s.unacked and s.ack_sweep is not None:
                events.append((s.ack_sweep.next, "ack"))
        if not events:
            return None, ""
        return min(events)

    def _max_tick(self, digest_id: int, d: _Digest, when: int) -> None:
        s = d.server
        assert s is not None and s.max_sweep is not None
        s.max_sweep.next += s.max_sweep.period
        if not s.timeout_bit:
            s.timeout_bit = True
        else:
            self._send(digest_id, d, s, when)

    @staticmethod
    def _ack_tick(d: _Digest) -> None:
        s = d.server
        assert s is not None and s.ack_sweep is not None
        s.ack_sweep.next += s.ack_sweep.period
        for lid, (samples, seen) in list(s.unacked.items()):
            if seen:
                del s.unacked[lid]
                s.held -= samples
            else:
                s.unacked[lid] = (samples, True)

    def next_deadline_ns(self) -> int | None:
        """Clock time at which `poll()` next has something to do, if any."""
        with self._lock:
            if self._ready:
                return self._clock()
            times = [w for w, _ in map(self._next_event, self._digests.values()) if w is not None]
            return min(times) if times else None
