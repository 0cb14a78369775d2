#!/usr/bin/env bash
# Delete the veth pairs created by veth_setup.sh (deleting one end removes its peer).
# Usage: veth_teardown.sh [SWITCH_IFACE:PEER_IFACE ...]   (default: every pair in topology.json)
# Missing interfaces are not an error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

ends=()
if [ "$#" -gt 0 ]; then
    for p in "$@"; do ends+=("${p%%:*}"); done
else
    while IFS= read -r line; do ends+=("${line%% *}"); done \
        < <(python3 "$here/../scripts/topology.py" pairs)
fi

for a in "${ends[@]}"; do
    if ip link show "$a" >/dev/null 2>&1; then
        ip link delete "$a"
    fi
done
