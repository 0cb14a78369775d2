/* Table and register sizes. Only #defines here, so a build can override them
 * (-D STATS_GROUPS_PER_SLOT=65536) without touching the controls. */
#ifndef NIDS_SIZE_P4
#define NIDS_SIZE_P4

#ifndef STATS_RULES_PER_SLOT
#define STATS_RULES_PER_SLOT 64
#endif

#ifndef STATS_GROUPS_PER_SLOT
#define STATS_GROUPS_PER_SLOT 4096
#endif

#ifndef MONITOR_PORTS_SIZE
#define MONITOR_PORTS_SIZE 512
#endif

// Records of the SYN-offload stage: IPv4 (24 bytes each) and IPv6 (48 bytes
// each); the controller may use fewer (the same number of both, each table
// capped at its size).
#ifndef SYN_OFFLOAD_SLOTS
#define SYN_OFFLOAD_SLOTS 65536
#endif
#ifndef SYN_OFFLOAD_SLOTS6
#define SYN_OFFLOAD_SLOTS6 16384
#endif

// Monitor clusters (balance.p4): groups, cluster entries, worker ports, and
// per-connection slots that keep a started connection on its worker.
#ifndef BALANCE_GROUPS_SIZE
#define BALANCE_GROUPS_SIZE 16
#endif
#ifndef BALANCE_CLUSTERS_SIZE
#define BALANCE_CLUSTERS_SIZE 1024
#endif
#ifndef BALANCE_WORKER_PORTS_SIZE
#define BALANCE_WORKER_PORTS_SIZE 256
#endif
#ifndef BALANCE_FLOW_SLOTS
#define BALANCE_FLOW_SLOTS 65536
#endif

// Sessions of the reassembly stage (38 bytes each); the controller may use fewer.
#ifndef REASSEMBLY_SLOTS
#define REASSEMBLY_SLOTS 65536
#endif

// Flow slots of the prefilter stage (52 bytes each), indexed by the reassembly
// stage's flow id modulo the size: must be a power of two.
#ifndef PREFILTER_SLOTS
#define PREFILTER_SLOTS 65536
#endif

// TCP option words the parser keeps (data offset 6..15: up to 10 words).
#define TCP_OPTION_WORDS 10

// IPv4 option words the parser keeps (ihl 6..15: up to 10 words of 32 bits).
#define IPV4_OPTION_WORDS 10

// IPv6 extension headers the parser walks before it gives up (the rest of such a
// packet stays payload, untouched), and the longest one it takes: hdr_ext_len
// 0..IPV6_EXT_MAX_LEN, i.e. at most (IPV6_EXT_MAX_LEN + 1) * 8 bytes each. The
// parser keeps them in a stack of 64-bit words that the deparser writes back.
#define IPV6_MAX_EXT_HEADERS 4
#define IPV6_EXT_MAX_LEN 7
#define IPV6_EXT_WORDS 32

#endif  // NIDS_SIZE_P4
