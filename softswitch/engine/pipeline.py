"""`Pipeline`: a compiled v1model program bound to its device state."""

from __future__ import annotations

from typing import Any

from softswitch.engine.codegen import compile_program
from softswitch.frontend import ast as A


class Pipeline:
    """One P4 program compiled to Python, ready to process packets.

    `process(ingress_port, data, now_us)` runs the whole v1model pipeline for
    one packet and returns every `(egress_port, bytes)` it produced. Packets
    for the CPU port carry the program's packet_in header; packet-out arrives
    as `process(cpu_port, <packet_out header + frame>)` and the program's own
    parser handles it, as on BMv2.

    An error while a packet runs drops that packet, is logged with the P4
    location it happened at and is counted in `errors.count`
    (`engine.packet_errors.PacketErrors`); `process` itself never raises.

    Recirculated packets wait in the pipeline (`waiting()` of them) and make one
    pass each after the next packet `process` runs, or on `step(now_us)`, which
    returns what those passes produced; `drain(now_us)` steps until none waits
    (engine.architecture has BMv2's behaviour this follows).
    """

    def __init__(self, e: A.Elaborated, state: Any, cpu_port: int | None, seed: int = 0) -> None:
        self.elaborated = e
        self.state = state
        self.cpu_port = cpu_port
        self.source, self._ns, self.errors = compile_program(e, state, cpu_port, seed)
        # bind the generated driver directly: no Python-level indirection per packet
        self.process = self._ns["_process"]  # type: ignore[method-assign]
        self.step = self._ns["_step"]  # type: ignore[method-assign]
        self.waiting = self._ns["_waiting"]  # type: ignore[method-assign]

    def process(self, ingress_port: int, data: bytes, now_us: int) -> list[tuple[int, bytes]]:
        """Run one packet through the pipeline (replaced by the generated driver)."""
        return self._ns["_process"](ingress_port, data, now_us)  # type: ignore[no-any-return]

    def step(self, now_us: int) -> list[tuple[int, bytes]]:
        """One pass of every recirculated packet waiting (replaced by the generated driver)."""
        return self._ns["_step"](now_us)  # type: ignore[no-any-return]

    def waiting(self) -> int:
        """Recirculated packets waiting for their next pass (replaced by the driver)."""
        return self._ns["_waiting"]()  # type: ignore[no-any-return]

    def drain(self, now_us: int, tick_us: int = 0) -> list[tuple[int, bytes]]:
        """Step until no recirculated packet waits, the clock `tick_us` further at each
        step (what the switch does after the last packet); everything those passes
        produced."""
        out: list[tuple[int, bytes]] = []
        while self.waiting():
            out += self.step(now_us)
            now_us += tick_us
        return out

    def dump_source(self) -> str:
        """The generated Python source (for debugging; tracebacks point into it)."""
        return self.source


def build_pipeline(e: A.Elaborated, state: Any, cpu_port: int | None, seed: int = 0) -> Pipeline:
    """Compile `e` once against `state` (tables, externs, PRE, digests).

    Installs the program's const entries and default actions into the
    runtime tables. `seed` seeds random() and HashAlgorithm.random so that
    pcap runs are repeatable. Raises `UnsupportedError` for refused constructs.
    """
    return Pipeline(e, state, cpu_port, seed)
