"""Print pieces of bmv2_configs/topology.json for shell glue (Makefile, run.sh, veth scripts).

Usage: topology.py [--file F] {switch-args,ptf-args,pairs,get KEY}
  switch-args  `-i 0@veth0 -i 1@veth2` for simple_switch_grpc / softswitch run
  ptf-args     `-i 0@veth1 -i 1@veth3` for ptf (the test side of each pair)
  pairs        one `switch_iface peer_iface` line per port, for veth_setup.sh
  get KEY      a top-level scalar (device_id, cpu_port, grpc_addr, mtu)

Standard library only: veth_setup.sh may run before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT = Path(__file__).resolve().parent.parent / "bmv2_configs" / "topology.json"


def load(path: Path) -> dict[str, Any]:
    """Read and minimally validate the topology file."""
    topo: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for p in topo["ports"]:
        if not {"port", "switch_iface", "peer_iface"} <= p.keys():
            raise ValueError(f"{path}: port entry {p} needs port, switch_iface, peer_iface")
    return topo


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("what", choices=["switch-args", "ptf-args", "pairs", "get"])
    ap.add_argument("key", nargs="?")
    args = ap.parse_args(argv)
    topo = load(args.file)
    ports = topo["ports"]
    if args.what == "switch-args":
        print(" ".join(f"-i {p['port']}@{p['switch_iface']}" for p in ports))
    elif args.what == "ptf-args":
        print(" ".join(f"-i {p['port']}@{p['peer_iface']}" for p in ports))
    elif args.what == "pairs":
        for p in ports:
            print(p["switch_iface"], p["peer_iface"])
    else:
        if args.key not in topo or isinstance(topo[args.key], dict | list):
            print(f"topology.py: no scalar key {args.key!r} in {args.file}", file=sys.stderr)
            return 2
        print(topo[args.key])
    return 0


if __name__ == "__main__":
    sys.exit(main())
