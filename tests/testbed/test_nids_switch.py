"""The in-process NIDS switch installs through the controller's path and the target's
P4Runtime servicer: what it holds reads back over P4Runtime, errors are the controller's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from p4.v1 import p4runtime_pb2

from controlplane.capabilities import MONITOR_TABLE
from controlplane.errors import RulesError, WriteFailed
from testbed.nids_switch import NidsSwitch

RULES = """\
monitor: {port: 1, ingress_ports: [0, 2]}
stats:
  - name: ssh
    match: {protocol: tcp, dst_port: 22}
    group_by: [src_addr]
    interval: 1s
syn_offload: {slots: 64, timeout: 2s}
"""


@pytest.fixture(scope="module")
def sw() -> Iterator[NidsSwitch]:
    with NidsSwitch() as s:
        # 1 stats entry + 2 monitor_ports entries + config default + 1 clone session
        assert s.install_text(RULES) == 5
        yield s


def test_a_second_install_writes_nothing(sw: NidsSwitch) -> None:
    assert sw.install_text(RULES) == 0


def test_entries_read_back_over_p4runtime(sw: NidsSwitch) -> None:
    monitor = sw.p4rt.read_table(sw.schema.table(MONITOR_TABLE).id)
    ports = sorted(int.from_bytes(e.match[0].exact.value, "big") for e in monitor)
    assert ports == [0, 2]
    slot0 = sw.p4rt.read_table(sw.schema.table("NidsIngress.stats.slot0.rules").id)
    assert len(slot0) == 1


def test_a_rule_reaches_the_packets(sw: NidsSwitch) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=53))
    assert sw.run(0, frame, 1_000_000) == [(1, frame)]
    assert sw.run(3, frame, 1_000_000) == []  # port 3 is not monitored


def test_a_refused_update_comes_back_as_write_failed(sw: NidsSwitch) -> None:
    (entry,) = sw.p4rt.read_table(sw.schema.table("NidsIngress.stats.slot0.rules").id)
    u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
    u.entity.table_entry.CopyFrom(entry)
    with pytest.raises(WriteFailed) as e:
        sw.p4rt.write([u])
    assert [(x.index, x.code) for x in e.value.errors] == [(0, "ALREADY_EXISTS")]


def test_a_bad_rules_file_is_refused_with_its_position(sw: NidsSwitch) -> None:
    bad = RULES.replace("dst_port: 22", "dst_prot: 22")
    with pytest.raises(RulesError) as e:
        sw.install_text(bad, name="bad.yaml")
    assert "/bad.yaml:4:28: stats[0].match.dst_prot: unknown field" in str(e.value)
    assert sw.install_text(RULES) == 0  # nothing changed
