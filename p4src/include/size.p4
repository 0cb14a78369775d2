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

// Sessions of the reassembly stage (38 bytes each); the controller may use fewer.
#ifndef REASSEMBLY_SLOTS
#define REASSEMBLY_SLOTS 65536
#endif

// IPv4 option words the parser keeps (ihl 6..15: up to 10 words of 32 bits).
#define IPV4_OPTION_WORDS 10

#endif  // NIDS_SIZE_P4
