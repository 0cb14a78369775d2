"""The NIDS program (p4src/main.p4) on an in-process softswitch, installed by the controller.

`NidsSwitch.install` takes a rules file and installs it the way `python -m
controlplane install` does: validated and placed (`controlplane.deploy.validate`),
checked against the running pipeline's P4Info (`controlplane.capabilities`), compiled
to table entries (`controlplane.compile`), diffed against what the switch holds and
written in one batch with undo on refusal (`controlplane.install`), SYN-offload
settings planned against what the switch holds (`controlplane.syn_offload`), and so are
the reassembly settings (`controlplane.reassembly`). Every
request goes to softswitch's own P4Runtime servicer (`LocalP4Runtime`), which converts
and applies it as it does for a gRPC client. Packets then run through the pipeline with
the clock the caller gives (`run`, `sweep`), so tests and benchmarks exercise the real
program and the real install without sockets or root (`ptf_tests/` covers the same
behaviours over gRPC and veths).
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path

from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from controlplane import pipeline_spec as ps
from controlplane import prefilter_install
from controlplane import reassembly as reasm_mod
from controlplane.balance import setup as balance_setup
from controlplane.capabilities import check_monitor, discover, rule_gaps
from controlplane.compile import compile_rules, encode, managed_tables
from controlplane.deploy import validate
from controlplane.errors import CapabilityError
from controlplane.install import apply, diff, snapshot
from controlplane.p4info import P4Schema
from controlplane.pipeline_spec import REASM_HELD
from controlplane.syn_offload import (
    OUTCOMES,
    clone_session_id,
    compiled_slots,
    effective_slots,
    plan_config,
    read_state,
    session_ports,
    sweep_packet,
)
from softswitch.cli import compile_program
from softswitch.device import Switch
from softswitch.engine import Pipeline
from softswitch.server import P4RuntimeServicer
from softswitch.server.convert import ControllerHeader
from testbed.local_p4runtime import LocalP4Runtime

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "p4src" / "main.p4"
_TOPOLOGY = json.loads((ROOT / "bmv2_configs" / "topology.json").read_text(encoding="utf-8"))
CPU_PORT: int = _TOPOLOGY["cpu_port"]
DEVICE_ID: int = _TOPOLOGY["device_id"]


@cache
def _compiled(defines: tuple[tuple[str, str], ...] = ()) -> tuple[bytes, bytes]:
    """main.p4's P4Info (serialized) and device config, as `softswitch compile` writes them
    (with `-D NAME=VALUE` for each of `defines`)."""
    p4info, config = compile_program(PROGRAM, defines=dict(defines))
    return p4info.SerializeToString(), config


class NidsSwitch:
    """main.p4 pushed to an in-process softswitch over P4Runtime, no rules installed."""

    def __init__(self, defines: dict[str, str] | None = None) -> None:
        """`defines`: build-time sizes (`{"PREFILTER_SLOTS": "2"}`), as `-D` to p4c."""
        self.device = Switch(device_id=DEVICE_ID, cpu_port=CPU_PORT)
        self.p4rt = LocalP4Runtime(P4RuntimeServicer(self.device), device_id=DEVICE_ID)
        self.p4rt.become_primary()
        raw, config = _compiled(tuple(sorted((defines or {}).items())))
        p4info = p4info_pb2.P4Info()
        p4info.ParseFromString(raw)
        self.p4rt.set_pipeline(p4info, config)
        running = self.p4rt.get_p4info()
        assert running is not None
        self.schema = P4Schema(running)
        header = ControllerHeader.from_p4info(running, "packet_out")
        assert header is not None, "main.p4 has no packet_out header"
        self._packet_out = header
        self._egress_port = next(
            (m.id, m.bitwidth)
            for c in running.controller_packet_metadata
            if c.preamble.name == "packet_out"
            for m in c.metadata
            if m.name == "egress_port"
        )

    def close(self) -> None:
        """Release the device's file descriptors."""
        self.device.close()

    def __enter__(self) -> NidsSwitch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pipeline(self) -> Pipeline:
        """The running pipeline (`process(port, frame, now_us)`)."""
        assert self.device.pipeline is not None
        return self.device.pipeline

    def install(self, rules_path: str | Path) -> int:
        """Install the rules file at `rules_path` as `controlplane install` does; returns the
        number of updates written (0 when the switch already holds these rules).

        Raises the controller's errors: RulesError, CapabilityError, InstallFailed."""
        path = str(rules_path)
        rules, plan = validate(path, allow_fallback=False)
        caps = discover(self.schema)
        problems = list(caps.problems) + check_monitor(rules, caps, self.schema)
        problems += [f"{r.label} {g}" for r in rules.stats for g in rule_gaps(r, caps)]
        if problems:
            raise CapabilityError(problems)
        syn_cfg = rules.syn_offload
        syn_slots = (
            effective_slots(syn_cfg, self.schema, path)
            if syn_cfg is not None and syn_cfg.enabled
            else 0
        )
        balance_setup.check(rules, self.schema)
        desired = compile_rules(rules, plan, self.schema) + balance_setup.desired_entries(
            rules, self.schema
        )
        tables = {
            name: self.schema.table(name).id for name in managed_tables(self.schema, plan.n_slots)
        }
        before = snapshot(self.p4rt, tables)
        changes = diff(desired, before)
        syn_updates: list[p4runtime_pb2.Update] = []
        if compiled_slots(self.schema) is not None:
            sessions = [clone_session_id(p) for p in session_ports(rules)]
            syn_before = read_state(self.p4rt, self.schema, sessions)
            syn_updates, _ = plan_config(rules, self.schema, syn_before, syn_slots)
        if balance_setup.has_stage(self.schema):
            mcast, _ = balance_setup.plan_multicast(rules, balance_setup.read_multicast(self.p4rt))
            syn_updates += mcast
        self.p4rt.write(syn_updates)
        if changes:
            apply(self.p4rt, changes, before, tables)
        reasm_updates: list[p4runtime_pb2.Update] = []
        if reasm_mod.compiled_slots(self.schema) is not None:
            cfg = rules.reassembly
            slots = (
                reasm_mod.effective_slots(cfg, self.schema, path)
                if cfg is not None and cfg.enabled
                else 0
            )
            current = reasm_mod.read_default(self.p4rt, self.schema)
            reasm_updates, _ = reasm_mod.plan_config(rules, self.schema, current, slots)
            self.p4rt.write(reasm_updates)
        pf_updates, _ = prefilter_install.config_update(
            rules.prefilters, self.schema, prefilter_install.read_default(self.p4rt, self.schema)
        )
        self.p4rt.write(pf_updates)
        return len(syn_updates) + len(changes) + len(reasm_updates) + len(pf_updates)

    def install_text(self, text: str, name: str = "rules.yaml") -> int:
        """`install` of a rules file whose content is `text`, written as `name` in a
        temporary directory (the path messages give)."""
        with tempfile.TemporaryDirectory(prefix="nids-rules-") as tmp:
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            return self.install(path)

    def run(self, port: int, data: bytes, now_us: int) -> list[tuple[int, bytes]]:
        """One frame arriving on `port` at `now_us`: every (port, frame) the pipeline emits."""
        return self.pipeline.process(port, data, now_us)

    def held_peak(self) -> int:
        """The most segments the reassembly stage held at once (its `held` register)."""
        return int(self.pipeline.state.registers[REASM_HELD].read(1))

    def drain(self, now_us: int, tick_us: int = 100) -> list[tuple[int, bytes]]:
        """What recirculated packets emit until none is left, the clock `tick_us` further
        at each pass (after the last input packet, as `softswitch run --pcap-in` does)."""
        return self.pipeline.drain(now_us, tick_us)

    def packet_out(self, payload: bytes) -> bytes:
        """`payload` as it enters from the CPU port after a P4Runtime PacketOut with
        egress_port 0 (what `controlplane sweep` sends): the packet_out header in front,
        laid out by the switch's own packet-out conversion."""
        mid, bits = self._egress_port
        md = p4runtime_pb2.PacketMetadata(metadata_id=mid, value=encode(0, bits))
        return self._packet_out.encode([md]) + payload

    def sweep(self, index: int, monitor_port: int, now_us: int) -> list[tuple[int, bytes]]:
        """One sweep packet for record `index`, as the controller sends it through packet-out."""
        return self.run(CPU_PORT, self.packet_out(sweep_packet(index, monitor_port)), now_us)

    def outcomes(self) -> list[int]:
        """SYN-offload outcome counters (packets) in index order, read over P4Runtime."""
        cells = self.p4rt.read_counter(self.schema.counter(OUTCOMES).id)
        return [c.data.packet_count for c in sorted(cells, key=lambda c: c.index.index)]

    def named_outcomes(self, counter: str, outcomes: tuple[ps.Outcome, ...]) -> dict[str, int]:
        """A stage's outcomes counter (packets) by outcome name, read over P4Runtime."""
        cells = self.p4rt.read_counter(self.schema.counter(counter).id)
        by_index = {c.index.index: c.data.packet_count for c in cells}
        return {o.name: by_index.get(i, 0) for i, o in enumerate(outcomes)}
