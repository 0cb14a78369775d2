#!/usr/bin/env bash
# End-to-end demo: build, run the switch, install rules.yaml, replay demo traffic into
# port 0 while `watch` decodes the monitor port, summarise the records, show that a
# malformed rules file is refused with file:line:col errors and leaves the switch's
# entries exactly as they were, stop the switch.
#
#   sudo scripts/demo.sh
#
# Needs root (veths, raw sockets). Holds /tmp/p4nids-switch.lock for the whole run,
# unless a parent process holds it (flock ... scripts/demo.sh) or P4NIDS_LOCK_HELD=1
# says the caller does (tests/e2e). Files, in DEMO_DIR (default run/):
# demo-traffic.pcap, demo-records.jsonl (watch's JSON lines), demo-monitor.pcap (the
# monitor's traffic with the feedback headers stripped), demo-watch.log,
# demo-broken-rules.yaml, demo-entries-{before,after}.txt; the controller's state file
# is DEMO_DIR/controlplane-state.json (with run/, the controller's default).
# Environment: VENV (.venv), DEMO_DIR (run), WATCH_TIMEOUT (seconds, 30).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lock=/tmp/p4nids-switch.lock

die() { echo "demo: $*" >&2; exit 1; }

# A process above us holds the lock (`flock /tmp/p4nids-switch.lock scripts/demo.sh`):
# taking it again would wait for ever.
lock_held_above() {
    local inode pid holders
    inode=$(stat -c %i "$lock" 2>/dev/null) || return 1
    holders=$(awk -v ino="$inode" '$2 == "FLOCK" { n = split($6, a, ":"); if (a[n] == ino) print $5 }' \
        /proc/locks)
    pid=$$
    while [ "$pid" -gt 1 ]; do
        grep -qx "$pid" <<<"$holders" && return 0
        pid=$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    done
    return 1
}

[ "$(id -u)" = 0 ] || die "needs root (it creates veths and opens raw sockets): sudo $0"
if [ "${P4NIDS_LOCK_HELD:-}" != 1 ] && ! lock_held_above; then
    if ! flock -n "$lock" true; then
        echo "demo: waiting for $lock (another switch run holds it)" >&2
    fi
    exec env P4NIDS_LOCK_HELD=1 flock "$lock" "$0" "$@"
fi

venv=${VENV:-.venv}
py=$venv/bin/python
dir=${DEMO_DIR:-run}
watch_timeout=${WATCH_TIMEOUT:-30}
pcap=$dir/demo-traffic.pcap
records=$dir/demo-records.jsonl
stripped=$dir/demo-monitor.pcap
state=()  # the controller's default state file is run/controlplane-state.json
[ "$dir" = run ] || state=(--state "$dir/controlplane-state.json")
shown=${state[*]:+ ${state[*]}}  # the state option as the headings show it
grpc_addr=$(python3 scripts/topology.py get grpc_addr)
peer_of() { python3 scripts/topology.py ptf-args | tr ' ' '\n' | sed -n "s/^$1@//p"; }
in_if=$(peer_of 0)   # traffic enters switch port 0 (veth0) from its peer
mon_if=$(peer_of 1)  # the monitor (rules.yaml: monitor.port 1) listens on port 1's peer
mkdir -p "$dir"

step() { printf '\n==> %s\n' "$*"; }

switch_started=0
watch_pid=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local rc=$?
    if [ -n "$watch_pid" ] && kill -0 "$watch_pid" 2>/dev/null; then
        kill "$watch_pid" 2>/dev/null || true
    fi
    if [ "$switch_started" = 1 ]; then
        make --no-print-directory stop VENV="$venv" >/dev/null 2>&1 || true
    fi
    [ "$rc" = 0 ] || echo "demo: FAILED (exit $rc)" >&2
    exit "$rc"
}
trap cleanup EXIT

# A packet socket bound to interface $1 exists: watch is capturing.
capturing() {
    local idx
    idx=$(cat "/sys/class/net/$1/ifindex")
    awk -v idx="$idx" 'NR > 1 && $5 == idx { found = 1 } END { exit !found }' /proc/net/packet
}

if "$py" scripts/wait_grpc.py --addr "$grpc_addr" --timeout 0.5 >/dev/null 2>&1; then
    die "something already answers P4Runtime on $grpc_addr (a switch from 'make run'?" \
        "stop it with 'make stop')"
fi

step "make build"
make --no-print-directory build VENV="$venv" | tail -n 1
step "make run"
switch_started=1
make --no-print-directory run VENV="$venv" | tail -n 1

step "python -m controlplane install rules.yaml$shown"
"$py" -m controlplane install rules.yaml "${state[@]}"

step "traffic: $pcap"
"$py" scripts/demo_traffic.py write "$pcap"
frames=$("$py" scripts/demo_traffic.py count "$pcap")

step "python -m controlplane watch --interface $mon_if --count $frames --json-out $records" \
    "--strip-pcap $stripped$shown &"
"$py" -m controlplane watch --interface "$mon_if" --count "$frames" --timeout "$watch_timeout" \
    --json-out "$records" --strip-pcap "$stripped" "${state[@]}" 2>"$dir/demo-watch.log" &
watch_pid=$!
for ((i = 0; i < 100; i++)); do
    capturing "$mon_if" && break
    kill -0 "$watch_pid" 2>/dev/null || { cat "$dir/demo-watch.log" >&2; die "watch exited"; }
    sleep 0.1
done
capturing "$mon_if" || die "watch did not start capturing on $mon_if within 10 s"
echo "watch (pid $watch_pid) is capturing on $mon_if"

step "replay $pcap into switch port 0 (sent on $in_if)"
"$py" scripts/demo_traffic.py send "$pcap" --iface "$in_if"
rc=0
wait "$watch_pid" || rc=$?
watch_pid=
cat "$dir/demo-watch.log"
[ "$rc" = 0 ] || die "watch failed (exit $rc)"

"$py" scripts/demo_tools.py same-frames "$pcap" "$stripped"

step "decoded records ($records)"
"$py" scripts/demo_tools.py summary "$records"

step "python -m controlplane status$shown   (per-rule counters)"
"$py" -m controlplane status "${state[@]}" | sed -n '/^rules/,/^$/p' | sed '$d'

step "a malformed rules file: $dir/demo-broken-rules.yaml"
"$py" scripts/demo_tools.py break-rules rules.yaml "$dir/demo-broken-rules.yaml"
"$py" scripts/demo_tools.py entries "$dir/demo-entries-before.txt"
echo "\$ python -m controlplane install $dir/demo-broken-rules.yaml$shown"
rc=0
"$py" -m controlplane install "$dir/demo-broken-rules.yaml" "${state[@]}" 2>&1 || rc=$?
echo "exit status $rc"
[ "$rc" = 2 ] || die "expected exit status 2 (mistakes in the rules file), got $rc"
"$py" scripts/demo_tools.py entries "$dir/demo-entries-after.txt"
if cmp -s "$dir/demo-entries-before.txt" "$dir/demo-entries-after.txt"; then
    echo "unchanged: the switch holds exactly the entries (and counters) it held before"
else
    diff "$dir/demo-entries-before.txt" "$dir/demo-entries-after.txt" >&2 || true
    die "the switch's entries changed"
fi

step "make stop"
switch_started=0
make --no-print-directory stop VENV="$venv"
echo
echo "demo: OK"
