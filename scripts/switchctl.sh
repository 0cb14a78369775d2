#!/usr/bin/env bash
# Start or stop the P4 switch by PID; shared by `make run`/`make stop` and ptf_tests/run.sh.
#
#   switchctl.sh start PIDFILE LOGFILE [-i PORT@IFACE ...]
#   switchctl.sh stop PIDFILE
#
# start runs simple_switch_grpc when it is on PATH (or SWITCH_TARGET=bmv2), else the
# embedded softswitch (or SWITCH_TARGET=softswitch), with the same flags, in the background;
# writes its PID; and returns once P4Runtime answers Capabilities (no fixed sleep). If the
# switch dies or never answers, the log tail is printed and the exit status is 1.
# Environment: GRPC_ADDR (127.0.0.1:9559), DEVICE_ID (1), CPU_PORT (64), SWITCH_TARGET,
# VENV (.venv), SWITCH_ARGS (extra target options), GRPC_TIMEOUT (seconds, 60).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
grpc_addr=${GRPC_ADDR:-127.0.0.1:9559}
device_id=${DEVICE_ID:-1}
cpu_port=${CPU_PORT:-64}
timeout=${GRPC_TIMEOUT:-60}

die() { echo "switchctl: $*" >&2; exit 1; }

# A zombie (dead child not yet reaped) counts as dead.
pid_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

target() {
    case "${SWITCH_TARGET:-auto}" in
        bmv2) echo bmv2 ;;
        softswitch) echo softswitch ;;
        auto) if command -v simple_switch_grpc >/dev/null 2>&1; then echo bmv2; else echo softswitch; fi ;;
        *) die "SWITCH_TARGET must be auto, bmv2 or softswitch, not '${SWITCH_TARGET}'" ;;
    esac
}

start() {
    [ "$#" -ge 2 ] || die "usage: switchctl.sh start PIDFILE LOGFILE [-i PORT@IFACE ...]"
    local pidfile=$1 logfile=$2
    shift 2
    if [ -f "$pidfile" ] && pid_alive "$(cat "$pidfile")"; then
        die "a switch is already running (pid $(cat "$pidfile"), $pidfile); stop it first"
    fi
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
    local -a cmd
    # SWITCH_ARGS is split on purpose: it holds several target options.
    # shellcheck disable=SC2206
    local -a extra=(${SWITCH_ARGS:-})
    if [ "$(target)" = bmv2 ]; then
        cmd=(simple_switch_grpc)
    else
        [ -x "$venv/bin/softswitch" ] || die "$venv/bin/softswitch missing: run 'make setup'"
        cmd=("$venv/bin/softswitch" run)
    fi
    cmd+=(--device-id "$device_id" "$@" --no-p4 -- --grpc-server-addr "$grpc_addr"
          --cpu-port "$cpu_port" "${extra[@]}")
    echo "switchctl: ${cmd[*]} > $logfile"
    # setsid: the switch must outlive this shell and not get the terminal's SIGINT/SIGHUP.
    setsid "${cmd[@]}" >"$logfile" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$pidfile"
    if ! "$venv/bin/python" "$root/scripts/wait_grpc.py" --addr "$grpc_addr" \
            --timeout "$timeout" --pid "$pid"; then
        echo "---- last lines of $logfile ----" >&2
        tail -n 30 "$logfile" >&2 || true
        stop "$pidfile"
        exit 1
    fi
}

stop() {
    local pidfile=$1 pid i
    if [ ! -f "$pidfile" ]; then
        echo "switchctl: no $pidfile, nothing to stop"
        return 0
    fi
    pid=$(cat "$pidfile")
    if pid_alive "$pid"; then
        kill -TERM "$pid"
        for ((i = 0; i < 100; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        if pid_alive "$pid"; then
            echo "switchctl: pid $pid ignored SIGTERM for 10s, sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "switchctl: stopped pid $pid"
    fi
    rm -f "$pidfile"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; [ "$#" -eq 1 ] || die "usage: switchctl.sh stop PIDFILE"; stop "$1" ;;
    *) die "usage: switchctl.sh start PIDFILE LOGFILE [-i PORT@IFACE ...] | stop PIDFILE" ;;
esac
