"""rules.yaml `monitors:`: the settings reach BalanceConfig; mistakes get file:line:col."""

from __future__ import annotations

import textwrap

import pytest

from controlplane.rules import read_rules

HEAD = """\
monitor:
  port: 1
  ingress_ports: [0]
"""


def read(body: str) -> tuple[object, list[str]]:
    rules, probs = read_rules(HEAD + textwrap.dedent(body), "rules.yaml")
    return rules.monitors, [str(p) for p in probs]


def test_full_section() -> None:
    group, probs = read(
        """\
        monitors:
          port: 1
          ports: [1, 2, 3, 4]
          hash: 2-tuple
          capacity: 20_000
          F: 2
          V: 16
          lambda: 1.1
          m_max: 128
          th_w: 0.1
          alpha: {ip: 0.5, port: 0.4, protocol: 0.1}
          subnet: {ipv4: 16, ipv6: 48}
          port_sets: [[23, 80], [6660, 6667]]
        """
    )
    assert probs == []
    assert group is not None
    from controlplane.balance.section import MonitorGroup

    assert isinstance(group, MonitorGroup)
    assert (group.ports, group.monitor_port, group.hash) == ((1, 2, 3, 4), 1, "2-tuple")
    assert group.capacity_pps == 20_000
    b = group.balance
    assert (b.workers, b.f_max, b.v_max, b.lam, b.m_max, b.th_w) == (4, 2, 16, 1.1, 128, 0.1)
    d = b.dist
    assert (d.alpha_ip, d.alpha_port, d.alpha_protocol) == (0.5, 0.4, 0.1)
    assert (d.subnet_v4, d.subnet_v6) == (16, 48)
    assert d.configured_sets == (frozenset({23, 80}), frozenset({6660, 6667}))


def test_defaults() -> None:
    group, probs = read("monitors:\n  ports: [2, 3]\n")
    assert probs == []
    assert group is not None
    from controlplane.balance.section import MonitorGroup

    assert isinstance(group, MonitorGroup)
    assert group.hash == "5-tuple" and group.balance.f_max == 1 and group.balance.workers == 2


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ("monitors:\n  hash: 5-tuple\n", "rules.yaml:5:3: monitors: missing 'ports'"),
        ("monitors:\n  ports: [1, 1]\n", "rules.yaml:5:14: monitors.ports[1]: port 1 is listed"),
        ("monitors:\n  ports: [1]\n  hsah: 2-tuple\n", "did you mean 'hash'?"),
        ("monitors:\n  ports: [1]\n  hash: 3-tuple\n", "rules.yaml:6:9: monitors.hash: '3-tuple'"),
        ("monitors:\n  ports: [1, 2]\n  F: 3\n", "rules.yaml:6:6: monitors.F: 3 is out of range"),
        ("monitors:\n  ports: [1]\n  lambda: 1\n", "rules.yaml:6:11: monitors.lambda: 1 is not"),
        ("monitors:\n  ports: [1]\n  V: lots\n", "rules.yaml:6:6: monitors.V: 'lots' is not"),
        ("monitors:\n  ports: [1]\n  port: 7\n", "rules.yaml:6:9: monitors.port: port 7 is not"),
        (
            "monitors:\n  ports: [1]\n  alpha: {ip: 0.9}\n",
            "rules.yaml:6:10: monitors.alpha: the weights must sum to 1",
        ),
        (
            "monitors:\n  ports: [1]\n  port_sets: [[23, 70000]]\n",
            "rules.yaml:6:20: monitors.port_sets[0][1]: 70000 is out of range",
        ),
        ("monitors:\n  ports: [1]\n  th_w: 2\n", "rules.yaml:6:9: monitors.th_w: 2 is not"),
    ],
)
def test_mistakes_are_reported_where_they_are(body: str, want: str) -> None:
    group, probs = read(body)
    assert group is None
    assert any(p.startswith(want) or want in p for p in probs), probs
