"""One scenario run: network up, servers, capture, subscenarios, labels, network down.

A run writes `OUT/<scenario>-<seed>.pcap` (tcpdump in the path namespace) and
`OUT/<scenario>-<seed>.labels.json`:

    {"scenario": ..., "seed": ..., "shaping": {...} | null,
     "subscenarios": [{"name", "start", "end", "label", "role", "expect"}],
     "connections": [{"scenario", "subscenario", "label", "role", "proto", "orig_h",
                      "orig_p", "resp_h", "resp_p", "start", "end", "orig_pkts",
                      "resp_pkts", "orig_bytes", "resp_bytes", "answered"}]}

Times are the capture's (seconds since the epoch). Each connection in the capture belongs
to the subscenario during whose window it started (subscenarios run one after another,
with a pause between them); `role` is its originator's role (client, scanner, attacker,
reflector) and `label` benign or attack.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scenarios import flows
from scenarios.hosts import Background, Network, Site, missing_programs, require_root
from scenarios.shaping import Shaping

SETTLE_S = 0.3  # pause after the capture starts, between subscenarios and before it stops


@dataclass
class Subscenario:
    """A window of the run and what its connections are."""

    name: str
    label: str  # "benign" or "attack"
    role: str  # the originators' role
    expect: dict[str, int]  # "tcp/80" -> connections; "tcp/*": any responder port
    start: float = 0.0
    end: float = 0.0


@dataclass
class Run:
    """What a scenario's steps get: the network, a seeded RNG, a scratch directory."""

    scenario: str
    seed: int
    net: Network
    work: Path
    rng: random.Random
    subs: list[Subscenario] = field(default_factory=list)

    @contextmanager
    def sub(self, name: str, label: str, role: str, expect: dict[str, int]) -> Iterator[None]:
        """Run the body as subscenario `name`; its window is the body's wall time."""
        s = Subscenario(name, label, role, dict(expect), start=time.time())
        try:
            yield
        finally:
            time.sleep(SETTLE_S)
            s.end = time.time()
            self.subs.append(s)

    @property
    def site(self) -> Site:
        """The network's names and addresses."""
        return self.net.site

    def server(self, name: str, ns: str, cmd: list[str]) -> Background:
        """Start a server process for the rest of the run."""
        return self.net.start(name, ns, cmd)


@dataclass(frozen=True)
class Scenario:
    """A scenario: its programs (checked before the run) and its body."""

    name: str
    programs: tuple[str, ...]
    body: Callable[[Run], None]
    doc: str


def _capture(net: Network, pcap: Path) -> Background:
    bg = net.start(
        "tcpdump",
        net.site.path_ns,
        [
            "tcpdump",
            "-i",
            net.site.client_path_if,
            "-n",
            "-s",
            "0",
            "-U",
            "--immediate-mode",
            "-w",
            str(pcap),
        ],
    )
    deadline = time.monotonic() + 10
    while b"listening on" not in bg.log.read_bytes():
        if bg.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"tcpdump did not start: {bg.log.read_text(errors='replace')}")
        time.sleep(0.02)
    return bg


def label_connections(
    conns: list[flows.Connection], subs: list[Subscenario], scenario: str
) -> list[dict[str, Any]]:
    """Each connection with the subscenario it started in (or the last one before it)."""
    out = []
    ordered = sorted(subs, key=lambda s: s.start)
    for c in conns:
        t = c.start_ns / 1e9
        owner = ordered[0]
        for s in ordered:
            if s.start <= t:
                owner = s
        out.append(
            {
                "scenario": scenario,
                "subscenario": owner.name,
                "label": owner.label,
                "role": owner.role,
                **c.to_dict(),
            }
        )
    return out


def run_scenario(
    sc: Scenario, seed: int, out: Path, shaping: Shaping | None = None, site: Site | None = None
) -> Path:
    """Run `sc` once with `seed` on `site` (default 1); returns the label file (the pcap is
    beside it)."""
    require_root()
    missing = missing_programs(sc.programs)
    if missing:
        raise SystemExit(
            f"scenario {sc.name}: missing programs {', '.join(missing)} (make setup installs them)"
        )
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{sc.name}-{seed}"
    pcap, labels = out / f"{stem}.pcap", out / f"{stem}.labels.json"
    work = Path(tempfile.mkdtemp(prefix=f"scn-{sc.name}-"))
    work.chmod(0o755)
    net = Network(work, site or Site())
    try:
        net.up()
        if shaping is not None and shaping.active:
            shaping.start(net, seed)
        cap = _capture(net, pcap)
        time.sleep(SETTLE_S)
        r = Run(sc.name, seed, net, work, random.Random(f"{sc.name}/{seed}"))
        sc.body(r)
        time.sleep(SETTLE_S)
        cap.stop(signal.SIGINT)
        net.procs.remove(cap)
    finally:
        net.down()  # stops the relay, which then writes its statistics
        stats_file = work / "relay-stats.json"
        relay_stats = json.loads(stats_file.read_text()) if stats_file.exists() else None
        shutil.rmtree(work, ignore_errors=True)
    conns = flows.connections(flows.packets(pcap))
    doc = {
        "scenario": sc.name,
        "seed": seed,
        "site": net.site.index,
        "pcap": pcap.name,
        "shaping": asdict(shaping) if shaping is not None and shaping.active else None,
        "relay": relay_stats,
        "subscenarios": [asdict(s) for s in r.subs],
        "connections": label_connections(conns, r.subs, sc.name),
    }
    labels.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return labels
