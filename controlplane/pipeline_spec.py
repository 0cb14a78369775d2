"""The switch program's API, declared once: P4Info names and the constants P4 and Python share.

The controller, `status`, `sweep`, the in-process test switch and the PTF tests take every
table, action, parameter, counter and register name and every shared constant from here.
The P4 side gets the constants from `p4src/include/pipeline_spec.p4`, generated from this
module by `python -m controlplane.pipeline_generate`; the P4Info names are what p4c derives
from the program's control instances, and `tests/p4info/test_pipeline_spec.py` checks that
the compiled P4Info has every name below with the parameters listed here.
(The feedback header's own constants, history letter codes included, are in
`feedback_header/spec.py`.)
"""

from __future__ import annotations

from dataclasses import dataclass

INGRESS = "NidsIngress"
EGRESS = "NidsEgress"

CPU_PORT = 64
"""The CPU port the program is compiled for (the operator's --cpu-port must agree)."""

# --- forwarding (p4src/include/control/forward.p4) ------------------------------------------

MONITOR_TABLE = f"{INGRESS}.forward.monitor_ports"
MONITOR_KEY = "ingress_port"
SEND_TO_MONITOR = f"{INGRESS}.forward.send_to_monitor"
SEND_TO_MONITOR_PORT = "port"
DROP = f"{INGRESS}.forward.drop"

# --- monitor clusters (p4src/include/control/balance.p4, docs/balance.md) ---------------------

BALANCE = f"{INGRESS}.balance"
BALANCE_GROUPS_TABLE = f"{BALANCE}.groups"
BALANCE_GROUPS_KEY = ("monitor_port",)
BALANCE_SET_GROUP = f"{BALANCE}.set_group"
BALANCE_SET_GROUP_PARAMS = ("workers", "two_tuple", "idle_timeout_us")
BALANCE_CLUSTERS_TABLE = f"{BALANCE}.clusters"
BALANCE_CLUSTERS_KEY = ("monitor_port", "src_addr", "dst_addr", "protocol", "dst_port")
BALANCE_TO_WORKER = f"{BALANCE}.to_worker"
BALANCE_TO_WORKER_PARAMS = ("index",)
BALANCE_TO_WORKERS = f"{BALANCE}.to_workers"
BALANCE_TO_WORKERS_PARAMS = ("index", "group")
BALANCE_NO_CLUSTER = f"{BALANCE}.no_cluster"
BALANCE_CLUSTER_HITS = f"{BALANCE}.cluster_hits"
BALANCE_WORKER_PORTS_TABLE = f"{BALANCE}.worker_ports"
BALANCE_WORKER_PORTS_KEY = ("monitor_port", "worker")
BALANCE_SET_WORKER_PORT = f"{BALANCE}.set_worker_port"
BALANCE_SET_WORKER_PORT_PARAMS = ("port",)
BALANCE_REGISTERS = (f"{BALANCE}.flow_workers", f"{BALANCE}.flow_last_seen")
BALANCE_NEW_FLOW_DIGEST = "balance_new_flow_t"
"""The digest of a connection the balance stage has just stored (its P4Info name)."""
BALANCE_NEW_FLOW_FIELDS = (
    "src_addr",
    "dst_addr",
    "src_port",
    "dst_port",
    "protocol",
    "is_ipv6",
    "monitor_port",
    "worker",
    "mcast_group",
)
"""The digest's members, in order (p4src/include/arch_v1model.p4)."""
BALANCE_PORT_TRAFFIC = f"{EGRESS}.worker_load.port_traffic"
"""Egress counter of the monitor traffic per port (index: the port): the workers' load."""
BALANCE_PORT_COUNTER_SIZE = 512
"""Cells of BALANCE_PORT_TRAFFIC: one per 9-bit port."""
BALANCE_MULTICAST_BASE = 1
BALANCE_MULTICAST_GROUPS = 4096
"""Multicast groups BASE .. BASE + GROUPS - 1 duplicate a cluster's flows to several
workers (one per set of 2..F workers, installed by `install` from `monitors:`)."""

# --- stats (p4src/include/control/stats.p4) ----------------------------------------------------

STATS_SLOTS = 4
"""Parallel rule slots `Stats` instantiates (slot0 .. slot3)."""

STATS_MATCH_FIELDS = (
    "ingress_port",
    "src_addr",
    "dst_addr",
    "protocol",
    "src_port",
    "dst_port",
    "tcp_flags",
    "is_fragment",
    "is_ipv4",
    "is_ipv6",
)
"""Match fields of every slot's rules table, in key order."""

COUNT_GROUP_PARAMS = (
    "rule_id",
    "port_mask",
    "src_mask",
    "dst_mask",
    "proto_mask",
    "sport_mask",
    "dport_mask",
    "flags_mask",
    "bidirectional",
    "interval_us",
    "packet_threshold",
    "byte_threshold",
)
"""Parameters of every slot's count_group action, in order."""

STATS_REGISTERS = (
    "group_key",
    "group_packets",
    "group_bytes",
    "group_start",
    "group_last_seen",
    "group_history",
)


def stats_slot(slot: int) -> str:
    """P4Info name prefix of stats slot `slot`."""
    return f"{INGRESS}.stats.slot{slot}"


def stats_table(slot: int) -> str:
    """The rules table of stats slot `slot`."""
    return f"{stats_slot(slot)}.rules"


def count_group(slot: int) -> str:
    """The count_group action of stats slot `slot`."""
    return f"{stats_slot(slot)}.count_group"


def rule_hits(slot: int) -> str:
    """The direct counter of slot `slot`'s rules table."""
    return f"{stats_slot(slot)}.rule_hits"


def group_totals(slot: int) -> str:
    """The per-group counter of slot `slot` (never reset by intervals)."""
    return f"{stats_slot(slot)}.group_totals"


def stats_outcomes(slot: int) -> str:
    """The outcomes counter of slot `slot` (indexes: STATS_OUTCOMES)."""
    return f"{stats_slot(slot)}.outcomes"


STATS_TABLE_PATTERN = rf"{INGRESS}\.stats\.slot([0-9]+)\.rules"
"""Regular expression of a slot's rules table name; group 1 is the slot number."""


@dataclass(frozen=True)
class Outcome:
    """One index of an outcomes counter: its P4 constant suffix and its name in Python."""

    p4: str
    name: str
    meaning: str


STATS_OUTCOMES = (
    Outcome("COUNTED", "counted", "packet counted in its group"),
    Outcome("COLLISION", "collision", "group index held by another group: not counted"),
    Outcome("REPORT", "report", "a counter report attached"),
    Outcome("ALERT", "alert", "a threshold alert attached"),
)
"""Indexes of each slot's outcomes counter, in order."""

# --- SYN offload (p4src/include/control/syn_offload.p4) --------------------------------------

SYN_CONFIG_TABLE = f"{INGRESS}.syn_offload.config"
SYN_CONFIGURE = f"{INGRESS}.syn_offload.configure"
SYN_CONFIGURE_PARAMS = ("table_slots", "timeout_us")
SYN_DISABLE = f"{INGRESS}.syn_offload.disable"
SYN_RECORDS = f"{INGRESS}.syn_offload.records"
SYN_RECORDS6 = f"{INGRESS}.syn_offload.records6"
"""IPv6 records (48 bytes each; `records` holds the 24-byte IPv4 ones)."""
SYN_OUTCOMES_COUNTER = f"{INGRESS}.syn_offload.outcomes"

SYN_OUTCOMES = (
    Outcome("SEEN", "syns_seen", "plain SYNs the stage saw"),
    Outcome("STORED", "stored", "held as a new attempt"),
    Outcome("RETRANSMITTED", "retransmissions", "absorbed into a held attempt"),
    Outcome("PASSED", "passed_through", "passed to the monitor untouched"),
    Outcome("REGENERATED_REPLY", "regenerated_before_reply", "regenerated before a reply"),
    Outcome("REGENERATED_TRAFFIC", "expired_by_traffic", "expired, found by traffic"),
    Outcome("REGENERATED_SWEEP", "expired_by_sweep", "expired, found by a sweep packet"),
    Outcome("SWEEPS", "sweep_packets", "sweep packets seen"),
)
"""Indexes of the SYN-offload outcomes counter, in order."""

SYN_CLONE_SESSION_BASE = 512
"""Regenerated SYNs for monitor port P go out through clone session BASE + P."""

ETHERTYPE_SWEEP = 0x88B6
"""EtherType of the controller's sweep packets (IEEE 802 local experimental EtherType 2)."""

SYN_MAX_TIMEOUT_US = 0xFFFFFF
"""Longest SYN-offload timeout: a record keeps the latest SYN as a 24-bit offset in µs."""

FIELD_LIST_SYN_REGEN = 1
"""Field list index preserved into the clone that becomes a regenerated SYN."""

# --- reassembly (p4src/include/control/reassembly.p4) ---------------------------------------

REASM_CONFIG_TABLE = f"{INGRESS}.reassembly.config"
REASM_CONFIGURE = f"{INGRESS}.reassembly.configure"
REASM_CONFIGURE_PARAMS = (
    "table_slots",
    "idle_timeout_us",
    "hold_per_flow",
    "hold_total",
    "gap_timeout_us",
)
REASM_DISABLE = f"{INGRESS}.reassembly.disable"
REASM_SESSIONS = f"{INGRESS}.reassembly.sessions"
REASM_STATUS = f"{INGRESS}.reassembly.status"
REASM_FLOW_IDS = f"{INGRESS}.reassembly.flow_ids"
REASM_ADDRS6 = f"{INGRESS}.reassembly.addrs6"
REASM_HOLDS = f"{INGRESS}.reassembly.holds"
REASM_HELD = f"{INGRESS}.reassembly.held"
"""[0] segments held now (all connections), [1] the most ever held at once."""
REASM_OUTCOMES_COUNTER = f"{INGRESS}.reassembly.outcomes"

REASM_OUTCOMES = (
    Outcome("TCP_SEEN", "tcp_seen", "TCP packets the stage saw"),
    Outcome("OPENED", "sessions_opened", "sessions opened (a SYN-ACK)"),
    Outcome("COLLISION", "collisions", "SYN-ACK whose slot holds another live connection"),
    Outcome("IN_ORDER", "in_order", "segments delivered in order with a stream record"),
    Outcome("DUPLICATE", "duplicates_dropped", "segments fully delivered before: dropped"),
    Outcome("FALLBACK", "fallbacks", "connections handed to software reassembly"),
    Outcome("SOFTWARE", "software_passed", "packets of software-mode connections passed"),
    Outcome("CLOSED", "sessions_closed", "sessions closed (both FINs or a RST)"),
    Outcome("UNTRACKED", "untracked", "packets of connections without a session"),
    Outcome("HELD", "segments_held", "segments ahead of a gap held (their first pass)"),
    Outcome("HOLD_PASS", "hold_passes", "later recirculation passes of held segments"),
    Outcome("RELEASED", "held_released", "held segments that left (delivered, dropped or marked)"),
)
"""Indexes of the reassembly outcomes counter, in order."""

REASM_MAX_IDLE_TIMEOUT_US = 0xFFFFFFFF
"""Longest idle timeout: a session keeps its last packet's time as the clock's low 32 bits."""

REASM_MAX_HOLD_PER_FLOW = 15
"""Most segments held per connection: the session status counts them in 4 bits."""

REASM_MAX_HOLD_TOTAL = 1024
"""Most segments held in all: each one is a packet in the recirculation loop, and BMv2's
queue for recirculated packets holds 1024 (it drops what does not fit)."""

REASM_MAX_GAP_TIMEOUT_US = 1_000_000
"""Longest gap timeout: a held segment recirculates until then, using switch bandwidth."""

REASM_MAX_HOLD_PASSES = 0xFFFF
"""Hard bound on a held segment's passes, whatever the clock says (then GAP_TIMEOUT)."""

REASM_MAX_HOLD_SPAN = 0xFFFF
"""A connection's held segments lie within 64 KiB of sequence space (a 16-bit length)."""

FIELD_LIST_REASM_HOLD = 2
"""Field list preserved across a held segment's recirculation passes."""

# --- prefilter (p4src/include/control/prefilter.p4, docs/prefilter.md) ------------------------

PF = f"{INGRESS}.prefilter"
PF_CONFIG_TABLE = f"{PF}.config"
PF_CONFIGURE = f"{PF}.configure"
PF_CONFIGURE_PARAMS = ("negative_bytes",)
PF_DISABLE = f"{PF}.disable"
PF_PATTERNS_TABLE = f"{PF}.patterns"
PF_PATTERNS_KEY = ("l4_protocol", "direction", "length", "data", "src_port", "dst_port")
"""Match fields of the pattern table, in key order: IP protocol (6, 17), stream direction
(FB_DIRECTION_*), bytes collected (range), the first PF_HEAD_BYTES bytes (ternary),
originator and responder port (TCP) or source and destination port (UDP)."""
PF_MATCHED = f"{PF}.matched"
PF_MATCHED_PARAMS = ("protocol_id", "pattern_id", "class_id")
PF_PAIRS_TABLE = f"{PF}.pairs"
PF_PAIRS_KEY = ("orig_class", "resp_class")
PF_DECIDE = f"{PF}.decide"
PF_DECIDE_PARAMS = ("protocol_id",)
PF_EXCEPTIONS_TABLE = f"{PF}.exceptions"
PF_EXCEPTIONS_KEY = ("orig_addr", "resp_addr", "resp_port")
PF_KEEP = f"{PF}.keep"
PF_FLOWS = f"{PF}.flows"
PF_HEADS = (f"{PF}.orig_head", f"{PF}.resp_head")
PF_OUTCOMES_COUNTER = f"{PF}.outcomes"

PF_HEAD_BYTES = 16
"""Stream bytes per direction the stage collects and matches (the parser takes up to this
many payload bytes of each packet)."""
PF_MAX_PATTERNS = 512
"""Entries of the pattern table (PREFILTER_PATTERNS at build)."""
PF_MAX_EXCEPTIONS = 64
"""Entries of the exceptions table."""

PF_OUTCOMES = (
    Outcome("SEGMENTS", "segments_seen", "in-order TCP segments of tracked flows"),
    Outcome("LOOKUPS", "lookups", "pattern-table lookups (stream head grew)"),
    Outcome("MATCHED", "matched", "flows whose protocol was decided"),
    Outcome("HALF", "half_matched", "half a pair matched (a class, looked up in pairs)"),
    Outcome("KNOWN", "known_tagged", "packets tagged from the flow state"),
    Outcome("NO_PROTOCOL", "no_protocol", "flows that matched nothing (negative matching)"),
    Outcome("CUT", "cut", "packets not forwarded: their flow matched nothing"),
    Outcome("EXCEPTED", "excepted", "flows negative matching would cut, kept by an exception"),
    Outcome("LOST", "lost_slot", "packets of flows whose slot another flow took"),
    Outcome("DATAGRAMS", "datagrams_matched", "UDP datagrams that matched a pattern"),
)
"""Indexes of the prefilter outcomes counter, in order."""

# --- feedback (p4src/include/control/feedback.p4) --------------------------------------------

FEEDBACK_CONFIG_TABLE = f"{EGRESS}.feedback.config"
SET_DEVICE_ID = f"{EGRESS}.feedback.set_device_id"
SET_DEVICE_ID_PARAM = "device_id"

# --- everything, for the agreement test -------------------------------------------------------


def tables() -> dict[str, tuple[str, ...]]:
    """Every table name -> its match field names."""
    out: dict[str, tuple[str, ...]] = {
        MONITOR_TABLE: (MONITOR_KEY,),
        BALANCE_GROUPS_TABLE: BALANCE_GROUPS_KEY,
        BALANCE_CLUSTERS_TABLE: BALANCE_CLUSTERS_KEY,
        BALANCE_WORKER_PORTS_TABLE: BALANCE_WORKER_PORTS_KEY,
        SYN_CONFIG_TABLE: (),
        REASM_CONFIG_TABLE: (),
        PF_CONFIG_TABLE: (),
        PF_PATTERNS_TABLE: PF_PATTERNS_KEY,
        PF_EXCEPTIONS_TABLE: PF_EXCEPTIONS_KEY,
        PF_PAIRS_TABLE: PF_PAIRS_KEY,
        FEEDBACK_CONFIG_TABLE: (),
    }
    for s in range(STATS_SLOTS):
        out[stats_table(s)] = STATS_MATCH_FIELDS
    return out


def actions() -> dict[str, tuple[str, ...]]:
    """Every action name -> its parameter names."""
    out: dict[str, tuple[str, ...]] = {
        SEND_TO_MONITOR: (SEND_TO_MONITOR_PORT,),
        DROP: (),
        BALANCE_SET_GROUP: BALANCE_SET_GROUP_PARAMS,
        BALANCE_TO_WORKER: BALANCE_TO_WORKER_PARAMS,
        BALANCE_TO_WORKERS: BALANCE_TO_WORKERS_PARAMS,
        BALANCE_NO_CLUSTER: (),
        BALANCE_SET_WORKER_PORT: BALANCE_SET_WORKER_PORT_PARAMS,
        SYN_CONFIGURE: SYN_CONFIGURE_PARAMS,
        SYN_DISABLE: (),
        REASM_CONFIGURE: REASM_CONFIGURE_PARAMS,
        REASM_DISABLE: (),
        PF_CONFIGURE: PF_CONFIGURE_PARAMS,
        PF_DISABLE: (),
        PF_MATCHED: PF_MATCHED_PARAMS,
        PF_KEEP: (),
        PF_DECIDE: PF_DECIDE_PARAMS,
        SET_DEVICE_ID: (SET_DEVICE_ID_PARAM,),
    }
    for s in range(STATS_SLOTS):
        out[count_group(s)] = COUNT_GROUP_PARAMS
    return out


def counters() -> dict[str, int | None]:
    """Every indexed counter -> its size (None: set at build time)."""
    out: dict[str, int | None] = {
        SYN_OUTCOMES_COUNTER: len(SYN_OUTCOMES),
        REASM_OUTCOMES_COUNTER: len(REASM_OUTCOMES),
        PF_OUTCOMES_COUNTER: len(PF_OUTCOMES),
        BALANCE_PORT_TRAFFIC: BALANCE_PORT_COUNTER_SIZE,
    }
    for s in range(STATS_SLOTS):
        out[group_totals(s)] = None
        out[stats_outcomes(s)] = len(STATS_OUTCOMES)
    return out


def direct_counters() -> tuple[str, ...]:
    """Every direct counter."""
    return (*(rule_hits(s) for s in range(STATS_SLOTS)), BALANCE_CLUSTER_HITS)


def registers() -> tuple[str, ...]:
    """Every register."""
    out = [SYN_RECORDS, SYN_RECORDS6, REASM_SESSIONS, REASM_STATUS, REASM_FLOW_IDS]
    out += [REASM_ADDRS6, REASM_HOLDS, REASM_HELD]
    out += [PF_FLOWS, *PF_HEADS]
    out += BALANCE_REGISTERS
    for s in range(STATS_SLOTS):
        out += [f"{stats_slot(s)}.{r}" for r in STATS_REGISTERS]
    return tuple(out)
