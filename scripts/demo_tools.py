"""Helpers of scripts/demo.sh: summarise watch's records, snapshot entries, break rules.

    demo_tools.py summary run/demo-records.jsonl
    demo_tools.py entries run/demo-entries-before.txt [--address 127.0.0.1:9559]
    demo_tools.py break-rules rules.yaml run/demo-broken-rules.yaml
    demo_tools.py same-frames run/demo-traffic.pcap run/demo-monitor.pcap

`entries` reads every table the controller owns (the stats slots and monitor_ports)
over P4Runtime, with the direct counters, and writes them in a canonical text form,
so two snapshots are byte-equal exactly when the switch holds the same entries (a
delete + re-insert would show as reset counters). `break-rules` writes a copy of the
rules file with two mistakes and one valid change (BREAKS). `same-frames` checks that
the monitor got every replayed frame, unchanged once watch stripped the header.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from google.protobuf import text_format

# (text in rules.yaml, replacement, what it demonstrates); each must occur exactly once
BREAKS = (
    ("      dst_port: 22\n", "      dst_prot: 22\n", "a misspelt field"),
    ("    thresholds: {packets: 5k, bytes: 1MB}", "    thresholds: {packets: 10k, bytes: 1MB}",
     "a valid change (ddos-syn packets 5k -> 10k)"),
    ("    thresholds: {packets: 1k, bytes: 1MB}\n\n  - name: ddos-ssdp",
     "    thresholds: {packets: 1k, bytes: 1Mb}\n\n  - name: ddos-ssdp",
     "megabits where bytes are counted"),
)  # fmt: skip


def load_records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines `watch --json-out` wrote."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _key(rec: dict[str, Any]) -> str:
    key = rec.get("key") or {}
    parts = [f"{k}={v}" for k, v in key.items() if v not in (0, "0.0.0.0")]
    return " ".join(parts) or "(all)"


def summary(records: list[dict[str, Any]]) -> list[str]:
    """Lines: records by type, then one line per alert and per report."""
    by_type = Counter(str(r.get("type")) for r in records)
    out = [f"{len(records)} feedback records: " + ", ".join(f"{n} {t}" for t, n in by_type.items())]
    for r in records:
        rule = f"{r.get('rule') or '?'} (slot {r.get('rule_slot')}, id {r.get('rule_id')})"
        if r.get("type") == "threshold_alert":
            out.append(
                f"  ALERT   {rule:<34} {_key(r):<22} {r['threshold_kind']:<7} "
                f"{r['value']:>9} >= threshold {r['threshold']}"
            )
        elif r.get("type") == "counter_report":
            secs = (r["interval_end"] - r["interval_start"]) / 1e6
            hist = f", history {r['history']}" if r.get("history") else ""
            out.append(
                f"  REPORT  {rule:<34} {_key(r):<22} {r['packets']:>5} packets "
                f"{r['bytes']:>9} bytes in {secs:.3f} s{hist}"
            )
        else:
            out.append(f"  {str(r.get('type')).upper():<7} {rule} {_key(r)}")
    return out


def snapshot(address: str, device_id: int, timeout_s: float) -> tuple[str, int]:
    """(canonical text, number of entries) of every table the controller owns."""
    from controlplane.capabilities import discover
    from controlplane.compile import managed_tables
    from controlplane.errors import SwitchError
    from controlplane.p4info import P4Schema
    from controlplane.p4rt import P4RuntimeSwitch

    parts: list[str] = []
    total = 0
    with P4RuntimeSwitch(address, device_id, timeout_s=timeout_s) as sw:
        p4info = sw.get_p4info()
        if p4info is None:
            raise SwitchError(f"the switch at {address} has no pipeline")
        schema = P4Schema(p4info)
        for name in managed_tables(schema, discover(schema).n_slots):
            entries = sorted(
                text_format.MessageToString(e, as_one_line=True)
                for e in sw.read_table(schema.table(name).id, with_counters=True)
            )
            total += len(entries)
            parts.append(f"# {name}: {len(entries)} entries\n" + "".join(e + "\n" for e in entries))
    return "".join(parts), total


def break_rules(src: Path, dst: Path) -> list[str]:
    """Write `src` with BREAKS applied to `dst`; returns what each change shows."""
    text = src.read_text(encoding="utf-8")
    for old, new, _ in BREAKS:
        if text.count(old) != 1:
            raise ValueError(f"{src}: expected {old!r} exactly once; update demo_tools.BREAKS")
        text = text.replace(old, new)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")
    return [what for _, _, what in BREAKS]


def frames_of(path: Path) -> list[bytes]:
    """The frames of a pcap/pcapng file."""
    from pktio.pcap import open_capture

    with open_capture(path) as cap:
        return [rec.data for rec in cap]


def same_frames(sent: Path, got: Path) -> str | None:
    """None if both captures hold the same frames in the same order, else the difference."""
    a, b = frames_of(sent), frames_of(got)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"frame {i + 1} differs ({len(x)} bytes sent, {len(y)} received)"
    if len(a) != len(b):
        return f"{len(a)} frames sent, {len(b)} received"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("summary", help="summarise watch's JSON lines").add_argument(
        "records", type=Path
    )
    p = sub.add_parser("entries", help="snapshot the controller's tables to FILE")
    p.add_argument("out", type=Path)
    p.add_argument("--address", default="127.0.0.1:9559")
    p.add_argument("--device-id", type=int, default=1)
    p.add_argument("--timeout", type=float, default=5.0)
    p = sub.add_parser("break-rules", help="write a broken copy of a rules file")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p = sub.add_parser("same-frames", help="compare the frames of two captures")
    p.add_argument("sent", type=Path)
    p.add_argument("got", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "summary":
        print("\n".join(summary(load_records(args.records))))
    elif args.cmd == "entries":
        from controlplane.errors import ControllerError

        try:
            text, n = snapshot(args.address, args.device_id, args.timeout)
        except ControllerError as e:
            print(f"demo_tools: {e}", file=sys.stderr)
            return 1
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        print(f"{n} entries (with counters) in {args.out}, sha256 {digest}")
    elif args.cmd == "same-frames":
        problem = same_frames(args.sent, args.got)
        if problem is not None:
            print(f"demo_tools: {args.got} vs {args.sent}: {problem}", file=sys.stderr)
            return 1
        n = len(frames_of(args.sent))
        print(f"{args.got}: the monitor got all {n} frames of {args.sent}, byte for byte")
    else:
        for what in break_rules(args.src, args.dst):
            print(f"{args.dst}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
