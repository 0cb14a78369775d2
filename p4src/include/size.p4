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

#endif  // NIDS_SIZE_P4
