#!/usr/bin/env bash
# One-command set-up on a fresh machine (`make setup`); safe to run again.
#  1. as root: Debian packages the tests need (iproute2, tshark) and the programs of the
#     traffic scenarios (docs/scenarios.md: nginx, OpenSSH, vsftpd, dnsmasq, dig, swaks,
#     nmap, sshpass, tcpdump, ethtool, curl, openssl), only those missing;
#  2. .venv with Python >= 3.11 and the exact pins of requirements.lock, plus this project
#     in editable mode; .venv-finsy with the pins of requirements-finsy.lock (finsy, a
#     second P4Runtime client the tests drive; its protobuf >= 6 cannot share .venv, whose
#     p4runtime-shell needs protobuf < 3.21);
#  3. the main job on the embedded default target: `make build`, then a smoke run
#     (`make run`, P4Runtime answers, `make stop`).
# Environment: PYTHON (interpreter for the venvs), VENV (.venv), FINSY_VENV (.venv-finsy),
# SKIP_SMOKE=1 (steps 1-2 only).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${VENV:-.venv}
finsy_venv=${FINSY_VENV:-.venv-finsy}

say() { printf '\n==> %s\n' "$*"; }

# ---- 1. Debian packages -------------------------------------------------------------
debian_packages() {
    local -a missing=()
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v tshark >/dev/null 2>&1 || missing+=(tshark)
    # netifaces (a ptf dependency) has no wheel: pip compiles it.
    command -v gcc >/dev/null 2>&1 || missing+=(gcc)
    # traffic scenarios (scenarios/): program -> Debian package
    local prog pkg
    while read -r prog pkg; do
        PATH="$PATH:/usr/sbin:/sbin" command -v "$prog" >/dev/null 2>&1 || missing+=("$pkg")
    done <<'EOF_PKGS'
nginx nginx-light
sshd openssh-server
ssh openssh-client
vsftpd vsftpd
dnsmasq dnsmasq-base
dig bind9-dnsutils
swaks swaks
nmap nmap
sshpass sshpass
tcpdump tcpdump
ethtool ethtool
curl curl
openssl openssl
EOF_PKGS
    local py
    if { [ ! -x "$venv/bin/python" ] || [ ! -x "$finsy_venv/bin/python" ]; } &&
        py=$(find_python 2>/dev/null); then
        case "$py" in
            /usr/bin/*)  # Debian's own Python: venv and headers are separate packages
                "$py" -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
                "$py" -c 'import os, sysconfig, sys
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
                    missing+=(python3-dev)
                ;;
        esac
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
        return 0
    fi
    say "installing Debian packages: ${missing[*]}"
    # tshark asks whether non-root users may capture; answer no without a prompt.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    # The scenario servers (nginx, sshd, vsftpd) run only inside the scenarios' network
    # namespaces: keep their packages from starting them on the host while installing.
    local policy=/usr/sbin/policy-rc.d added_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
    fi
    apt-get update -q
    local rc=0
    apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    if [ -n "$added_policy" ]; then rm -f "$policy"; fi
    return "$rc"
}

# ---- 2. virtualenv --------------------------------------------------------------------
find_python() {
    local c
    for c in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$c"
            return 0
        fi
    done
    echo "setup: need Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

make_venv() {
    if [ ! -x "$venv/bin/python" ]; then
        local py
        py=$(find_python)
        say "creating $venv with $py"
        if ! "$py" -m venv "$venv"; then
            echo "setup: '$py -m venv' failed; on Debian: apt-get install python3-venv" >&2
            return 1
        fi
    fi
    say "installing requirements.lock into $venv"
    "$venv/bin/python" -m pip install -q -r requirements.lock
    # --no-build-isolation: use the pinned setuptools, so a re-run needs no network.
    "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
    "$venv/bin/python" -m pip check
}

# finsy only, no project code: tests/integration/test_finsy.py runs its client script here.
make_finsy_venv() {
    if [ ! -x "$finsy_venv/bin/python" ]; then
        local py
        py=$(find_python)
        say "creating $finsy_venv with $py"
        if ! "$py" -m venv "$finsy_venv"; then
            echo "setup: '$py -m venv' failed; on Debian: apt-get install python3-venv" >&2
            return 1
        fi
    fi
    say "installing requirements-finsy.lock into $finsy_venv"
    "$finsy_venv/bin/python" -m pip install -q -r requirements-finsy.lock
    "$finsy_venv/bin/python" -m pip check
}

# ---- 3. main job ------------------------------------------------------------------------
smoke() {
    say "make build"
    make --no-print-directory build VENV="$venv"
    say "smoke run: make run, P4Runtime answers, make stop"
    # Leftovers of an interrupted earlier run would make 'make run' refuse to start.
    make --no-print-directory stop VENV="$venv" >/dev/null 2>&1 || true
    local rc=0
    make --no-print-directory run VENV="$venv" || rc=$?
    if [ "$rc" = 0 ]; then
        "$venv/bin/python" scripts/wait_grpc.py --addr "$(python3 scripts/topology.py get grpc_addr)" \
            --timeout 10 || rc=$?
    fi
    make --no-print-directory stop VENV="$venv" || true
    if [ "$rc" != 0 ]; then
        echo "setup: the smoke run failed (see run/switch.log)" >&2
        return "$rc"
    fi
    say "set-up done: the switch builds, runs and answers P4Runtime. Next: make test"
}

debian_packages
make_venv
make_finsy_venv
if [ -z "${SKIP_SMOKE:-}" ]; then
    smoke
fi
