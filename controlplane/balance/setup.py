"""What `install` writes for the `monitors:` section (docs/balance.md).

- the `groups` entry of the group's monitor port and one `worker_ports` entry per worker,
  as Desired entries of the install diff (install owns those two tables; the `balance`
  command owns `clusters`);
- with F > 1, one multicast group per set of 2..F workers (`entries.worker_sets`), as
  updates against the multicast groups the switch holds in the range the stage uses,
  with `restore_multicast` to put them back when the install is refused;
- the SYN-offload stage's clone sessions for the worker ports come from
  `controlplane.syn_offload.session_ports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from p4.v1 import p4runtime_pb2

from controlplane import pipeline_spec as ps
from controlplane.balance.entries import (
    DEFAULT_IDLE_US,
    group_entry,
    multicast_groups,
    multicast_update,
    worker_port_entries,
)
from controlplane.compile import Desired
from controlplane.errors import CapabilityError, WriteFailed
from controlplane.model import RuleSet
from controlplane.p4info import P4Schema

MulticastState = dict[int, p4runtime_pb2.MulticastGroupEntry]


def group_port(rules: RuleSet) -> int | None:
    """The monitor port the group spreads: `monitors.port`, else the first monitor port."""
    g = rules.monitors
    if g is None:
        return None
    if g.monitor_port is not None:
        return g.monitor_port
    return rules.monitor[0].monitor_port if rules.monitor else None


def has_stage(schema: P4Schema) -> bool:
    """The running pipeline has the balance stage."""
    return schema.has_table(ps.BALANCE_GROUPS_TABLE)


def check(rules: RuleSet, schema: P4Schema) -> None:
    """CapabilityError when the pipeline cannot carry the `monitors:` section."""
    g = rules.monitors
    if g is None:
        return
    where = f"{g.where}: monitors"
    if not has_stage(schema):
        raise CapabilityError(
            [
                f"{where}: the running pipeline has no balance stage (no table "
                f"{ps.BALANCE_GROUPS_TABLE})"
            ]
        )
    if group_port(rules) is None:
        raise CapabilityError([f"{where}: no monitor port to spread (monitor: is empty)"])
    n_sets = len(multicast_groups(g.ports, g.balance.f_max))
    if n_sets > ps.BALANCE_MULTICAST_GROUPS:
        raise CapabilityError(
            [
                f"{where}.F: {g.balance.f_max} over {len(g.ports)} workers needs {n_sets} "
                f"multicast groups (one per set of workers), the stage reserves "
                f"{ps.BALANCE_MULTICAST_GROUPS}: lower F"
            ]
        )
    bits = schema.action(ps.BALANCE_SET_GROUP).param("workers").bitwidth
    if len(g.ports) >= 1 << bits:
        raise CapabilityError([f"{where}.ports: at most {(1 << bits) - 1} workers"])


def desired_entries(rules: RuleSet, schema: P4Schema) -> list[Desired]:
    """The `groups` and `worker_ports` entries of the section (none without it)."""
    g = rules.monitors
    port = group_port(rules)
    if g is None or port is None or not has_stage(schema):
        return []
    out = [
        Desired(
            ps.BALANCE_GROUPS_TABLE,
            group_entry(schema, port, len(g.ports), g.hash == "2-tuple", DEFAULT_IDLE_US),
            f"monitors: group of monitor port {port}",
        )
    ]
    for i, e in enumerate(worker_port_entries(schema, port, g.ports)):
        out.append(Desired(ps.BALANCE_WORKER_PORTS_TABLE, e, f"monitors: worker {i}"))
    return out


def _ours(group_id: int) -> bool:
    base = ps.BALANCE_MULTICAST_BASE
    return base <= group_id < base + ps.BALANCE_MULTICAST_GROUPS


def read_multicast(sw: Any) -> MulticastState:
    """The multicast groups the switch holds in the stage's range."""
    ent = p4runtime_pb2.Entity()
    ent.packet_replication_engine_entry.multicast_group_entry.SetInParent()
    out: MulticastState = {}
    for e in sw.read([ent]):  # multicast_group_id 0: every group
        g = e.packet_replication_engine_entry.multicast_group_entry
        if _ours(g.multicast_group_id):
            out[g.multicast_group_id] = g
    return out


def _ports_of(g: p4runtime_pb2.MulticastGroupEntry) -> list[int]:
    return sorted(r.egress_port for r in g.replicas)


def plan_multicast(
    rules: RuleSet, current: MulticastState
) -> tuple[list[p4runtime_pb2.Update], list[str]]:
    """Updates turning `current` into the groups the section needs, and a line per change."""
    g = rules.monitors
    want = multicast_groups(g.ports, g.balance.f_max) if g is not None else {}
    updates: list[p4runtime_pb2.Update] = []
    for gid in sorted(set(current) - set(want)):
        updates.append(multicast_update(gid, [], p4runtime_pb2.Update.DELETE))
    changed = 0
    for gid, ports in want.items():
        have = current.get(gid)
        if have is None:
            updates.append(multicast_update(gid, ports))
        elif _ports_of(have) != sorted(ports):
            updates.append(multicast_update(gid, ports, p4runtime_pb2.Update.MODIFY))
        else:
            continue
        changed += 1
    lines = []
    if changed or len(updates) > changed:
        lines.append(
            f"  monitors: {changed} multicast groups set, {len(updates) - changed} deleted "
            "(duplication to several workers)"
        )
    return updates, lines


def restore_multicast(sw: Any, before: MulticastState, touched: Sequence[int]) -> None:
    """Put the multicast groups `touched` back as `before` had them."""
    updates = []
    for gid in touched:
        old = before.get(gid)
        if old is None:
            updates.append(multicast_update(gid, [], p4runtime_pb2.Update.DELETE))
        else:
            updates.append(multicast_update(gid, _ports_of(old), p4runtime_pb2.Update.MODIFY))
    try:
        sw.write(updates)
    except WriteFailed as e:
        # a group whose INSERT was refused is not there to delete
        if any(u.code != "NOT_FOUND" for u in e.errors):
            raise


def touched_groups(updates: Sequence[p4runtime_pb2.Update]) -> list[int]:
    """The multicast group ids `updates` change."""
    return [
        u.entity.packet_replication_engine_entry.multicast_group_entry.multicast_group_id
        for u in updates
        if u.entity.HasField("packet_replication_engine_entry")
    ]
