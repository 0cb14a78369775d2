"""The `monitors:` section of rules.yaml: a cluster of workers behind one monitor port.

```yaml
monitors:
  port: 1                # the monitor port (of 'monitor:') whose traffic is spread
  ports: [1, 2, 3, 4]    # the worker ports, in worker order
  hash: 5-tuple          # or 2-tuple: symmetric hash where no cluster entry matches
  capacity: 100000       # packets/s one worker handles: loads are % of this
  F: 1                   # at most this many workers per flow (duplication)
  V: 9                   # bound on the variance of the workers' loads, in %^2
  lambda: 1.02           # decay of a cluster's weight, per second (> 1)
  m_max: 64              # clusters kept before the light ones are deleted
  th_w: 0.05             # ... lighter than this
  alpha: {ip: 0.6, port: 0.3, protocol: 0.1}   # weights of the distance, sum 1
  subnet: {ipv4: 24, ipv6: 64}                 # prefix lengths of a subnet
  port_sets: [[23, 80], [6660, 6667]]          # destination ports the operator groups
```

Only `ports` is required. Every mistake is reported with its file:line:col.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from yaml.nodes import Node, ScalarNode, SequenceNode

from controlplane.balance.blb import BalanceConfig
from controlplane.balance.distance import DistanceConfig
from controlplane.model import Where

if TYPE_CHECKING:
    from controlplane.rules import _Reader

FIELDS = (
    "port",
    "ports",
    "hash",
    "capacity",
    "F",
    "V",
    "lambda",
    "m_max",
    "th_w",
    "alpha",
    "subnet",
    "port_sets",
)
ALPHA_FIELDS = ("ip", "port", "protocol")
SUBNET_FIELDS = ("ipv4", "ipv6")
HASHES = ("5-tuple", "2-tuple")
MAX_PORT = 510
MAX_CLUSTERS = 1 << 20


@dataclass(frozen=True)
class MonitorGroup:
    """A valid `monitors:` section."""

    ports: tuple[int, ...]
    balance: BalanceConfig
    monitor_port: int | None = None
    hash: str = "5-tuple"
    capacity_pps: float = 100_000.0
    where: Where = field(default_factory=lambda: Where("", 0, 0))


def _number(r: _Reader, node: Node, path: str, what: str) -> float | None:
    text = r.scalar(node, path, what)
    if text is None:
        return None
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        r.error(node, path, f"'{text}' is not {what}")
        return None
    if not math.isfinite(v):
        r.error(node, path, f"'{text}' is not {what}")
        return None
    return v


def _ports(r: _Reader, node: Node, path: str) -> list[int]:
    if not isinstance(node, SequenceNode):
        r.error(node, path, "expected a list of switch ports")
        return []
    out: list[int] = []
    for i, n in enumerate(node.value):
        p = r.integer(n, f"{path}[{i}]", 0, MAX_PORT, "a switch port")
        if p is None:
            continue
        if p in out:
            r.error(n, f"{path}[{i}]", f"port {p} is listed twice")
            continue
        out.append(p)
    return out


def read_monitors(r: _Reader, node: Node, monitor_ports: set[int]) -> MonitorGroup | None:
    """The section at `node`; None (with problems recorded in `r`) when it has mistakes.
    `monitor_ports` are the monitor ports of the `monitor:` section."""
    before = len(r.problems)
    f = r.mapping(node, "monitors", FIELDS, "the monitor cluster")
    if f is None:
        return None
    if "ports" not in f:
        r.error(node, "monitors", "missing 'ports' (the worker ports)")
    ports = _ports(r, f["ports"][1], "monitors.ports") if "ports" in f else []
    if "ports" in f and not ports and len(r.problems) == before:
        r.error(f["ports"][1], "monitors.ports", "needs at least one worker port")
    mport: int | None = None
    if "port" in f:
        mport = r.integer(f["port"][1], "monitors.port", 0, MAX_PORT, "a switch port")
        if mport is not None and mport not in monitor_ports:
            r.error(f["port"][1], "monitors.port", f"port {mport} is not a monitor port")
    hash_kind = "5-tuple"
    if "hash" in f:
        h = r.scalar(f["hash"][1], "monitors.hash", "5-tuple or 2-tuple")
        if h is not None and h not in HASHES:
            r.error(f["hash"][1], "monitors.hash", f"'{h}' is not 5-tuple or 2-tuple")
        hash_kind = h or hash_kind
    capacity = 100_000.0
    if "capacity" in f:
        c = _number(r, f["capacity"][1], "monitors.capacity", "a rate in packets/s")
        if c is not None and c <= 0:
            r.error(f["capacity"][1], "monitors.capacity", "must be more than 0 packets/s")
        capacity = c or capacity
    n = max(len(ports), 1)
    values: dict[str, float | int] = {}
    if "F" in f:
        v = r.integer(f["F"][1], "monitors.F", 1, n, "a number of workers")
        if v is not None:
            values["f_max"] = v
    if "m_max" in f:
        v = r.integer(f["m_max"][1], "monitors.m_max", n, MAX_CLUSTERS, "a number of clusters")
        if v is not None:
            values["m_max"] = v
    for key, name, lo, hi, what in (
        ("V", "v_max", 0.0, math.inf, "a variance in %² (0 or more)"),
        ("lambda", "lam", 1.0, math.inf, "a decay factor per second (more than 1)"),
        ("th_w", "th_w", 0.0, 1.0, "a weight in [0, 1]"),
    ):
        if key not in f:
            continue
        x = _number(r, f[key][1], f"monitors.{key}", what)
        if x is None:
            continue
        if not lo <= x <= hi or (key == "lambda" and x == 1.0):
            r.error(f[key][1], f"monitors.{key}", f"{x:g} is not {what}")
            continue
        values[name] = x
    dist = _distance(r, f)
    if len(r.problems) != before or dist is None:
        return None
    cfg = BalanceConfig(workers=len(ports), dist=dist, **values)  # type: ignore[arg-type]
    return MonitorGroup(tuple(ports), cfg, mport, hash_kind, capacity, r.where(node))


def _distance(r: _Reader, f: dict[str, tuple[Node, Node]]) -> DistanceConfig | None:
    before = len(r.problems)
    kw: dict[str, object] = {}
    if "alpha" in f:
        a = r.mapping(f["alpha"][1], "monitors.alpha", ALPHA_FIELDS, "the distance weights")
        if a is not None:
            alphas = {"ip": 0.6, "port": 0.3, "protocol": 0.1}
            for k, (_, vn) in a.items():
                x = _number(r, vn, f"monitors.alpha.{k}", "a weight in [0, 1]")
                if x is not None and not 0.0 <= x <= 1.0:
                    r.error(vn, f"monitors.alpha.{k}", f"{x:g} is not a weight in [0, 1]")
                elif x is not None:
                    alphas[k] = x
            if len(r.problems) == before and abs(sum(alphas.values()) - 1.0) > 1e-9:
                total = sum(alphas.values())
                r.error(
                    f["alpha"][1],
                    "monitors.alpha",
                    f"the weights must sum to 1 (ip, port, protocol sum to {total:g}; "
                    "unset ones count 0.6, 0.3, 0.1)",
                )
            kw.update(alpha_ip=alphas["ip"], alpha_port=alphas["port"])
            kw["alpha_protocol"] = alphas["protocol"]
    if "subnet" in f:
        s = r.mapping(f["subnet"][1], "monitors.subnet", SUBNET_FIELDS, "subnet prefix lengths")
        if s is not None:
            for k, (_, vn) in s.items():
                bits = 32 if k == "ipv4" else 128
                p = r.integer(vn, f"monitors.subnet.{k}", 0, bits, "a prefix length")
                if p is not None:
                    kw["subnet_v4" if k == "ipv4" else "subnet_v6"] = p
    if "port_sets" in f:
        node = f["port_sets"][1]
        if not isinstance(node, SequenceNode):
            r.error(node, "monitors.port_sets", "expected a list of port lists")
        else:
            sets: list[frozenset[int]] = []
            for i, item in enumerate(node.value):
                path = f"monitors.port_sets[{i}]"
                if not isinstance(item, SequenceNode) or isinstance(item, ScalarNode):
                    r.error(item, path, "expected a list of destination ports")
                    continue
                ps = [
                    r.integer(n, f"{path}[{j}]", 0, 65535, "a port")
                    for j, n in enumerate(item.value)
                ]
                sets.append(frozenset(p for p in ps if p is not None))
            kw["configured_sets"] = tuple(sets)
    if len(r.problems) != before:
        return None
    return DistanceConfig(**kw)  # type: ignore[arg-type]
