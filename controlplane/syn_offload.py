"""The controller's side of the SYN-offload stage (docs/syn-offload.md).

- `plan_config`: what `install` writes for the `syn_offload:` section: the
  default action of `NidsIngress.syn_offload.config` and one clone session per
  monitor port (where regenerated SYNs go), as updates against what the switch
  holds, so a second install writes nothing; `restore` puts back what was read.
- `sweep_packet` / `Sweeper`: BMv2 has no timers, so the controller sends
  sweep packets through packet-out, one slot each, round robin.
- `conn_log_entry`: a SYN summary of an expired attempt as a Zeek conn.log
  entry (conn_state S0, history S), which `watch` prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from p4.v1 import p4runtime_pb2

from controlplane import pipeline_spec as ps
from controlplane.compile import encode
from controlplane.errors import CapabilityError
from controlplane.model import RuleSet, SynOffloadConfig
from controlplane.p4info import P4Schema
from feedback_header.records import SynSummary, SynSummary6, SynSummaryReason

CONFIG_TABLE = ps.SYN_CONFIG_TABLE
CONFIGURE = ps.SYN_CONFIGURE
DISABLE = ps.SYN_DISABLE
RECORDS = ps.SYN_RECORDS
OUTCOMES = ps.SYN_OUTCOMES_COUNTER
CLONE_SESSION_BASE = ps.SYN_CLONE_SESSION_BASE
ETHERTYPE_SWEEP = ps.ETHERTYPE_SWEEP
OUTCOME_NAMES = tuple(o.name for o in ps.SYN_OUTCOMES)


def compiled_slots(schema: P4Schema) -> int | None:
    """Records the running pipeline has (its register size), None without the stage."""
    if not schema.has_table(CONFIG_TABLE):
        return None
    for r in schema.p4info.registers:
        if r.preamble.name == RECORDS:
            return int(r.size)
    return None


def clone_session_id(monitor_port: int) -> int:
    """The clone session regenerated SYNs for `monitor_port` go through."""
    return CLONE_SESSION_BASE + monitor_port


def effective_slots(cfg: SynOffloadConfig, schema: P4Schema, path: str) -> int:
    """The table size to configure; CapabilityError if the pipeline cannot do it."""
    have = compiled_slots(schema)
    if have is None:
        raise CapabilityError(
            [
                f"{cfg.where or path}: syn_offload: the running pipeline has no SYN-offload "
                f"stage (no table {CONFIG_TABLE} with register {RECORDS})"
            ]
        )
    if cfg.slots is not None and cfg.slots > have:
        raise CapabilityError(
            [
                f"{cfg.slots_where or cfg.where or path}: syn_offload.slots: {cfg.slots} records "
                f"asked for, the pipeline was compiled with {have} (rebuild with "
                f"-D SYN_OFFLOAD_SLOTS={cfg.slots}, or ask for fewer)"
            ]
        )
    return cfg.slots if cfg.slots is not None else have


def config_entry(
    cfg: SynOffloadConfig | None, slots: int, schema: P4Schema
) -> p4runtime_pb2.TableEntry:
    """The default entry of the config table that sets the stage as `cfg` says."""
    t = schema.table(CONFIG_TABLE)
    e = p4runtime_pb2.TableEntry(table_id=t.id, is_default_action=True)
    if cfg is None or not cfg.enabled:
        e.action.action.action_id = schema.action(DISABLE).id
        return e
    a = schema.action(CONFIGURE)
    e.action.action.action_id = a.id
    for name, value in zip(ps.SYN_CONFIGURE_PARAMS, (slots, cfg.timeout_us), strict=True):
        p = a.param(name)
        e.action.action.params.add(param_id=p.id, value=encode(value, p.bitwidth))
    return e


def session_ports(rules: RuleSet) -> list[int]:
    """The ports regenerated SYNs can leave on: every monitor port, and every worker
    port of the `monitors:` group (the balance stage makes a worker's port the SYN's)."""
    ports = {m.monitor_port for m in rules.monitor}
    if rules.monitors is not None:
        ports.update(rules.monitors.ports)
    return sorted(ports)


def clone_sessions(ports: Sequence[int]) -> list[p4runtime_pb2.CloneSessionEntry]:
    """One clone session per port (`session_ports`), one replica to that port."""
    out = []
    for port in sorted(set(ports)):
        c = p4runtime_pb2.CloneSessionEntry(session_id=clone_session_id(port))
        c.replicas.add(egress_port=port, instance=0)
        out.append(c)
    return out


@dataclass
class SynState:
    """What the switch holds for the stage: config default entry and our clone sessions."""

    default: p4runtime_pb2.TableEntry | None
    sessions: dict[int, p4runtime_pb2.CloneSessionEntry]


def read_state(sw: Any, schema: P4Schema, session_ids: Sequence[int]) -> SynState:
    """The config table's default entry and those of `session_ids` the switch has."""
    ent = p4runtime_pb2.Entity()
    ent.table_entry.table_id = schema.table(CONFIG_TABLE).id
    ent.table_entry.is_default_action = True
    default = None
    for e in sw.read([ent]):
        if e.table_entry.is_default_action:
            default = e.table_entry
    sessions: dict[int, p4runtime_pb2.CloneSessionEntry] = {}
    pre = p4runtime_pb2.Entity()
    pre.packet_replication_engine_entry.clone_session_entry.SetInParent()
    for e in sw.read([pre]):  # session_id 0: every clone session
        c = e.packet_replication_engine_entry.clone_session_entry
        if c.session_id in session_ids:
            sessions[c.session_id] = c
    return SynState(default, sessions)


def _same_action(a: p4runtime_pb2.TableEntry | None, b: p4runtime_pb2.TableEntry) -> bool:
    if a is None:
        return False
    pa, pb = a.action.action, b.action.action

    def params(x: p4runtime_pb2.Action) -> list[tuple[int, int]]:
        return sorted((p.param_id, int.from_bytes(p.value, "big")) for p in x.params)

    return pa.action_id == pb.action_id and params(pa) == params(pb)


def _session_update(kind: int, c: p4runtime_pb2.CloneSessionEntry) -> p4runtime_pb2.Update:
    u = p4runtime_pb2.Update(type=kind)
    u.entity.packet_replication_engine_entry.clone_session_entry.CopyFrom(c)
    return u


def _default_update(e: p4runtime_pb2.TableEntry) -> p4runtime_pb2.Update:
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
    u.entity.table_entry.CopyFrom(e)
    return u


def plan_config(
    rules: RuleSet, schema: P4Schema, current: SynState, slots: int
) -> tuple[list[p4runtime_pb2.Update], list[str]]:
    """Updates turning `current` (of a pipeline with the stage) into what `rules` asks
    for, with `slots` from `effective_slots`, and a line per change.

    Without a `syn_offload:` section the stage is disabled and the clone sessions are
    left alone (they cost nothing)."""
    cfg = rules.syn_offload
    want = config_entry(cfg, slots, schema)
    updates: list[p4runtime_pb2.Update] = []
    lines: list[str] = []
    if not _same_action(current.default, want):
        updates.append(_default_update(want))
        if cfg is not None and cfg.enabled:
            lines.append(
                f"  syn_offload: enabled, {slots} records, timeout {cfg.timeout_us / 1e6:g}s"
            )
        else:
            lines.append("  syn_offload: disabled")
    if cfg is not None and cfg.enabled:
        for c in clone_sessions(session_ports(rules)):
            have = current.sessions.get(c.session_id)
            if have is None:
                updates.append(_session_update(p4runtime_pb2.Update.INSERT, c))
                lines.append(f"  clone session {c.session_id} -> port {c.replicas[0].egress_port}")
            elif have.SerializeToString(deterministic=True) != c.SerializeToString(
                deterministic=True
            ):
                updates.append(_session_update(p4runtime_pb2.Update.MODIFY, c))
                lines.append(f"  clone session {c.session_id} -> port {c.replicas[0].egress_port}")
    return updates, lines


def restore(sw: Any, before: SynState, schema: P4Schema, touched: Sequence[int]) -> None:
    """Put the config default and the clone sessions `touched` back as `before` had them."""
    updates: list[p4runtime_pb2.Update] = []
    if before.default is not None:
        updates.append(_default_update(before.default))
    for sid in touched:
        old = before.sessions.get(sid)
        if old is None:
            c = p4runtime_pb2.CloneSessionEntry(session_id=sid)
            updates.append(_session_update(p4runtime_pb2.Update.DELETE, c))
        else:
            updates.append(_session_update(p4runtime_pb2.Update.MODIFY, old))
    if updates:
        sw.write(updates)


# --- sweeping ------------------------------------------------------------------------------


def sweep_packet(index: int, monitor_port: int) -> bytes:
    """The payload of a sweep packet-out (after the packet_out header)."""
    eth = bytes(6) + bytes(6) + ETHERTYPE_SWEEP.to_bytes(2, "big")
    return eth + index.to_bytes(4, "big") + (monitor_port & 0x1FF).to_bytes(2, "big")


@dataclass
class Sweeper:
    """Sends one sweep packet per slot, round robin, at `rate` packets per second.

    `send(payload)` transmits one packet-out (egress_port 0). Packets go out in
    bursts of up to `burst` so that high rates do not need sub-millisecond sleeps."""

    send: Callable[[bytes], None]
    slots: int
    rate: int
    monitor_port: int
    burst: int = 64
    next_index: int = 0
    sent: int = 0

    def send_due(
        self,
        elapsed_s: float,
        limit: int | None = None,
        on_pass: Callable[[int], None] | None = None,
    ) -> int:
        """Send the sweep packets due `elapsed_s` seconds after the start (at most `limit`
        of them; a caller that fell behind catches up over several calls) and return how
        many more are due. For callers with their own loop (`balance` sweeps between its
        digest polls)."""
        due = int(elapsed_s * self.rate) + 1 - self.sent
        for _ in range(max(0, due if limit is None else min(due, limit))):
            self.send(sweep_packet(self.next_index, self.monitor_port))
            self.sent += 1
            self.next_index += 1
            if self.next_index >= self.slots:
                self.next_index = 0
                if on_pass is not None:
                    on_pass(self.sent)
        return max(0, int(elapsed_s * self.rate) + 1 - self.sent)

    def run(
        self,
        duration_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_pass: Callable[[int], None] | None = None,
    ) -> int:
        """Sweep until `duration_s` has passed (forever if None); returns packets sent."""
        start = clock()
        while duration_s is None or clock() - start < duration_s:
            elapsed = clock() - start
            due = int(elapsed * self.rate) + 1 - self.sent
            self.send_due(elapsed, self.burst, on_pass)
            if due <= self.burst:
                sleep(min(self.burst, max(1, due)) / self.rate)
        return self.sent


# --- monitor side --------------------------------------------------------------------------


def conn_log_entry(rec: SynSummary | SynSummary6, device_id: int = 0) -> dict[str, Any] | None:
    """A Zeek conn.log entry for an attempt the switch summarized, None if the
    connection went on (the SYN was regenerated before a reply: Zeek logs it itself) or
    the reason is not one this version defines."""
    if rec.reason == SynSummaryReason.REGENERATED_BEFORE_RESPONSE:
        return None
    if rec.reason not in SynSummaryReason._value2member_map_:
        return None
    first, last = rec.first_seen, rec.last_seen
    # Zeek writes IPv6 addresses in their compressed text form (RFC 5952), as Python does.
    if isinstance(rec, SynSummary6):
        orig, resp = str(IPv6Address(rec.ipv6_src)), str(IPv6Address(rec.ipv6_dst))
    else:
        orig, resp = str(IPv4Address(rec.ipv4_src)), str(IPv4Address(rec.ipv4_dst))
    return {
        "_path": "conn",
        "ts": first / 1e6,
        "id.orig_h": orig,
        "id.orig_p": rec.src_port,
        "id.resp_h": resp,
        "id.resp_p": rec.dst_port,
        "proto": "tcp",
        "duration": round((last - first) / 1e6, 6),
        "orig_bytes": 0,
        "resp_bytes": 0,
        "conn_state": "S0",
        "local_orig": None,
        "missed_bytes": 0,
        "history": "S",
        "orig_pkts": rec.syn_count,
        "resp_pkts": 0,
        "resp_ip_bytes": 0,
        "syn_count": rec.syn_count,
        "summary_reason": SynSummaryReason(rec.reason).name,
        "device_id": device_id,
    }
