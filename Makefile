# p4-nids-offload: build, run and test the P4 program on softswitch or BMv2.
# `make help` lists the targets. Targets that touch veths need root.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
PROG      ?= p4src/main.p4
NAME      := $(basename $(notdir $(PROG)))
BUILD     ?= build
RUNDIR    ?= run
TOPO      := scripts/topology.py
# Read lazily from bmv2_configs/topology.json (the PTF runner uses the same file).
GRPC_ADDR  = $(shell python3 $(TOPO) get grpc_addr)
DEVICE_ID  = $(shell python3 $(TOPO) get device_id)
CPU_PORT   = $(shell python3 $(TOPO) get cpu_port)
SWITCH_ENV = GRPC_ADDR=$(GRPC_ADDR) DEVICE_ID=$(DEVICE_ID) CPU_PORT=$(CPU_PORT) VENV=$(VENV)

# p4c-bm2-ss + simple_switch_grpc for the BMv2 legs (a p4tools dir with bin/); optional
P4TOOLS   ?= $(wildcard ../shared/p4tools)
export P4TOOLS

.PHONY: help setup build run stop test conformance bench lint clean scenarios

help:
	@echo "make setup   create $(VENV) from requirements.lock, then build and smoke-run (fresh machine)"
	@echo "make build   compile $(PROG) into $(BUILD)/ (p4c-bm2-ss if on PATH, else softswitch compile)"
	@echo "make run     veths + switch (simple_switch_grpc if on PATH, else softswitch) on $(GRPC_ADDR), pipeline pushed"
	@echo "make stop    stop the switch started by 'make run' (by PID) and remove the veths"
	@echo "make test    ruff, mypy, pytest tests/, PTF suite (ptf_tests/run.sh); fails if any fails or"
	@echo "            does not run (ALLOW_SKIP=ptf: a non-root run skips PTF, shown in the summary);"
	@echo "            then the PTF suite again on BMv2 when P4TOOLS has p4c-bm2-ss and simple_switch_grpc"
	@echo "make conformance  conformance/programs on softswitch, and on BMv2 when P4TOOLS has it (root)"
	@echo "make bench   packets/s of the L2 program, decode/install rates, SYN offload load,"
	@echo "            prefilter identification, learned thresholds, check/install of 10,000 rules"
	@echo "            (results in bench/RESULTS.md)"
	@echo "make scenarios  (root) every traffic scenario (pcap + labels each) and the mixes into $(RUNDIR)/scenarios"
	@echo "make lint    ruff check + format check, import contracts, mypy, shellcheck when installed"
	@echo "make clean   remove $(BUILD)/ and $(RUNDIR)/"

setup:
	scripts/setup.sh

build:
	@mkdir -p $(BUILD)
	if command -v p4c-bm2-ss >/dev/null 2>&1; then \
	    p4c-bm2-ss --arch v1model --p4runtime-files $(BUILD)/$(NAME).p4info.txtpb \
	        -o $(BUILD)/$(NAME).json $(PROG); \
	else \
	    $(VENV)/bin/softswitch compile $(PROG) -o $(BUILD)/; \
	fi
	@echo "built $(BUILD)/$(NAME).json and $(BUILD)/$(NAME).p4info.txtpb"

run:
	@test -f $(BUILD)/$(NAME).json || { echo "make run: no $(BUILD)/$(NAME).json; run 'make build' first" >&2; exit 1; }
	@if [ "$$(id -u)" = 0 ] && [ -z "$${NO_PORTS:-}" ]; then \
	    bmv2_configs/veth_setup.sh; intf=$$(python3 $(TOPO) switch-args); \
	else \
	    echo "make run: not root (or NO_PORTS set): starting the switch without ports" >&2; intf=; \
	fi; \
	$(SWITCH_ENV) scripts/switchctl.sh start $(RUNDIR)/switch.pid $(RUNDIR)/switch.log $$intf
	$(PY) scripts/push_pipeline.py --addr $(GRPC_ADDR) --device-id $(DEVICE_ID) \
	    --p4info $(BUILD)/$(NAME).p4info.txtpb --config $(BUILD)/$(NAME).json \
	    || { $(MAKE) --no-print-directory stop; exit 1; }
	@echo "switch running: pid $$(cat $(RUNDIR)/switch.pid), log $(RUNDIR)/switch.log, P4Runtime $(GRPC_ADDR)"

stop:
	scripts/switchctl.sh stop $(RUNDIR)/switch.pid
	if [ "$$(id -u)" = 0 ]; then bmv2_configs/veth_teardown.sh; fi

test:
	@rc=0; sum=(); \
	if $(VENV)/bin/ruff check .; then sum+=("ruff: passed"); else rc=1; sum+=("ruff: FAILED"); fi; \
	if $(VENV)/bin/mypy; then sum+=("mypy: passed"); else rc=1; sum+=("mypy: FAILED"); fi; \
	if $(VENV)/bin/pytest; then sum+=("pytest: passed"); else rc=1; sum+=("pytest: FAILED"); fi; \
	prc=0; VENV=$(VENV) ptf_tests/run.sh || prc=$$?; \
	case $$prc in \
	0) sum+=("ptf: passed");; \
	77) sum+=("ptf: SKIPPED (ALLOW_SKIP=ptf)");; \
	*) rc=1; if [ "$$(id -u)" != 0 ]; then sum+=("ptf: NOT RUN (needs root)"); \
	   else sum+=("ptf: FAILED"); fi;; \
	esac; \
	if [ -n "$(P4TOOLS)" ] && [ -x "$(P4TOOLS)/bin/simple_switch_grpc" ] \
	    && [ -x "$(P4TOOLS)/bin/p4c-bm2-ss" ] && [ "$$(id -u)" = 0 ]; then \
	    brc=0; PATH="$(abspath $(P4TOOLS))/bin:$$PATH" SWITCH_TARGET=bmv2 VENV=$(VENV) \
	        ptf_tests/run.sh || brc=$$?; \
	    if [ $$brc = 0 ]; then sum+=("ptf on BMv2 (p4c-bm2-ss, simple_switch_grpc of $(P4TOOLS)): passed"); \
	    else rc=1; sum+=("ptf on BMv2: FAILED"); fi; \
	else sum+=("ptf on BMv2: SKIPPED (no P4TOOLS dir with p4c-bm2-ss and simple_switch_grpc, or not root)"); fi; \
	echo "make test summary:"; printf '  %s\n' "$${sum[@]}"; \
	if [ $$rc != 0 ]; then echo "make test: FAILED (see above)" >&2; fi; \
	exit $$rc

conformance:
	@if [ -n "$(P4TOOLS)" ] && [ "$$(id -u)" = 0 ]; then target=both; else \
	    target=softswitch; \
	    if [ -z "$(P4TOOLS)" ]; then why="no P4TOOLS dir with p4c-bm2-ss and simple_switch_grpc"; \
	    else why="BMv2 runs on veths, which needs root"; fi; \
	    echo "make conformance: BMv2 leg skipped: $$why"; \
	fi; \
	$(PY) -m conformance run --target $$target conformance/programs

bench:
	$(PY) -m bench.l2fwd
	$(PY) -m bench.feedback_decode
	$(PY) -m bench.install_rate
	$(PY) -m bench.syn_offload_load
	$(PY) -m bench.reassembly_load
	$(PY) -m bench.prefilter_eval
	$(PY) -m bench.thresholds_eval
	$(PY) -m bench.rules_scale --write-results
	$(PY) -m bench.blb_eval
	$(PY) -m bench.blb_loop

scenarios:
	$(PY) -m scenarios run --out $(RUNDIR)/scenarios
	$(PY) -m scenarios mix lbnl --out $(RUNDIR)/scenarios
	$(PY) -m scenarios mix all --out $(RUNDIR)/scenarios

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	if command -v shellcheck >/dev/null 2>&1; then \
	    shellcheck scripts/*.sh bmv2_configs/*.sh ptf_tests/*.sh .ci/run; \
	else echo "shellcheck not installed: shell scripts not checked"; fi

clean:
	rm -rf $(BUILD) $(RUNDIR) .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
