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

// Records of the SYN-offload stage (24 bytes each); the controller may use fewer.
#ifndef SYN_OFFLOAD_SLOTS
#define SYN_OFFLOAD_SLOTS 65536
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

// IPv4 option words the parser keeps (ihl 6..15: up to 10 words of 32 bits).
#define IPV4_OPTION_WORDS 10

#endif  // NIDS_SIZE_P4
