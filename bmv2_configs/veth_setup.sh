#!/usr/bin/env bash
# Create the veth pairs of bmv2_configs/topology.json (veth0<->veth1, veth2<->veth3, ...),
# as p4lang/tutorials does for BMv2: MTU 9500, IPv6 off, offloads off so the switch sees the
# same frames the peer sent (no GSO/TSO super-frames, real checksums).
# Usage: veth_setup.sh [SWITCH_IFACE:PEER_IFACE ...]   (default: every pair in topology.json)
# Idempotent: existing pairs are left alone. Needs root (CAP_NET_ADMIN).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mtu=${VETH_MTU:-9500}

pairs=()
if [ "$#" -gt 0 ]; then
    for p in "$@"; do pairs+=("${p%%:*} ${p#*:}"); done
else
    while IFS= read -r line; do pairs+=("$line"); done \
        < <(python3 "$here/../scripts/topology.py" pairs)
fi

for pair in "${pairs[@]}"; do
    read -r a b <<<"$pair"
    if ! ip link show "$a" >/dev/null 2>&1; then
        ip link add name "$a" type veth peer name "$b"
    fi
    for intf in "$a" "$b"; do
        ip link set dev "$intf" mtu "$mtu"
        ip link set dev "$intf" up
        if [ -w "/proc/sys/net/ipv6/conf/$intf/disable_ipv6" ]; then
            # Router solicitations would otherwise show up as stray packets in tests.
            echo 1 >"/proc/sys/net/ipv6/conf/$intf/disable_ipv6"
        fi
        if command -v ethtool >/dev/null 2>&1; then
            for off in rx tx sg tso ufo gso gro lro rxvlan txvlan rxhash; do
                ethtool --offload "$intf" "$off" off >/dev/null 2>&1 || true
            done
        fi
    done
done
