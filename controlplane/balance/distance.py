"""The logical distance D(f1, f2) = sum over ip, port, protocol of alpha_i * d_i(f1, f2).

Each d_i is 0 for the paper's strongest correlation of that field, 1 for none, and a
value between for the weaker ones (section VI, matched in the order of its Fig. 2):

- d_ip: identical source or identical destination address -> `ip_identical` (0);
  destinations in one subnet (`subnet_v4` / `subnet_v6` prefix length) -> `ip_subnet`;
  otherwise 1;
- d_port (destination ports only): identical -> 0; both in one functional set (ports of
  one service, such as FTP's 20 and 21) -> `port_functional`; both in one set the
  operator configured -> `port_configured`; otherwise 1;
- d_protocol: identical -> 0, otherwise 1.

The alphas sum to 1, so D lies in [0, 1] and the benefit (1 - D) * W is never negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from controlplane.balance.flow import Flow

FUNCTIONAL_PORT_SETS: tuple[frozenset[int], ...] = (
    frozenset({20, 21}),  # FTP data and control
    frozenset({80, 443, 8080}),  # HTTP, HTTPS, HTTP alternate
    frozenset({25, 465, 587}),  # SMTP, submission
    frozenset({110, 995, 143, 993}),  # POP3, IMAP and their TLS ports
    frozenset({137, 138, 139, 445}),  # NetBIOS, SMB
    frozenset({67, 68}),  # DHCP
)
"""Default functional port sets: ports one service uses together."""


@dataclass(frozen=True)
class DistanceConfig:
    """The operator's weights, subnet sizes, port sets and correlation levels."""

    alpha_ip: float = 0.6
    alpha_port: float = 0.3
    alpha_protocol: float = 0.1
    subnet_v4: int = 24
    subnet_v6: int = 64
    ip_subnet: float = 0.5
    port_functional: float = 1 / 3
    port_configured: float = 2 / 3
    functional_sets: Sequence[frozenset[int]] = FUNCTIONAL_PORT_SETS
    configured_sets: Sequence[frozenset[int]] = field(default_factory=tuple)

    def problems(self) -> list[str]:
        """What is wrong with these settings (empty when they are usable)."""
        out: list[str] = []
        alphas = (self.alpha_ip, self.alpha_port, self.alpha_protocol)
        if any(a < 0 for a in alphas):
            out.append("alpha weights must not be negative")
        if abs(sum(alphas) - 1.0) > 1e-9:
            out.append(f"alpha weights must sum to 1 (they sum to {sum(alphas):g})")
        for name, v in (
            ("ip_subnet", self.ip_subnet),
            ("port_functional", self.port_functional),
            ("port_configured", self.port_configured),
        ):
            if not 0.0 <= v <= 1.0:
                out.append(f"{name} must lie in [0, 1]")
        if not 0 <= self.subnet_v4 <= 32:
            out.append("subnet_v4 must be a prefix length 0..32")
        if not 0 <= self.subnet_v6 <= 128:
            out.append("subnet_v6 must be a prefix length 0..128")
        return out


def same_subnet(a: int, b: int, bits: int, prefix: int) -> bool:
    """Whether addresses a and b (of width `bits`) agree in their first `prefix` bits."""
    shift = bits - prefix
    return (a >> shift) == (b >> shift)


def d_ip(f1: Flow, f2: Flow, cfg: DistanceConfig) -> float:
    if f1.version != f2.version:
        return 1.0
    if f1.src == f2.src or f1.dst == f2.dst:
        return 0.0
    prefix = cfg.subnet_v4 if f1.version == 4 else cfg.subnet_v6
    if same_subnet(f1.dst, f2.dst, f1.bits, prefix):
        return cfg.ip_subnet
    return 1.0


def _in_one_set(a: int, b: int, sets: Sequence[frozenset[int]]) -> bool:
    return any(a in s and b in s for s in sets)


def d_port(f1: Flow, f2: Flow, cfg: DistanceConfig) -> float:
    if f1.dport == f2.dport:
        return 0.0
    if _in_one_set(f1.dport, f2.dport, cfg.functional_sets):
        return cfg.port_functional
    if _in_one_set(f1.dport, f2.dport, cfg.configured_sets):
        return cfg.port_configured
    return 1.0


def d_protocol(f1: Flow, f2: Flow) -> float:
    return 0.0 if f1.proto == f2.proto else 1.0


def distance(f1: Flow, f2: Flow, cfg: DistanceConfig) -> float:
    """D(f1, f2) in [0, 1]: 0 for flows correlated in every field."""
    return (
        cfg.alpha_ip * d_ip(f1, f2, cfg)
        + cfg.alpha_port * d_port(f1, f2, cfg)
        + cfg.alpha_protocol * d_protocol(f1, f2)
    )
