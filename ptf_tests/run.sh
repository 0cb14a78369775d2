#!/usr/bin/env bash
# Run the PTF packet tests against a switch this script starts and stops itself:
# veths from bmv2_configs/topology.json (only those missing; only those are deleted),
# build, switch started by PID (simple_switch_grpc if on PATH, else softswitch), wait until
# P4Runtime answers, push the pipeline once, run ptf on the peer ends, stop the switch by
# its PID.
# Usage: ptf_tests/run.sh [ptf arguments, e.g. a test name like l2_smoke_test]
# Environment: VENV (.venv), PROG (p4src/main.p4), SWITCH_TARGET (auto|bmv2|softswitch),
# ALLOW_SKIP (comma-separated suites that may be skipped; "ptf" lets a non-root run skip).
# Exit status: ptf's; 1 when the suite cannot run (not root); 77 when it was skipped
# because ALLOW_SKIP=ptf allowed it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${VENV:-.venv}
prog=${PROG:-p4src/main.p4}
name=$(basename "$prog" .p4)
topo=scripts/topology.py
rundir=run
pidfile=$rundir/ptf-switch.pid
logfile=$rundir/ptf-switch.log

if [ "$(id -u)" != 0 ]; then
    why="the PTF packet tests need root (they create veths and open raw sockets)"
    case ",${ALLOW_SKIP:-}," in
    *,ptf,*)
        echo "ptf_tests/run.sh: SKIPPED (allowed by ALLOW_SKIP=ptf): $why" >&2
        exit 77
        ;;
    esac
    echo "ptf_tests/run.sh: NOT RUN: $why; run 'sudo make test', or set ALLOW_SKIP=ptf" \
         "to accept a run without packet tests" >&2
    exit 1
fi

grpc_addr=$(python3 $topo get grpc_addr)
device_id=$(python3 $topo get device_id)
cpu_port=$(python3 $topo get cpu_port)

if "$venv/bin/python" scripts/wait_grpc.py --addr "$grpc_addr" --timeout 0.5 >/dev/null 2>&1; then
    echo "ptf_tests/run.sh: something already answers P4Runtime on $grpc_addr" \
         "(a switch from 'make run'? stop it with 'make stop')" >&2
    exit 1
fi

created=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local rc=$?
    VENV=$venv scripts/switchctl.sh stop "$pidfile" || true
    if [ "${#created[@]}" -gt 0 ]; then
        bmv2_configs/veth_teardown.sh "${created[@]}" || true
    fi
    exit "$rc"
}
trap cleanup EXIT

while read -r a b; do
    if ! ip link show "$a" >/dev/null 2>&1; then
        created+=("$a:$b")
    fi
done < <(python3 $topo pairs)
if [ "${#created[@]}" -gt 0 ]; then
    bmv2_configs/veth_setup.sh "${created[@]}"
fi

make --no-print-directory build VENV="$venv" PROG="$prog"

# shellcheck disable=SC2046  # the -i arguments are meant to split
GRPC_ADDR=$grpc_addr DEVICE_ID=$device_id CPU_PORT=$cpu_port VENV=$venv \
    scripts/switchctl.sh start "$pidfile" "$logfile" $(python3 $topo switch-args)
"$venv/bin/python" scripts/push_pipeline.py --addr "$grpc_addr" --device-id "$device_id" \
    --p4info "build/$name.p4info.txtpb" --config "build/$name.json"

params="grpcaddr='$grpc_addr';device_id=$device_id;cpu_port=$cpu_port"
params+=";p4info='$root/build/$name.p4info.txtpb'"
set +e
# shellcheck disable=SC2046
"$venv/bin/ptf" --test-dir ptf_tests --pypath "$root" --pypath "$root/ptf_tests" \
    --log-file "$rundir/ptf.log" $(python3 $topo ptf-args) --test-params="$params" "$@"
rc=$?
set -e
if [ "$rc" != 0 ]; then
    echo "ptf_tests/run.sh: PTF failed (exit $rc); logs: $rundir/ptf.log, $logfile" >&2
fi
exit "$rc"
