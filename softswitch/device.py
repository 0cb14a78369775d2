"""The switch device: pipeline configuration, state, ports and the packet loop.

A :class:`Switch` is what the P4Runtime server and the command line drive. It turns a
device config (see :func:`make_device_config`) into a running pipeline, swaps pipelines
atomically, and moves packets between ports, the pipeline and the CPU port. One lock
(``Switch.lock``) serialises packet processing and state changes, so a Write never
interleaves with a packet, as in BMv2.

Device config (the ``p4_device_config`` bytes), JSON in UTF-8::

    {"format": "softswitch-v1", "program": "main.p4",
     "source": "<program text with #line markers>", "p4info_sha256": "<hex>"}

``source`` is the preprocessed program (``frontend.preprocess.render``) with ``#line``
markers, so the switch runs the frontend on it with no file system access and errors
still name the original files and lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import os
import selectors
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from p4.config.v1.p4info_pb2 import P4Info

from pktio.pcap import LINKTYPE_ETHERNET, PcapWriter, open_capture
from softswitch.ports import PortIO

if TYPE_CHECKING:
    from softswitch.engine import Pipeline
    from softswitch.frontend.ast import Elaborated
    from softswitch.runtime.state import DeviceState

log = logging.getLogger(__name__)

DEVICE_CONFIG_FORMAT = "softswitch-v1"


DRAIN_TICK_US = 100
"""pcap mode, after the last packet: µs the clock moves on at each pass of the packets
still recirculating."""


class PipelineConfigError(Exception):
    """A device config or P4Info the switch refuses; the message says why."""


# --------------------------------------------------------------------------- device config


def p4info_sha256(p4info: P4Info) -> str:
    """Hex SHA-256 of the deterministic serialization of `p4info`."""
    return hashlib.sha256(p4info.SerializeToString(deterministic=True)).hexdigest()


def make_device_config(program: str, source: str, p4info: P4Info) -> bytes:
    """The device config bytes for preprocessed `source` compiled to `p4info`."""
    doc = {
        "format": DEVICE_CONFIG_FORMAT,
        "program": program,
        "source": source,
        "p4info_sha256": p4info_sha256(p4info),
    }
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def parse_device_config(config: bytes) -> dict[str, str]:
    """Decode and check device config bytes; raise PipelineConfigError if they are not ours."""
    try:
        doc = json.loads(config.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PipelineConfigError(f"p4_device_config is not softswitch JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != DEVICE_CONFIG_FORMAT:
        hint = " (a BMv2 JSON? build with 'softswitch compile')" if isinstance(doc, dict) else ""
        raise PipelineConfigError(
            f"p4_device_config is not a {DEVICE_CONFIG_FORMAT} device config{hint}"
        )
    for key in ("program", "source"):
        if not isinstance(doc.get(key), str):
            raise PipelineConfigError(f"p4_device_config: '{key}' missing or not a string")
    return doc


def _p4info_difference(sent: P4Info, built: P4Info) -> str:
    """A short description of the first difference between two P4Infos, for errors."""
    for fd in P4Info.DESCRIPTOR.fields:
        a, b = getattr(sent, fd.name), getattr(built, fd.name)
        if a == b:
            continue
        if fd.label == fd.LABEL_REPEATED and fd.message_type is not None:
            names_a = [
                getattr(getattr(x, "preamble", None), "name", str(i)) for i, x in enumerate(a)
            ]
            names_b = [
                getattr(getattr(x, "preamble", None), "name", str(i)) for i, x in enumerate(b)
            ]
            if names_a != names_b:
                return f"{fd.name}: sent {names_a}, program has {names_b}"
            for x, y, n in zip(a, b, names_a, strict=True):
                if x != y:
                    return f"{fd.name} '{n}' differs"
        return f"{fd.name} differs"
    return "no difference"


# --------------------------------------------------------------------------- pipeline


@dataclass
class PreparedPipeline:
    """A verified pipeline, ready for :meth:`Switch.commit_pipeline`."""

    p4info: P4Info
    device_config: bytes
    elaborated: Elaborated
    state: DeviceState
    pipeline: Pipeline
    committed: bool = field(default=False)


_FRONTEND_CACHE: dict[str, Elaborated] = {}
_FRONTEND_CACHE_MAX = 8


def frontend_on_source(program: str, source: str) -> Elaborated:
    """Run the frontend on preprocessed `source` (named `program`), cached by its SHA-256.

    Raises P4Error. The result is shared between callers: treat it as read-only.
    """
    key = hashlib.sha256(source.encode("utf-8")).hexdigest()
    cached = _FRONTEND_CACHE.get(key)
    if cached is not None:
        return cached
    from softswitch.frontend import load_program

    with tempfile.TemporaryDirectory(prefix="softswitch-") as tmp:
        path = Path(tmp) / (Path(program).name or "program.p4")
        path.write_text(source, encoding="utf-8")
        elaborated = load_program(path)
    if len(_FRONTEND_CACHE) >= _FRONTEND_CACHE_MAX:
        _FRONTEND_CACHE.pop(next(iter(_FRONTEND_CACHE)))
    _FRONTEND_CACHE[key] = elaborated
    return elaborated


def _build_runtime(
    elaborated: Elaborated, p4info: P4Info, cpu_port: int | None
) -> tuple[DeviceState, Pipeline]:
    from softswitch.engine import build_pipeline
    from softswitch.runtime.state import DeviceState

    state = DeviceState(p4info, cpu_port)
    return state, build_pipeline(elaborated, state, cpu_port)


# --------------------------------------------------------------------------- switch

PacketListener = Callable[[bytes], None]


class Switch:
    """One P4 device: its pipeline, its state, its ports and its packet loop."""

    def __init__(self, device_id: int = 1, cpu_port: int | None = None) -> None:
        self.device_id = device_id
        self.cpu_port = cpu_port
        self.lock = threading.RLock()
        self.p4info: P4Info | None = None
        self.device_config: bytes | None = None
        self.state: DeviceState | None = None
        self.pipeline: Pipeline | None = None
        self.elaborated: Elaborated | None = None
        self.ports: dict[int, PortIO] = {}
        self.stats = {"rx": 0, "tx": 0, "dropped_no_pipeline": 0, "dropped_no_port": 0, "errors": 0}
        self._retired_packet_errors = 0  # packet errors of pipelines replaced since
        self._listeners: list[PacketListener] = []
        self._t0_ns = time.monotonic_ns()
        self._selector: selectors.BaseSelector | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._pending_ports: list[tuple[int, PortIO]] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ---- pipeline configuration

    def prepare_pipeline(self, p4info: P4Info | None, device_config: bytes) -> PreparedPipeline:
        """Verify a pipeline (VERIFY): frontend, P4Info check, state and code generation.

        `p4info` must equal the P4Info of the program in `device_config`; None takes the
        program's own (for a device config given on the command line).
        Raises PipelineConfigError with a message fit for the client.
        """
        doc = parse_device_config(device_config)
        from softswitch.frontend.errors import P4Error
        from softswitch.p4info.build import build_p4info

        try:
            elaborated = frontend_on_source(doc["program"], doc["source"])
            built = build_p4info(elaborated)
        except P4Error as e:
            raise PipelineConfigError(f"P4 program refused: {e}") from None
        if p4info is None:
            p4info = built
        elif p4info != built:
            raise PipelineConfigError(
                "P4Info does not match the program in p4_device_config "
                f"({_p4info_difference(p4info, built)}); send the P4Info written by "
                "'softswitch compile' with its device config"
            )
        try:
            state, pipeline = _build_runtime(elaborated, p4info, self.cpu_port)
        except P4Error as e:
            raise PipelineConfigError(f"P4 program refused: {e}") from None
        except Exception as e:
            log.exception("pipeline construction failed")
            raise PipelineConfigError(
                f"cannot build the pipeline: {type(e).__name__}: {e}"
            ) from None
        return PreparedPipeline(p4info, device_config, elaborated, state, pipeline)

    def commit_pipeline(self, prepared: PreparedPipeline) -> None:
        """Make `prepared` the running pipeline (COMMIT); its state starts empty."""
        if prepared.committed:  # a second COMMIT of the same config: fresh state again
            prepared.state, prepared.pipeline = _build_runtime(
                prepared.elaborated, prepared.p4info, self.cpu_port
            )
        with self.lock:
            self._retired_packet_errors += _packet_errors_of(self.pipeline)
            self.p4info = prepared.p4info
            self.device_config = prepared.device_config
            self.elaborated = prepared.elaborated
            self.state = prepared.state
            self.pipeline = prepared.pipeline
            prepared.committed = True

    def load_device_config(self, p4info: P4Info | None, device_config: bytes) -> None:
        """prepare_pipeline + commit_pipeline (VERIFY_AND_COMMIT)."""
        self.commit_pipeline(self.prepare_pipeline(p4info, device_config))

    @property
    def packet_errors(self) -> int:
        """Packets dropped because of an error inside the pipeline (each logged with
        its P4 location), over every pipeline this switch has run."""
        return self._retired_packet_errors + _packet_errors_of(self.pipeline)

    def statistics(self) -> dict[str, int]:
        """Packet counters: `stats` plus `packet_errors`."""
        return {**self.stats, "packet_errors": self.packet_errors}

    # ---- packets

    def now_us(self) -> int:
        """Microseconds since the switch started (BMv2's ingress_global_timestamp clock)."""
        return (time.monotonic_ns() - self._t0_ns) // 1000

    def add_packet_in_listener(self, fn: PacketListener) -> None:
        """Call `fn(bytes)` for every packet the pipeline sends to the CPU port."""
        self._listeners.append(fn)

    def inject(self, port: int, data: bytes, now_us: int | None = None) -> list[tuple[int, bytes]]:
        """Run one packet arriving on `port` through the pipeline; return every output.

        Outputs are not transmitted on ports; CPU-port outputs also go to the packet-in
        listeners. With no pipeline loaded the packet is dropped (empty list), as BMv2 does.
        """
        if now_us is None:
            now_us = self.now_us()
        with self.lock:
            pipeline = self.pipeline
            if pipeline is None:
                self.stats["dropped_no_pipeline"] += 1
                return []
            self.stats["rx"] += 1
            outs = pipeline.process(port, data, now_us)
            recirculating = pipeline.waiting() > 0
        if (
            recirculating
            and self._thread is not None
            and threading.current_thread() is not self._thread
        ):
            # A packet-out that recirculates: the packet loop runs its next passes.
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"r")
        self._to_listeners(outs)
        return outs

    def _recirculating(self) -> bool:
        pipeline = self.pipeline
        return pipeline is not None and pipeline.waiting() > 0

    def step_recirculated(self, now_us: int | None = None) -> list[tuple[int, bytes]]:
        """One pass of every recirculated packet waiting in the pipeline; its outputs
        (given to the packet-in listeners like `inject`'s, not transmitted)."""
        if now_us is None:
            now_us = self.now_us()
        with self.lock:
            pipeline = self.pipeline
            if pipeline is None:
                return []
            outs = pipeline.step(now_us)
        self._to_listeners(outs)
        return outs

    def _to_listeners(self, outs: list[tuple[int, bytes]]) -> None:
        if self.cpu_port is not None and self._listeners:
            for p, d in outs:
                if p == self.cpu_port:
                    for fn in self._listeners:
                        fn(d)

    def packet_out(self, data: bytes) -> None:
        """Run a packet-out (packet_out header already in front) from the CPU port."""
        if self.cpu_port is None:
            raise ValueError("packet-out needs a CPU port (--cpu-port)")
        self.transmit(self.inject(self.cpu_port, data))

    def transmit(self, outs: Iterable[tuple[int, bytes]]) -> None:
        """Send pipeline outputs on their ports (CPU-port ones went to listeners already)."""
        for p, d in outs:
            port = self.ports.get(p)
            if port is not None:
                port.send(d)
                self.stats["tx"] += 1
            elif p != self.cpu_port:
                self.stats["dropped_no_port"] += 1

    # ---- live ports

    def add_port(self, port: int, io: PortIO) -> None:
        """Attach a live port; may be called before or after :meth:`serve_ports`."""
        if port in self.ports:
            raise ValueError(f"port {port} is already attached ({self.ports[port].name})")
        if port == self.cpu_port:
            raise ValueError(f"port {port} is the CPU port")
        self.ports[port] = io
        self._pending_ports.append((port, io))
        os.write(self._wake_w, b"p")

    def serve_ports(self) -> None:
        """Start the packet loop in a daemon thread; returns at once."""
        if self._thread is not None:
            return
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._loop, name="softswitch-ports", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        sel = self._selector
        assert sel is not None
        while not self._stopping.is_set():
            # Recirculated packets make their next pass when no packet waits on a port
            # (and after every packet, in `inject`), as new arrivals do between two
            # passes on BMv2.
            ready = sel.select(timeout=0 if self._recirculating() else None)
            if not ready:
                self.transmit(self.step_recirculated())
            for key, _ in ready:
                if key.data is None:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                    while self._pending_ports:
                        num, io = self._pending_ports.pop()
                        sel.register(io.fileno(), selectors.EVENT_READ, (num, io))
                    continue
                num, io = key.data
                for _ in range(64):  # bounded, so one busy port cannot starve the others
                    data = io.recv()
                    if data is None:
                        break
                    try:
                        outs = self.inject(num, data)
                    except Exception:
                        self.stats["errors"] += 1
                        log.exception(
                            "packet of %d bytes on port %d: pipeline error, dropped", len(data), num
                        )
                        continue
                    self.transmit(outs)

    def close(self) -> None:
        """Stop the packet loop and close every port."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"q")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for io in self.ports.values():
            io.close()
        self.ports.clear()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # ---- pcap mode

    def run_pcap(
        self,
        inputs: Mapping[int, str | Path],
        out_dir: str | Path,
        progress_every: int = 0,
        progress: TextIO | None = None,
    ) -> dict[str, Any]:
        """Run every packet of the input pcaps through the pipeline, offline.

        Packets of all inputs are merged by timestamp (ties: lower port first, then file
        order) and each runs with ``now_us`` from its timestamp, so a run is deterministic;
        a recirculated packet makes its next pass after the next input packet, and at the
        end of the input the switch runs the waiting ones until none is left.
        Output on port N goes to ``out_dir/port<N>.pcap`` with the input packet's
        timestamp (a file per input port always exists). Returns counts.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        readers = {p: open_capture(f) for p, f in sorted(inputs.items())}
        nanosecond = any(r.nanosecond for r in readers.values())
        writers: dict[int, PcapWriter] = {}

        def writer(p: int) -> PcapWriter:
            w = writers.get(p)
            if w is None:
                w = writers[p] = PcapWriter(out / f"port{p}.pcap", nanosecond=nanosecond)
            return w

        for p in readers:
            writer(p)

        def records(port: int) -> Iterator[tuple[int, int, int, bytes]]:
            r = readers[port]
            warned = False
            for seq, rec in enumerate(r):
                if rec.linktype != LINKTYPE_ETHERNET and not warned:
                    log.warning(
                        "%s: link type %d is not Ethernet; frames used as they are",
                        r.name,
                        rec.linktype,
                    )
                    warned = True
                yield rec.ts_ns, port, seq, rec.data

        n_in = n_out = 0
        last_ns = 0
        start = time.monotonic()
        try:
            for ts_ns, port, _, data in heapq.merge(*(records(p) for p in readers)):
                n_in += 1
                for p, d in self.inject(port, data, ts_ns // 1000):
                    writer(p).write(d, ts_ns)
                    n_out += 1
                last_ns = ts_ns
                if progress_every and n_in % progress_every == 0:
                    rate = n_in / max(time.monotonic() - start, 1e-9)
                    print(
                        f"softswitch: {n_in} packets in, {n_out} out ({rate:,.0f} pkt/s)",
                        file=progress or sys.stderr,
                        flush=True,
                    )
            # End of input: recirculated packets go round until every one has left, the
            # clock moving on from the last packet's by DRAIN_TICK_US a pass.
            while self._recirculating():
                last_ns += DRAIN_TICK_US * 1000
                for p, d in self.step_recirculated(last_ns // 1000):
                    writer(p).write(d, last_ns)
                    n_out += 1
        finally:
            for r in readers.values():
                r.close()
            for w in writers.values():
                w.close()
        return {
            "packets_in": n_in,
            "packets_out": n_out,
            "packet_errors": self.packet_errors,
            "per_port_out": {p: w.count for p, w in sorted(writers.items())},
            "seconds": time.monotonic() - start,
        }


def _packet_errors_of(pipeline: object) -> int:
    """A pipeline's packet-error count (0 for none, or one that does not count them)."""
    errors = getattr(pipeline, "errors", None)
    return int(getattr(errors, "count", 0))
