"""The `sweep` command: drive the SYN-offload stage's expiry with sweep packets.

BMv2 has no timers. Held SYNs whose slot sees no traffic are found by sweep
packets the controller sends through packet-out, one slot each, round robin
(docs/syn-offload.md). The settings come from the last `install` (state file):
table size, sweep rate and the monitor port swept SYNs go to; options override.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from controlplane import state as state_mod
from controlplane.compile import encode
from controlplane.errors import CapabilityError, ControllerError
from controlplane.p4info import P4Schema
from controlplane.p4rt import P4RuntimeSwitch
from controlplane.syn_offload import Sweeper, compiled_slots


@dataclass
class SweepOptions:
    """Command-line settings of `sweep`."""

    address: str = "127.0.0.1:9559"
    device_id: int = 1
    election_id: int = 1
    timeout_s: float = 5.0
    state_path: Path = state_mod.DEFAULT_STATE
    rate: int | None = None
    slots: int | None = None
    monitor_port: int | None = None
    duration_s: float | None = None


def packet_out_egress_port(schema: P4Schema) -> tuple[int, int]:
    """(metadata id, bitwidth) of packet_out.egress_port."""
    for c in schema.p4info.controller_packet_metadata:
        if c.preamble.name == "packet_out":
            for m in c.metadata:
                if m.name == "egress_port":
                    return m.id, m.bitwidth
    raise CapabilityError(["the running pipeline has no packet_out header with egress_port"])


def run_sweep(opts: SweepOptions, out: TextIO | None = None) -> int:
    """The sweep command; returns the exit status, raises ControllerError. Progress goes
    to `out` (standard error when None, looked up at the call)."""
    if out is None:
        out = sys.stderr
    saved = state_mod.load(opts.state_path).syn_offload
    slots = opts.slots or saved.get("slots")
    rate = opts.rate or saved.get("sweep_rate")
    port = opts.monitor_port if opts.monitor_port is not None else saved.get("sweep_monitor_port")
    if not slots or not rate or port is None:
        raise ControllerError(
            f"sweep: the SYN-offload stage is not installed ({opts.state_path} has no "
            "syn_offload settings): install a rules file with a syn_offload: section, or "
            "give --slots, --rate and --monitor-port"
        )
    with P4RuntimeSwitch(opts.address, opts.device_id, opts.election_id, opts.timeout_s) as sw:
        running = sw.get_p4info()
        if running is None:
            raise ControllerError(f"sweep: the switch at {opts.address} has no pipeline")
        schema = P4Schema(running)
        have = compiled_slots(schema)
        if have is None:
            raise CapabilityError(["sweep: the running pipeline has no SYN-offload stage"])
        slots = min(int(slots), have)
        mid, width = packet_out_egress_port(schema)
        meta = {mid: encode(0, width)}  # egress_port 0: through the pipeline
        try:
            # below a running `install`: primary only while no one else is, and again
            # each time the primary leaves (P4RuntimeSwitch.poll_stream)
            sw.become_primary(take_over=False, wait=True)
        except KeyboardInterrupt:
            print("sweep: stopped while another controller was primary", file=out)
            return 0
        period = slots / rate
        print(
            f"sweep: {slots} slots at {rate}/s (a pass every {period:.3g} s), "
            f"swept SYNs to port {port}; Ctrl-C stops",
            file=out,
            flush=True,
        )

        def on_pass(sent: int) -> None:
            print(f"sweep: pass {sent // slots} done, {sent} sweep packets", file=out, flush=True)

        sweeper = Sweeper(lambda p: sw.packet_out(p, meta), slots, int(rate), int(port))
        with contextlib.suppress(KeyboardInterrupt):
            sweeper.run(opts.duration_s, on_pass=on_pass)
        print(f"sweep: stopped after {sweeper.sent} sweep packets", file=out)
    return 0
