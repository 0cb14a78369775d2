"""Real captures through main.p4 with reassembly and rules.yaml's default prefilter set
(testbed.prefilter_replay): for every capture of ../shared/traces/zeek/ with a Zeek
conn.log baseline in ../shared/traces/zeek-conn-baselines/, the service the monitor
gets for each connection (the switch's PROTOCOL_MATCH records, or the same patterns in
software for connections the switch leaves to the monitor) is one Zeek logged.
Connections the switch never sees as TCP or UDP (inside GRE, GTP, Teredo, VXLAN,
Geneve or AYIYA tunnels, PPPoE, 802.11 captures) are counted apart; of the rest at
least 95% must be named as Zeek named them, and none otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.prefilter_replay import Agreement, baseline_traces, replay, zeek_services

SHARED = Path(__file__).resolve().parents[3] / "shared"
TRACES = SHARED / "traces" / "zeek"
BASELINES = SHARED / "traces" / "zeek-conn-baselines"


@pytest.mark.skipif(not BASELINES.is_dir(), reason=f"no baselines at {BASELINES}")
def test_services_agree_with_zeek() -> None:
    agreement = Agreement()
    for trace, log in baseline_traces(TRACES, BASELINES):
        zeek = zeek_services(log)
        if zeek:
            agreement.add(trace.relative_to(TRACES).as_posix(), zeek, replay(trace).services)
    seen, same = agreement.total()
    report = "\n".join(agreement.table() + agreement.details)
    assert seen >= 100, report
    assert sum(agreement.other.values()) == 0, report
    assert same >= 0.95 * seen, report
    # The switch itself names the bulk; software only what it cannot (IPv6 TCP,
    # untracked connections, FTP data connections).
    assert same - sum(agreement.by_software.values()) >= 0.8 * same, report
