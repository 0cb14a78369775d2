"""Scale of the controller: `check` and `install` of a 10,000-rule file on softswitch.

    python -m bench.rules_scale [--rules 10000] [--address 127.0.0.1:9593] [--write-results]

Writes a rules file of N pairwise disjoint stats rules (TCP to 10.x.y.z/32, ports
1024..65535, group by source, 60 s interval) and a monitor port, compiles
p4src/main.p4 with `-D STATS_RULES_PER_SLOT=N/4` (four slots hold the N rules), starts
`softswitch run --no-p4` on a loopback port of its own (never 9559, the shared switch),
pushes the pipeline, and times, each as the user runs it (`python -m controlplane ...`,
interpreter start included):

- `check FILE --p4info P4INFO` (validation, placement, capability check);
- `install FILE` into the empty switch (N + 1 INSERTs in one Write);
- `install FILE` again (Read of every entry, diff, nothing to write);
- `install` of the file with 100 rules changed (one Write of 100 MODIFYs).

Stops the switch by its PID. Prints the figures; with --write-results, also puts them
into bench/RESULTS.md (the section between the rules_scale markers, replaced each run)
with the machine description of bench/machine.py. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.install_rate import start_switch, stop_switch
from bench.machine import describe as describe_machine
from controlplane.p4rt import P4RuntimeSwitch

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "p4src" / "main.p4"
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- rules_scale: begin -->", "<!-- rules_scale: end -->"
SHARED_SWITCH_PORT = 9559


NOTES = [
    "Where the time goes (cProfile of the controller, 10,000 rules): reading, validating",
    "and placing the rules takes about 3 s, placement itself under 0.5 s (the overlap",
    "index compares each rule with the few whose match box meets its own, fewer than",
    "10,000 exact comparisons in all). The rest of an install is P4Runtime with",
    "pure-Python protobuf on both ends: building the 10,001 TableEntry messages (about",
    "a third of a no-change install) and the switch answering the Read of 10,001",
    "entries (about half); the first install's Write is the switch converting 10,001",
    "INSERTs. The two cores were shared with other jobs, so figures vary between runs.",
]


def rules_file(n: int, changed: int = 0) -> str:
    """N disjoint rules; the first `changed` with another interval."""
    out = ["monitor:\n  port: 1\n  ingress_ports: [0]\n", "stats:\n"]
    for i in range(n):
        a = 0x0A000000 + i + 1
        dst = f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"
        interval = "30s" if i < changed else "60s"
        out.append(
            f"  - name: r{i}\n"
            f"    match: {{protocol: tcp, dst_addr: {dst}, dst_port: 1024..65535}}\n"
            f"    group_by: [src_addr]\n    interval: {interval}\n"
        )
    return "".join(out)


def timed(cmd: list[str], expect: str) -> float:
    """Wall time of `python -m controlplane CMD`; its output must contain `expect`."""
    start = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "controlplane", *cmd],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if r.returncode != 0 or expect not in r.stdout:
        raise SystemExit(f"controlplane {cmd[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return elapsed


def write_results(section: str) -> None:
    """Replace (or append) the rules_scale section of bench/RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{section.rstrip()}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Measure check and install of --rules rules; print (and write) the figures."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.rules_scale", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--rules", type=int, default=10_000, help="rules in the file (10000)")
    ap.add_argument("--address", default="127.0.0.1:9593", help="loopback HOST:PORT for the switch")
    ap.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    args = ap.parse_args(argv)
    if args.address.rsplit(":", 1)[-1] == str(SHARED_SWITCH_PORT):
        raise SystemExit(f"{args.address}: port {SHARED_SWITCH_PORT} belongs to the shared switch")
    n = args.rules
    per_slot = -(-n // 4)
    from softswitch.cli import compile_program

    p4info, config = compile_program(PROGRAM, defines={"STATS_RULES_PER_SLOT": str(per_slot)})
    from google.protobuf import text_format

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rules-scale-") as tmp:
        d = Path(tmp)
        (d / "p4info.txtpb").write_text(text_format.MessageToString(p4info), encoding="utf-8")
        rules = d / "rules.yaml"
        rules.write_text(rules_file(n), encoding="utf-8")
        changed = d / "changed.yaml"
        changed.write_text(rules_file(n, changed=100), encoding="utf-8")
        size_mb = rules.stat().st_size / 1e6
        figures["check"] = timed(
            ["check", str(rules), "--p4info", str(d / "p4info.txtpb")], f"{n + 1} table entries"
        )
        proc = start_switch(args.address, d / "switch.log")
        try:
            with P4RuntimeSwitch(args.address, device_id=1, timeout_s=30) as sw:
                sw.become_primary()
                sw.set_pipeline(p4info, config)
            common = ["--address", args.address, "--state", str(d / "state.json")]
            common += ["--timeout", "30"]
            figures["install"] = timed(
                ["install", str(rules), *common], f"installed in one Write: {n + 1} added"
            )
            figures["again"] = timed(["install", str(rules), *common], "no changes")
            figures["changed"] = timed(
                ["install", str(changed), *common], "installed in one Write: 0 added, 100 modified"
            )
        finally:
            stop_switch(proc)
    machine = describe_machine()
    rows = [
        ("`check FILE --p4info P4INFO`", figures["check"]),
        (f"`install FILE`, empty switch ({n + 1:,} INSERTs, one Write)", figures["install"]),
        ("`install FILE` again (Read, diff, nothing to write)", figures["again"]),
        ("`install` with 100 rules changed (100 MODIFYs, one Write)", figures["changed"]),
    ]
    section = "\n".join(
        [
            f"## Controller scale: {n:,} rules (`python -m bench.rules_scale`)",
            "",
            f"Machine: {machine}.",
            "",
            f"A {size_mb:.1f} MB rules file of {n:,} pairwise disjoint stats rules (TCP, "
            "`dst_addr` /32, `dst_port` 1024..65535, group by source) and one monitor port;",
            f"`p4src/main.p4` compiled with `-D STATS_RULES_PER_SLOT={per_slot}`; `softswitch "
            "run --no-p4` on its own loopback port. Wall time of each command as a user runs "
            "it (`python -m controlplane ...`, interpreter start included), one run each.",
            "",
            "| command | seconds |",
            "|---|---:|",
            *(f"| {name} | {sec:.1f} |" for name, sec in rows),
            "",
            *NOTES,
        ]
    )
    print(section)
    if args.write_results:
        write_results(section)
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
