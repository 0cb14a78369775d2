"""The NIDS program (p4src/main.p4) on an in-process softswitch engine.

Tables, clone sessions and the SYN-offload configuration are written straight into
the runtime state the way the controller's P4Runtime writes leave them, so tests
and benchmarks run the real program without a gRPC server (`ptf_tests/` covers the
same behaviours over P4Runtime and veths).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from controlplane.syn_offload import (
    CONFIG_TABLE,
    CONFIGURE,
    OUTCOMES,
    clone_session_id,
    sweep_packet,
)
from softswitch.engine import build_pipeline
from softswitch.frontend import load_program
from softswitch.frontend.ast import Elaborated
from softswitch.p4info import build_p4info
from softswitch.runtime import DeviceState
from softswitch.runtime.pre import CloneSession
from softswitch.runtime.tables import ActionCall, ExactMatch, RangeMatch, TernaryMatch

PROGRAM = Path(__file__).resolve().parents[1] / "p4src" / "main.p4"
CPU_PORT = 64


@cache
def _program() -> Elaborated:
    return load_program(str(PROGRAM))


class NidsSwitch:
    """main.p4 with a CPU port, ready for table writes and packets."""

    def __init__(self) -> None:
        e = _program()
        self.state = DeviceState(build_p4info(e), cpu_port=CPU_PORT)
        self.pipeline = build_pipeline(e, self.state, CPU_PORT)

    def _action(self, name: str, *args: int) -> ActionCall:
        return ActionCall(self.state.action_ids[name], tuple(args))

    def monitor(self, ingress_port: int, monitor_port: int) -> None:
        """Traffic from `ingress_port` goes to `monitor_port` (Forward stage)."""
        self.state.tables["NidsIngress.forward.monitor_ports"].insert(
            [ExactMatch(ingress_port)],
            0,
            self._action("NidsIngress.forward.send_to_monitor", monitor_port),
        )

    def enable_syn_offload(self, slots: int, timeout_us: int, monitor_ports: list[int]) -> None:
        """Configure the stage and one clone session per monitor port."""
        self.state.tables[CONFIG_TABLE].set_default_action(
            self._action(CONFIGURE, slots, timeout_us)
        )
        for port in monitor_ports:
            self.state.pre.insert_session(CloneSession(clone_session_id(port), [(port, 0)]))

    def add_stats_rule(self, slot: int, protocol: int, **params: int) -> None:
        """A stats rule matching `protocol` only; count_group parameters by name (0 if
        not given), e.g. rule_id=1, src_mask=0xFFFFFFFF, packet_threshold=2."""
        table = self.state.tables[f"NidsIngress.stats.slot{slot}.rules"]
        matches: list[RangeMatch | TernaryMatch] = []
        for name, width in zip(table.key_names, table.key_widths, strict=True):
            if name in ("src_port", "dst_port"):
                matches.append(RangeMatch(0, (1 << width) - 1))
            elif name == "protocol":
                matches.append(TernaryMatch(protocol, 0xFF))
            else:
                matches.append(TernaryMatch(0, 0))
        name = f"NidsIngress.stats.slot{slot}.count_group"
        info = self.state.actions[self.state.action_ids[name]]
        unknown = set(params) - set(info.param_names)
        if unknown:
            raise KeyError(f"count_group has no parameters {sorted(unknown)}")
        args = [params.get(p, 0) for p in info.param_names]
        table.insert(matches, 10, self._action(name, *args))

    def run(self, port: int, data: bytes, now_us: int) -> list[tuple[int, bytes]]:
        return self.pipeline.process(port, data, now_us)

    def sweep(self, index: int, monitor_port: int, now_us: int) -> list[tuple[int, bytes]]:
        """One sweep packet, as the controller sends it through packet-out."""
        return self.run(CPU_PORT, sweep_packet_out(index, monitor_port), now_us)

    def outcomes(self) -> list[int]:
        """SYN-offload outcome counters (packets), index order of syn_offload.p4."""
        c = self.state.counters[OUTCOMES]
        return [c.read(i)[1] for i in range(c.size)]


def sweep_packet_out(index: int, monitor_port: int) -> bytes:
    """A sweep packet as it enters from the CPU port: packet_out (egress_port 0)
    then what `controlplane sweep` sends."""
    return (0).to_bytes(2, "big") + sweep_packet(index, monitor_port)
