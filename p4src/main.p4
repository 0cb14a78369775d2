/* p4-nids-offload: the switch program in front of a network monitor.
 *
 * Ingress: packet I/O with the controller, then, for traffic, the flow fields,
 * stats on every raw packet and forwarding to the monitor port, then SYN
 * offload. Egress, on the monitor port: the regenerated SYN, the feedback
 * header carrying what the stages produced, and the cut of what the monitor
 * must not see. Then TCP stream reassembly and, on its in-order streams, the
 * pattern prefilters (README.md). */
#include "include/arch_v1model.p4"

#include "include/size.p4"
#include "include/define.p4"
#include "include/header.p4"
#include "include/parser.p4"
#include "include/control/packet_io.p4"
#include "include/control/flow_fields.p4"
#include "include/control/stats.p4"
#include "include/control/forward.p4"
#include "include/control/balance.p4"
#include "include/control/syn_offload.p4"
#include "include/control/reassembly.p4"
#include "include/control/prefilter.p4"
#include "include/control/feedback.p4"
#include "include/control/monitor_cut.p4"

control NidsIngress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t standard_metadata) {
    PacketIoIngress() packet_io;
    FlowFields() flow_fields;
    Stats() stats;
    Forward() forward;
    Balance() balance;
    SynOffload() syn_offload;
    Reassembly() reassembly;
    ReassemblyHoldRestore() reassembly_restore;
    Prefilter() prefilter;

    apply {
        timestamp_t now = standard_metadata.ingress_global_timestamp;
        packet_io.apply(hdr, meta, standard_metadata);
        // A held TCP segment's later pass (docs/reassembly.md): counted, forwarded and
        // balanced on its first pass, seen again by reassembly only.
        bool is_held_pass = meta.reasm_hold.is_held
            && standard_metadata.instance_type == INSTANCE_TYPE_RECIRC;
        if (is_held_pass) {
            reassembly_restore.apply(meta.reasm_hold, meta, standard_metadata);
            flow_fields.apply(hdr, meta.ipv6_chain, meta.reasm_hold.ingress_port,
                              standard_metadata.packet_length, meta.flow);
        } else if (!meta.is_sent_as_is) {
            // Sweep packets come from the controller and are not traffic.
            if (!meta.is_sweep) {
                flow_fields.apply(hdr, meta.ipv6_chain, standard_metadata.ingress_port,
                                  standard_metadata.packet_length, meta.flow);
                stats.apply(meta.flow, now, standard_metadata.packet_length, meta.stats);
                meta.has_stats_records = has_records(meta.stats.slot0)
                    || has_records(meta.stats.slot1) || has_records(meta.stats.slot2)
                    || has_records(meta.stats.slot3);
                forward.apply(standard_metadata.ingress_port, meta, standard_metadata);
                if (meta.has_monitor) {
                    balance.apply(meta.flow, now, meta, standard_metadata);
                }
            }
            syn_offload.apply(hdr, meta, standard_metadata, now);
        }
        if (!meta.is_sent_as_is && !meta.is_sweep) {
            reassembly.apply(meta.flow, meta.has_monitor, meta.has_stats_records,
                             meta.monitor_port, meta.is_duplicated, is_held_pass,
                             meta.reasm, meta.reasm_hold, standard_metadata, now);
            // A segment reassembly holds is seen by the prefilter on the pass that
            // delivers it, in stream order, not while it waits.
            if (!meta.reasm_hold.is_held) {
                prefilter.apply(hdr, meta.flow, meta.payload_parse.taken, meta.reasm,
                                meta.has_monitor, meta.has_stats_records, meta.prefilter,
                                standard_metadata);
            }
        }
    }
}

control NidsEgress(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    PacketIoEgress() packet_io;
    SynRegenerate() syn_regenerate;
    Feedback() feedback;
    MonitorCut() monitor_cut;
    ReassemblyHoldEgress() reassembly_hold;
    WorkerLoad() worker_load;

    apply {
        if (meta.reasm_hold.is_held) {
            reassembly_hold.apply(meta.reasm_hold, standard_metadata);
        } else if (standard_metadata.egress_port == CPU_PORT) {
            packet_io.apply(hdr, standard_metadata);
        } else if (meta.has_monitor && (standard_metadata.egress_port == meta.monitor_port
                                        || meta.is_duplicated)) {
            syn_regenerate.apply(hdr, meta, standard_metadata);
            // A clone's ingress timestamp is reset (BMv2): use the trigger's.
            timestamp_t now = standard_metadata.ingress_global_timestamp;
            if (meta.syn.is_rewritten) {
                now = meta.syn.regen.triggered_at;
            }
            feedback.apply(hdr, meta, now);
            monitor_cut.apply(hdr, meta);
            worker_load.apply(standard_metadata.egress_port);
        }
    }
}

V1Switch(NidsParser(), NidsVerifyChecksum(), NidsIngress(), NidsEgress(),
         NidsComputeChecksum(), NidsDeparser()) main;
