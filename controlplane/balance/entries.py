"""P4Runtime updates for a monitor cluster: the group, its worker ports, cluster entries and
the multicast groups that duplicate a flow to several workers (p4src/include/control/
balance.p4). Pure functions of the P4Info; the caller writes them, batched, in one Write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from p4.v1 import p4runtime_pb2

from controlplane import pipeline_spec as ps
from controlplane.compile import encode
from controlplane.fields import IPV4_HIGH, IPV4_WIDTH
from controlplane.p4info import P4Schema

DEFAULT_IDLE_US = 60_000_000
"""A connection slot unused this long may be taken by another connection."""


@dataclass(frozen=True)
class ClusterRule:
    """One cluster entry: which flows (None: any) go to which worker (an index into the
    group's ports), or, with `mcast_group`, to that multicast group's workers too."""

    worker: int
    priority: int
    src: tuple[int, int] | None = None  # (address, prefix length) in `family`
    dst: tuple[int, int] | None = None
    family: int = 4  # 4 or 6: the addresses' family
    protocol: int | None = None
    dst_ports: tuple[int, int] | None = None  # (low, high)
    mcast_group: int = 0


def _prefix_mask(prefix: int, bits: int) -> int:
    return ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1)


def _address_mask(prefix: int, family: int, bits: int) -> int:
    """A prefix in the flow key's address field: IPv6 from the top bit; IPv4 in the low
    32 bits, with the upper bits required zero as the flow key holds them (stats-stage.md)."""
    if family == 6:
        return _prefix_mask(prefix, bits)
    return IPV4_HIGH | _prefix_mask(prefix, IPV4_WIDTH)


def _insert(entity: p4runtime_pb2.Entity) -> p4runtime_pb2.Update:
    return p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT, entity=entity)


def group_entry(
    schema: P4Schema, monitor_port: int, workers: int, two_tuple: bool, idle_us: int
) -> p4runtime_pb2.TableEntry:
    """The `groups` entry: the monitor port `monitor_port` spreads over `workers` ports."""
    table = schema.table(ps.BALANCE_GROUPS_TABLE)
    action = schema.action(ps.BALANCE_SET_GROUP)
    t = p4runtime_pb2.TableEntry(table_id=table.id)
    key = table.field("monitor_port")
    t.match.add(field_id=key.id).exact.value = encode(monitor_port, key.bitwidth)
    t.action.action.action_id = action.id
    for name, value in zip(
        ps.BALANCE_SET_GROUP_PARAMS, (workers, int(two_tuple), idle_us), strict=True
    ):
        p = action.param(name)
        t.action.action.params.add(param_id=p.id, value=encode(value, p.bitwidth))
    return t


def group_update(
    schema: P4Schema, monitor_port: int, workers: int, two_tuple: bool, idle_us: int
) -> p4runtime_pb2.Update:
    """`group_entry` as an INSERT."""
    e = p4runtime_pb2.Entity()
    e.table_entry.CopyFrom(group_entry(schema, monitor_port, workers, two_tuple, idle_us))
    return _insert(e)


def worker_port_entries(
    schema: P4Schema, monitor_port: int, ports: Sequence[int]
) -> list[p4runtime_pb2.TableEntry]:
    """The `worker_ports` entries: worker i of the group is switch port ports[i]."""
    table = schema.table(ps.BALANCE_WORKER_PORTS_TABLE)
    action = schema.action(ps.BALANCE_SET_WORKER_PORT)
    kp, kw = table.field("monitor_port"), table.field("worker")
    param = action.param("port")
    out = []
    for i, port in enumerate(ports):
        t = p4runtime_pb2.TableEntry(table_id=table.id)
        t.match.add(field_id=kp.id).exact.value = encode(monitor_port, kp.bitwidth)
        t.match.add(field_id=kw.id).exact.value = encode(i, kw.bitwidth)
        t.action.action.action_id = action.id
        t.action.action.params.add(param_id=param.id, value=encode(port, param.bitwidth))
        out.append(t)
    return out


def worker_port_updates(
    schema: P4Schema, monitor_port: int, ports: Sequence[int]
) -> list[p4runtime_pb2.Update]:
    """`worker_port_entries` as INSERTs."""
    out = []
    for t in worker_port_entries(schema, monitor_port, ports):
        e = p4runtime_pb2.Entity()
        e.table_entry.CopyFrom(t)
        out.append(_insert(e))
    return out


def worker_sets(workers: int, f_max: int) -> list[tuple[int, ...]]:
    """Every set of 2..F worker indexes, in a fixed order: multicast group
    `MULTICAST_BASE + i` copies to set i (`multicast_id`)."""
    return [c for k in range(2, f_max + 1) for c in combinations(range(workers), k)]


def multicast_id(workers: int, f_max: int, chosen: Sequence[int]) -> int:
    """The multicast group of the worker set `chosen` (2..F indexes, any order)."""
    want = tuple(sorted(set(chosen)))
    return ps.BALANCE_MULTICAST_BASE + worker_sets(workers, f_max).index(want)


def multicast_groups(ports: Sequence[int], f_max: int) -> dict[int, list[int]]:
    """Group id -> switch ports, for every worker set (`worker_sets`) of a cluster."""
    return {
        ps.BALANCE_MULTICAST_BASE + i: [ports[w] for w in ws]
        for i, ws in enumerate(worker_sets(len(ports), f_max))
    }


def cluster_update(
    schema: P4Schema,
    monitor_port: int,
    rule: ClusterRule,
    kind: p4runtime_pb2.Update.Type.ValueType = p4runtime_pb2.Update.INSERT,
) -> p4runtime_pb2.Update:
    """One `clusters` entry (INSERT, MODIFY or DELETE)."""
    table = schema.table(ps.BALANCE_CLUSTERS_TABLE)
    e = p4runtime_pb2.Entity()
    t = e.table_entry
    t.table_id = table.id
    t.priority = rule.priority
    kp = table.field("monitor_port")
    t.match.add(field_id=kp.id).exact.value = encode(monitor_port, kp.bitwidth)
    for name, pref in (("src_addr", rule.src), ("dst_addr", rule.dst)):
        if pref is not None and pref[1] > 0:
            f = table.field(name)
            m = t.match.add(field_id=f.id)
            mask = _address_mask(pref[1], rule.family, f.bitwidth)
            m.ternary.value = encode(pref[0] & mask, f.bitwidth)
            m.ternary.mask = encode(mask, f.bitwidth)
    if rule.protocol is not None:
        f = table.field("protocol")
        m = t.match.add(field_id=f.id)
        m.ternary.value = encode(rule.protocol, f.bitwidth)
        m.ternary.mask = encode((1 << f.bitwidth) - 1, f.bitwidth)
    if rule.dst_ports is not None and rule.dst_ports != (0, 0xFFFF):
        f = table.field("dst_port")
        m = t.match.add(field_id=f.id)
        m.range.low = encode(rule.dst_ports[0], f.bitwidth)
        m.range.high = encode(rule.dst_ports[1], f.bitwidth)
    if kind != p4runtime_pb2.Update.DELETE:
        if rule.mcast_group:
            action = schema.action(ps.BALANCE_TO_WORKERS)
            values: tuple[int, ...] = (rule.worker, rule.mcast_group)
        else:
            action = schema.action(ps.BALANCE_TO_WORKER)
            values = (rule.worker,)
        t.action.action.action_id = action.id
        for p, v in zip(action.params, values, strict=True):
            t.action.action.params.add(param_id=p.id, value=encode(v, p.bitwidth))
    return p4runtime_pb2.Update(type=kind, entity=e)


def multicast_update(
    group_id: int,
    ports: Sequence[int],
    kind: p4runtime_pb2.Update.Type.ValueType = p4runtime_pb2.Update.INSERT,
) -> p4runtime_pb2.Update:
    """A multicast group copying a flow to `ports` (its workers)."""
    e = p4runtime_pb2.Entity()
    g = e.packet_replication_engine_entry.multicast_group_entry
    g.multicast_group_id = group_id
    if kind != p4runtime_pb2.Update.DELETE:
        for port in ports:
            g.replicas.add(egress_port=port, instance=0)
    return p4runtime_pb2.Update(type=kind, entity=e)
