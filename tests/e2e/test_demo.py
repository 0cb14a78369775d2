"""scripts/demo.sh end to end: the decoded records, counters and refusal are exactly right.

The demo builds and runs the switch, installs rules.yaml, replays the demo traffic
into port 0 and decodes the monitor port with `watch --interface`. The expected
records come from this file's own model of the stats stage (docs/stats-stage.md)
applied to the replayed pcap: which rules.yaml rule counts which frame (MATCHES,
written out here), group by the rule's masks, thresholds once per crossing, a
COUNTER_REPORT on the first packet of a group after its interval. The demo traffic
is two bursts each much shorter than the 1 s intervals, separated by a pause longer
than them (scripts/demo_traffic.py), which is what lets the model ignore time.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import ROOT, load_script, skip_unless_root

from controlplane.model import StatsRule
from controlplane.rules import load_rules

traffic = load_script("demo_traffic")

TCP, UDP, ICMP = 6, 17, 1
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
KEY_NAMES = {
    "ingress_port": "ingress_port",
    "protocol": "ip_proto",
    "tcp_flags": "tcp_flags",
    "src_addr": "ipv4_src",
    "dst_addr": "ipv4_dst",
    "src_port": "l4_src_port",
    "dst_port": "l4_dst_port",
}


@dataclass(frozen=True)
class Frame:
    """What the stats stage reads of one demo frame (all arrive on port 0)."""

    index: int
    length: int
    proto: int
    src: int
    dst: int
    sport: int
    dport: int
    flags: int
    fragment: bool
    payload: int  # L4 payload bytes (TCP)

    def field(self, name: str) -> int:
        return {
            "ingress_port": 0,
            "protocol": self.proto,
            "tcp_flags": self.flags,
            "src_addr": self.src,
            "dst_addr": self.dst,
            "src_port": self.sport,
            "dst_port": self.dport,
        }[name]


def parse(index: int, data: bytes) -> Frame:
    """The fields of an Ethernet/IPv4 frame, by offset (no Scapy: an independent reading)."""
    assert data[12:14] == b"\x08\x00", f"frame {index} is not IPv4"
    ihl = (data[14] & 0x0F) * 4
    total_len, frag = struct.unpack_from("!H2xH", data, 16)
    proto = data[23]
    src, dst = struct.unpack_from("!II", data, 26)
    l4 = 14 + ihl
    sport = dport = flags = payload = 0
    if proto in (TCP, UDP):
        sport, dport = struct.unpack_from("!HH", data, l4)
    if proto == TCP:
        flags = data[l4 + 13]
        payload = total_len - ihl - (data[l4 + 12] >> 4) * 4
    fragment = bool(frag & 0x2000) or (frag & 0x1FFF) != 0
    return Frame(index, len(data), proto, src, dst, sport, dport, flags, fragment, payload)


TEN_8 = ipaddress.ip_network("10.0.0.0/8")


def _syn(f: Frame) -> bool:
    return f.proto == TCP and f.flags & (SYN | ACK) == SYN


# rules.yaml's match fields, read by hand: which frames each rule counts.
MATCHES: dict[str, Callable[[Frame], bool]] = {
    "ssh-by-source": lambda f: f.proto == TCP and f.dport == 22,
    "syn-from-10-by-source-port": lambda f: _syn(f) and ipaddress.ip_address(f.src) in TEN_8,
    "ddos-syn": _syn,
    "ddos-udp": lambda f: f.proto == UDP,
    "ddos-dns-response": lambda f: f.proto == UDP and f.sport == 53,
    "ddos-ntp": lambda f: f.proto == UDP and f.sport == 123,
    "ddos-ssdp": lambda f: f.proto == UDP and f.sport == 1900,
    "ddos-icmp": lambda f: f.proto == ICMP,
    "ipv4-fragments": lambda f: f.fragment,
}


def letters(frames: list[Frame]) -> str:
    """Zeek history letters of a one-directional group (stats.p4's rules, upper case)."""
    out = ""
    for f in frames:
        if f.proto != TCP or f.fragment:
            continue
        new = []
        if f.flags & SYN:
            new.append("H" if f.flags & ACK else "S")
        if f.flags & FIN:
            new.append("F")
        if f.flags & RST:
            new.append("R")
        if f.flags & (SYN | FIN | RST | ACK) == ACK and f.payload == 0:
            new.append("A")
        if f.payload:
            new.append("D")
        out += "".join(x for x in new if x not in out)
    return out


def group_key(rule: StatsRule, f: Frame) -> dict[str, Any]:
    """The record's "key": every field masked by the rule's group-by mask."""
    masks = dict(rule.group_by)
    key: dict[str, Any] = {}
    for field_name, key_name in KEY_NAMES.items():
        mask = masks.get(field_name, 0)
        if "ipv4" in key_name:
            mask >>= 96  # an address mask counts from the first bit: IPv4 takes the top 32
        value = f.field(field_name) & mask
        key[key_name] = str(ipaddress.ip_address(value)) if "ipv4" in key_name else value
    return key


@dataclass
class Expected:
    """One record the model predicts, on the frame with index `frame`."""

    frame: int
    fields: dict[str, Any]


def model_rule(
    rule: StatsRule, phases: list[list[Frame]], slot: int, pause_us: int
) -> list[Expected]:
    """Alerts and reports one rule's groups produce on the demo traffic."""
    out: list[Expected] = []
    ident = {"rule": rule.name, "rule_slot": slot, "rule_id": rule.rule_id}
    previous: dict[str, list[Frame]] = {}
    for phase in phases:
        groups: dict[str, list[Frame]] = {}
        for f in filter(MATCHES[rule.name], phase):
            key = group_key(rule, f)
            gid = json.dumps(key, sort_keys=True)
            # first packet of a group after its interval passed: the report rides on it
            if gid not in groups and gid in previous and 0 < rule.interval_us <= pause_us:
                counted = previous[gid]
                report = {
                    "type": "counter_report",
                    "report_reason": "INTERVAL",
                    "key": key,
                    "packets": len(counted),
                    "bytes": sum(x.length for x in counted),
                    "history": letters(counted),
                }
                out.append(Expected(f.index, report | ident))
            members = groups.setdefault(gid, [])
            members.append(f)
            packets, nbytes = len(members), sum(x.length for x in members)
            for kind, value, threshold, before in (
                ("PACKETS", packets, rule.packet_threshold, packets - 1),
                ("BYTES", nbytes, rule.byte_threshold, nbytes - f.length),
            ):
                if threshold and before < threshold <= value:  # once per crossing
                    alert = {
                        "type": "threshold_alert",
                        "threshold_kind": kind,
                        "key": key,
                        "value": value,
                        "threshold": threshold,
                    }
                    out.append(Expected(f.index, alert | ident))
        previous = groups
    return out


def model(
    phases: list[list[Frame]], rules: list[StatsRule], slots: dict[str, int], pause_us: int
) -> list[Expected]:
    """Every record, in the order watch prints them (frame, then type, then slot)."""
    out = [e for r in rules for e in model_rule(r, phases, slots[r.name], pause_us)]
    return sorted(out, key=lambda e: (e.frame, e.fields["type"], e.fields["rule_slot"]))


@pytest.fixture(scope="module")
def as_root() -> None:
    """Skip the tests that run the demo unless we are root."""
    skip_unless_root()


@pytest.fixture(scope="module")
def demo(
    as_root: None, switch_lock: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Run scripts/demo.sh once (we hold the lock, so it must not take it again)."""
    out_dir = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "P4NIDS_LOCK_HELD": "1", "DEMO_DIR": str(out_dir)}
    proc = subprocess.run(
        [str(ROOT / "scripts" / "demo.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    return {"dir": out_dir, "output": proc.stdout}


@pytest.fixture(scope="module")
def phases(demo: dict[str, Any]) -> list[list[Frame]]:
    """The replayed traffic, parsed, split into its two bursts."""
    records = traffic.read(demo["dir"] / "demo-traffic.pcap")
    out: list[list[Frame]] = []
    i = 0
    for part in traffic.phases(records):
        out.append([parse(i + j, data) for j, data in enumerate(part)])
        i += len(part)
    assert len(out) == 2
    return out


def _records(demo: dict[str, Any]) -> list[dict[str, Any]]:
    path: Path = demo["dir"] / "demo-records.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _installed(demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    state = json.loads((demo["dir"] / "controlplane-state.json").read_text())
    return {r["name"]: r for r in state["rules"]}


def _expected(demo: dict[str, Any], phases: list[list[Frame]]) -> list[Expected]:
    rules, problems = load_rules(ROOT / "rules.yaml")
    assert problems == []
    installed = _installed(demo)
    assert {n: r["rule_id"] for n, r in installed.items()} == {
        r.name: r.rule_id for r in rules.stats
    }
    slots = {n: r["slot"] for n, r in installed.items()}
    return model(phases, list(rules.stats), slots, int(traffic.TRAILER_DELAY_S * 1e6))


def test_model_covers_rules_yaml() -> None:
    rules, problems = load_rules(ROOT / "rules.yaml")
    assert problems == []
    assert sorted(MATCHES) == sorted(r.name for r in rules.stats), "update MATCHES for rules.yaml"


def test_expected_alerts_are_rules_yaml_thresholds(
    demo: dict[str, Any], phases: list[list[Frame]]
) -> None:
    """What the demo is for, spelt out: the flood crosses these rules.yaml thresholds."""
    rules, _ = load_rules(ROOT / "rules.yaml")
    by_rule = {r.name: r for r in rules.stats}
    expected = _expected(demo, phases)
    alerts = [e.fields for e in expected if e.fields["type"] == "threshold_alert"]
    victim = {"ipv4_dst": traffic.VICTIM}
    assert [(a["rule"], a["threshold_kind"], a["threshold"]) for a in alerts] == [
        ("ddos-ntp", "PACKETS", by_rule["ddos-ntp"].packet_threshold),
        ("ddos-dns-response", "BYTES", by_rule["ddos-dns-response"].byte_threshold),
        ("ddos-icmp", "BYTES", by_rule["ddos-icmp"].byte_threshold),
    ]
    for a in alerts:
        assert {k: v for k, v in a["key"].items() if v not in (0, "0.0.0.0")} == victim
    reports = [e.fields["rule"] for e in expected if e.fields["type"] == "counter_report"]
    assert reports == ["ddos-udp", "ddos-ntp", "ddos-dns-response", "ddos-icmp", "ddos-syn"]


def test_records_exact(demo: dict[str, Any], phases: list[list[Frame]]) -> None:
    expected = _expected(demo, phases)
    got = _records(demo)
    timing = {"ts", "header", "interval_start", "interval_end"}
    assert [{k: v for k, v in r.items() if k not in timing} for r in got] == [
        e.fields for e in expected
    ]
    # Records of one frame share its header; the frames carrying them are the predicted ones.
    frames_got: list[int] = []
    last = None
    for r in got:
        here = (r["ts"], r["header"]["timestamp"])
        if here != last:
            frames_got.append(1)
        else:
            frames_got[-1] += 1
        last = here
    frames_expected: dict[int, int] = {}
    for e in expected:
        frames_expected[e.frame] = frames_expected.get(e.frame, 0) + 1
    assert frames_got == list(frames_expected.values())
    for r in got:
        assert r["header"] == {
            "version": 1,
            "flags": [],
            "device_id": 1,
            "timestamp": r["header"]["timestamp"],
            "orig_ethertype": 0x0800,
        }
    n_frames = sum(map(len, phases))
    assert (
        f"watch: {n_frames} packets, {len(frames_expected)} with a feedback header, "
        f"{len(expected)} records, 0 malformed" in demo["output"]
    )


def test_record_times_consistent(demo: dict[str, Any]) -> None:
    """Switch times: alerts and reports of a group share the interval, which lasted < 1 s."""
    got = _records(demo)
    starts: dict[str, int] = {}
    for r in got:
        now = r["header"]["timestamp"]
        if r["type"] == "threshold_alert":
            assert r["interval_start"] <= now < r["interval_start"] + 1_000_000
            starts[r["rule"]] = r["interval_start"]
    for r in got:
        if r["type"] == "counter_report":
            assert r["interval_start"] <= r["interval_end"] < r["interval_start"] + 1_000_000
            # reported on a packet after the interval passed
            assert r["header"]["timestamp"] - r["interval_start"] >= 1_000_000
            if r["rule"] in starts:
                assert r["interval_start"] == starts[r["rule"]]
    assert len(starts) == 3


def test_monitor_got_every_frame_unchanged(demo: dict[str, Any]) -> None:
    sent = [data for _, data in traffic.read(demo["dir"] / "demo-traffic.pcap")]
    got = [data for _, data in traffic.read(demo["dir"] / "demo-monitor.pcap")]
    assert len(got) == len(sent)
    assert got == sent


def test_status_counts_every_rule(demo: dict[str, Any], phases: list[list[Frame]]) -> None:
    """The per-rule direct counters, Figure 1 rules included (their reports come at 60 s)."""
    rules, _ = load_rules(ROOT / "rules.yaml")
    slots = {n: r["slot"] for n, r in _installed(demo).items()}
    every = [f for phase in phases for f in phase]
    table = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)$", demo["output"], re.M)
    got = {name: (int(slot), int(rid), int(p), int(b)) for slot, rid, name, p, b in table}
    want = {}
    for r in rules.stats:
        counted = [f for f in every if MATCHES[r.name](f)]
        want[r.name] = (slots[r.name], r.rule_id, len(counted), sum(f.length for f in counted))
    assert got == want
    assert want["ssh-by-source"][2] == 5  # 4 client packets of the session + the scan's port 22
    assert want["syn-from-10-by-source-port"][2] == len(traffic.SCAN_PORTS) + 1


def _position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the only occurrence of `needle`."""
    assert text.count(needle) == 1, needle
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def test_broken_rules_refused_precisely_and_switch_unchanged(
    demo: dict[str, Any], phases: list[list[Frame]]
) -> None:
    path = demo["dir"] / "demo-broken-rules.yaml"
    text = path.read_text()
    l1, c1 = _position(text, "dst_prot")
    l2, c2 = _position(text, "1Mb")
    rules, _ = load_rules(ROOT / "rules.yaml")
    index = {r.name: r.index for r in rules.stats}
    out = demo["output"]
    expected = [
        f"{path}:{l1}:{c1}: stats[{index['ssh-by-source']}].match.dst_prot: unknown field "
        "'dst_prot' (did you mean 'dst_port'?)",
        f"{path}:{l2}:{c2}: stats[{index['ddos-ntp']}].thresholds.bytes: '1Mb': thresholds "
        "count bytes; write MB",
        f"2 errors in {path}",
        "exit status 2",
    ]
    start = out.index(f"$ python -m controlplane install {path}")
    assert out[start:].splitlines()[1:5] == expected
    before = (demo["dir"] / "demo-entries-before.txt").read_text()
    after = (demo["dir"] / "demo-entries-after.txt").read_text()
    assert before == after
    # 9 rules + 1 monitor port, with their counters (a re-insert would reset them)
    entries = [line for line in before.splitlines() if not line.startswith("#")]
    assert len(entries) == len(rules.stats) + len(rules.monitor)
    every = [f for phase in phases for f in phase]
    busy = [r for r in rules.stats if any(map(MATCHES[r.name], every))]
    assert sum("packet_count" in e for e in entries) == len(busy) == 7


def test_demo_stopped_the_switch(demo: dict[str, Any]) -> None:
    m = re.search(r"switch running: pid (\d+)", demo["output"])
    assert m is not None
    try:
        stat = Path(f"/proc/{m.group(1)}/stat").read_text()
    except FileNotFoundError:
        stat = ""
    # gone, or a zombie its new parent has not reaped yet (as switchctl.sh counts it)
    assert stat == "" or stat.rsplit(")", 1)[1].split()[0] == "Z", stat
    assert demo["output"].rstrip().endswith("demo: OK")
