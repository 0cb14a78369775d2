"""The controller's SYN-offload parts: the rules.yaml section, install against the
real softswitch (config default entry, clone sessions, idempotence, diff, nothing
half-done), sweep packets and conn.log entries from SYN summaries."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from controlplane import state as state_mod
from controlplane.cli import main
from controlplane.p4rt import P4RuntimeSwitch
from controlplane.rules import read_rules
from controlplane.syn_offload import Sweeper, conn_log_entry, sweep_packet
from feedback_header.records import SynSummary, SynSummaryReason

MONITOR = """\
monitor:
  port: 1
  ingress_ports: [0]
"""
STATS_NONE = "stats: []\n"  # no stats rules, on purpose (install refuses a file without)

SYN = (
    MONITOR
    + """\
syn_offload:
  timeout: 2s
  sweep_rate: 500
  slots: 4096
"""
)


def problems(text: str) -> list[str]:
    return [str(p) for p in read_rules(text, "r.yaml")[1]]


def test_section_is_read() -> None:
    rules, errs = read_rules(SYN, "r.yaml")
    assert errs == []
    cfg = rules.syn_offload
    assert cfg is not None
    assert (cfg.enabled, cfg.timeout_us, cfg.sweep_rate, cfg.slots) == (True, 2_000_000, 500, 4096)


@pytest.mark.parametrize(
    "section,message",
    [
        ("  timeout: 17s\n", "r.yaml:5:12: syn_offload.timeout: 17000000 µs is out of range"),
        ("  timeout: 5\n", "r.yaml:5:12: syn_offload.timeout: '5' needs a unit"),
        ("  sweep_rate: 0\n", "r.yaml:5:15: syn_offload.sweep_rate: 0 is out of range"),
        ("  slots: many\n", "r.yaml:5:10: syn_offload.slots: 'many' is not a number of records"),
        ("  enabled: maybe\n", "r.yaml:5:12: syn_offload.enabled: 'maybe' is not true or false"),
        ("  timout: 1s\n", "r.yaml:5:3: syn_offload.timout: unknown field 'timout' (did you mean"),
        ("  sweep_monitor_port: 7\n", "syn_offload.sweep_monitor_port: port 7 is not a monitor"),
    ],
)
def test_section_mistakes_name_line_and_field(section: str, message: str) -> None:
    errs = problems(MONITOR + "syn_offload:\n" + section)
    assert len(errs) == 1, errs
    assert errs[0].startswith(message) or (message in errs[0] and message[0] != "r"), errs


def test_section_needs_a_monitor() -> None:
    assert problems("syn_offload:\n  timeout: 1s\n") == [
        "r.yaml:2:3: syn_offload: needs a 'monitor:' section (where held SYNs are sent)"
    ]


def test_sweeper_paces_and_wraps() -> None:
    sent: list[bytes] = []
    now = [0.0]

    def clock() -> float:
        return now[0]

    def sleep(s: float) -> None:
        now[0] += s

    passes: list[int] = []
    sw = Sweeper(sent.append, slots=10, rate=100, monitor_port=1, burst=4)
    sw.run(duration_s=0.5, clock=clock, sleep=sleep, on_pass=passes.append)
    # 100/s for 0.5 s on a fake clock: about 50 packets, slots wrap every 10
    assert 49 <= len(sent) <= 51
    assert sent[0] == sweep_packet(0, 1) and sent[10] == sweep_packet(0, 1)
    assert sent[3][14:18] == (3).to_bytes(4, "big")
    assert passes[:2] == [10, 20]


def test_conn_log_entry_of_an_expired_attempt() -> None:
    rec = SynSummary(
        reason=SynSummaryReason.EXPIRED_BY_SWEEP,
        syn_count=3,
        ipv4_src=0x0A000001,
        ipv4_dst=0xC0000250,
        src_port=40000,
        dst_port=22,
        isn=5,
        first_seen=1_600_000_000_000_000,
        last_seen=1_600_000_003_000_000,
    )
    e = conn_log_entry(rec, device_id=4)
    assert e is not None
    assert e["ts"] == 1_600_000_000.0 and e["duration"] == 3.0
    assert (e["id.orig_h"], e["id.orig_p"], e["id.resp_h"], e["id.resp_p"]) == (
        "10.0.0.1",
        40000,
        "192.0.2.80",
        22,
    )
    assert (e["conn_state"], e["history"], e["orig_pkts"], e["resp_pkts"]) == ("S0", "S", 3, 0)
    assert e["summary_reason"] == "EXPIRED_BY_SWEEP" and e["device_id"] == 4
    replied = replace(rec, reason=SynSummaryReason.REGENERATED_BEFORE_RESPONSE)
    assert conn_log_entry(replied) is None


# --- against the real softswitch ---------------------------------------------------------


def _read_config(address: str) -> tuple[str, list[int], list[tuple[int, list[int]]]]:
    """(action name, params, clone sessions (id, ports)) as the switch holds them."""
    with grpc.insecure_channel(address) as ch:
        stub = p4runtime_pb2_grpc.P4RuntimeStub(ch)
        cfg = stub.GetForwardingPipelineConfig(
            p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=1)
        ).config.p4info
        table = next(t for t in cfg.tables if t.preamble.name == "NidsIngress.syn_offload.config")
        names = {a.preamble.id: a.preamble.name for a in cfg.actions}
        e = p4runtime_pb2.Entity()
        e.table_entry.table_id = table.preamble.id
        e.table_entry.is_default_action = True
        pre = p4runtime_pb2.Entity()
        pre.packet_replication_engine_entry.clone_session_entry.SetInParent()
        req = p4runtime_pb2.ReadRequest(device_id=1, entities=[e, pre])
        action, params, sessions = "", [], []
        for reply in stub.Read(req):
            for ent in reply.entities:
                if ent.HasField("table_entry"):
                    a = ent.table_entry.action.action
                    action = names[a.action_id].rsplit(".", 1)[1]
                    params = [int.from_bytes(p.value, "big") for p in a.params]
                else:
                    c = ent.packet_replication_engine_entry.clone_session_entry
                    sessions.append((c.session_id, [r.egress_port for r in c.replicas]))
    return action, params, sorted(sessions)


def test_install_sets_the_stage_idempotently_and_as_a_diff(
    softswitch: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address, build = softswitch
    rules = tmp_path / "rules.yaml"
    state = tmp_path / "state.json"
    common = ["--address", address, "--state", str(state)]
    push = ["--p4info", str(build / "main.p4info.txtpb"), "--config", str(build / "main.json")]
    rules.write_text(SYN + STATS_NONE, encoding="utf-8")
    assert main(["install", str(rules), *common, *push]) == 0
    out = capsys.readouterr().out
    assert "syn_offload: enabled, 4096 records, timeout 2s" in out
    assert "clone session 513 -> port 1" in out
    assert _read_config(address) == ("configure", [4096, 2_000_000], [(513, [1])])
    assert state_mod.load(state).syn_offload == {
        "slots": 4096,
        "timeout_us": 2_000_000,
        "sweep_rate": 500,
        "sweep_monitor_port": 1,
    }

    assert main(["install", str(rules), *common]) == 0
    assert "no changes" in capsys.readouterr().out

    rules.write_text(SYN.replace("timeout: 2s", "timeout: 300ms") + STATS_NONE, encoding="utf-8")
    assert main(["install", str(rules), *common]) == 0
    out = capsys.readouterr().out
    assert "SYN-offload settings: 1 updates in one Write" in out
    assert _read_config(address)[:2] == ("configure", [4096, 300_000])

    # more records than the pipeline was compiled with: refused before any write
    rules.write_text(SYN.replace("slots: 4096", "slots: 100000") + STATS_NONE, encoding="utf-8")
    assert main(["install", str(rules), *common]) == 3
    err = capsys.readouterr().err
    assert (
        "syn_offload.slots: 100000 records asked for, the pipeline was compiled with 65536" in err
    )
    assert _read_config(address)[:2] == ("configure", [4096, 300_000])  # unchanged

    # without the section the stage is turned off again
    rules.write_text(MONITOR + STATS_NONE, encoding="utf-8")
    assert main(["install", str(rules), *common]) == 0
    assert "syn_offload: disabled" in capsys.readouterr().out
    assert _read_config(address)[0] == "disable"
    assert state_mod.load(state).syn_offload == {}


def test_watch_writes_conn_log_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    from feedback_header import codec
    from feedback_header.records import FeedbackFlags

    def regenerated(reason: SynSummaryReason, sport: int) -> bytes:
        rec = SynSummary(
            reason=reason,
            syn_count=2,
            ipv4_src=0x0A000001,
            ipv4_dst=0x0A000002,
            src_port=sport,
            dst_port=80,
            isn=1,
            first_seen=2_000_000,
            last_seen=3_000_000,
        )
        syn = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=sport, dport=80))
        return codec.insert(syn, [rec], device_id=1, flags=FeedbackFlags.REGENERATED)

    pcap = tmp_path / "mon.pcap"
    wrpcap(
        str(pcap),
        [
            Ether(regenerated(SynSummaryReason.EXPIRED_BY_SWEEP, 1000)),
            Ether(regenerated(SynSummaryReason.REGENERATED_BEFORE_RESPONSE, 1001)),
        ],
    )
    conn = tmp_path / "conn.jsonl"
    rc = main(
        ["watch", "--pcap", str(pcap), "--conn-log", str(conn), "--state", str(tmp_path / "s")]
    )
    assert rc == 0
    lines = [json.loads(x) for x in conn.read_text().splitlines()]
    assert [(x["id.orig_p"], x["conn_state"], x["history"], x["orig_pkts"]) for x in lines] == [
        (1000, "S0", "S", 2)
    ]
    stream = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x.get("_path") for x in stream] == [None, "conn", None]


def test_sweep_command_reaches_the_pipeline(
    softswitch: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sweep` sends its packets through packet-out: the stage counts each one
    (outcomes[7]), and the passes it reports match what it sent."""
    address, build = softswitch
    rules = tmp_path / "rules.yaml"
    state = tmp_path / "state.json"
    common = ["--address", address, "--state", str(state)]
    push = ["--p4info", str(build / "main.p4info.txtpb"), "--config", str(build / "main.json")]
    rules.write_text(SYN.replace("slots: 4096", "slots: 16") + STATS_NONE, encoding="utf-8")
    assert main(["install", str(rules), *common, *push]) == 0
    capsys.readouterr()

    def sweeps() -> int:
        with grpc.insecure_channel(address) as ch:
            stub = p4runtime_pb2_grpc.P4RuntimeStub(ch)
            p4info = stub.GetForwardingPipelineConfig(
                p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=1)
            ).config.p4info
            cid = next(
                c.preamble.id
                for c in p4info.counters
                if c.preamble.name == "NidsIngress.syn_offload.outcomes"
            )
            e = p4runtime_pb2.Entity()
            e.counter_entry.counter_id = cid
            e.counter_entry.index.index = 7
            for reply in stub.Read(p4runtime_pb2.ReadRequest(device_id=1, entities=[e])):
                return int(reply.entities[0].counter_entry.data.packet_count)
        return -1

    start = sweeps()
    assert main(["sweep", *common, "--rate", "200", "--duration", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "sweep: 16 slots at 200/s" in err
    sent = int(err.rsplit("stopped after ", 1)[1].split()[0])
    assert sent >= 16 and "pass 1 done" in err
    deadline = 50
    while sweeps() - start < sent and deadline:  # packet-outs are processed asynchronously
        time.sleep(0.1)
        deadline -= 1
    assert sweeps() - start == sent


def test_install_takes_the_switch_from_a_sweep_that_takes_it_back(
    softswitch: tuple[str, Path],
) -> None:
    """P4Runtime 1.4 §5.3 arbitration as `install` and `sweep` use it: a sweep (id 1)
    is primary; an install (id 2) takes over and the sweep becomes a backup; when the
    install leaves the switch has no primary, and the sweep arbitrates again with the
    id one above the one the server sent it and is primary once more."""
    address, _ = softswitch
    with P4RuntimeSwitch(address, election_id=1) as sweeper:
        sweeper.become_primary(take_over=False, wait=True)
        assert sweeper.is_primary
        with P4RuntimeSwitch(address, election_id=2) as installer:
            installer.become_primary()
            assert installer.is_primary
            deadline = time.monotonic() + 5
            while sweeper.is_primary and time.monotonic() < deadline:
                sweeper.poll_stream()
                time.sleep(0.02)
            assert not sweeper.is_primary
        deadline = time.monotonic() + 5
        while not sweeper.is_primary and time.monotonic() < deadline:
            sweeper.poll_stream()
            time.sleep(0.02)
        assert sweeper.is_primary
        assert sweeper.election_id >= 2
        # a second install still takes over from the sweep, now above the sweep's id
        with P4RuntimeSwitch(address, election_id=2) as installer:
            installer.become_primary()
            assert installer.is_primary and installer.election_id > sweeper.election_id
