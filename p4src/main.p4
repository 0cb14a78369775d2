/* p4-nids-offload: the switch program in front of a network monitor.
 *
 * Pipeline (../shared/guide/ARCHITECTURE.md): stats on every raw packet, then
 * forwarding to the monitor port, SYN offload, and in egress the regenerated
 * SYNs and the feedback header carrying what the stages produced. Reassembly
 * and prefilters come later. */
#include <core.p4>
#include <v1model.p4>

#include "include/size.p4"
#include "include/define.p4"
#include "include/header.p4"
#include "include/parser.p4"
#include "include/control/stats.p4"
#include "include/control/forward.p4"
#include "include/control/syn_offload.p4"
#include "include/control/feedback.p4"

control NidsIngress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t standard_metadata) {
    Stats() stats;
    Forward() forward;
    SynOffload() syn_offload;

    apply {
        if (hdr.packet_out.isValid()) {
            if (hdr.packet_out.egress_port != 0) {
                // Sent by the controller to a port as it is.
                standard_metadata.egress_spec = hdr.packet_out.egress_port;
                hdr.packet_out.setInvalid();
                exit;
            }
            hdr.packet_out.setInvalid();
        }

        // Sweep packets of the SYN-offload stage come from the controller and
        // are not traffic: no stats, no forwarding.
        if (!(hdr.syn_sweep.isValid() && standard_metadata.ingress_port == CPU_PORT)) {
            meta.flow.ingress_port = standard_metadata.ingress_port;
            if (hdr.ipv4.isValid()) {
                meta.flow.is_ipv4 = 1;
                meta.flow.src_addr = hdr.ipv4.src_addr;
                meta.flow.dst_addr = hdr.ipv4.dst_addr;
                meta.flow.protocol = hdr.ipv4.protocol;
                if (hdr.ipv4.frag_offset != 0 || (hdr.ipv4.flags & 3w1) != 0) {
                    meta.flow.is_fragment = 1;
                }
                bit<16> ip_header_bytes = (bit<16>)hdr.ipv4.ihl << 2;
                if (hdr.tcp.isValid()) {
                    meta.flow.src_port = hdr.tcp.src_port;
                    meta.flow.dst_port = hdr.tcp.dst_port;
                    meta.flow.tcp_flags = hdr.tcp.flags;
                    meta.flow.l4_payload_length = hdr.ipv4.total_len - ip_header_bytes
                        - ((bit<16>)hdr.tcp.data_offset << 2);
                } else if (hdr.udp.isValid()) {
                    meta.flow.src_port = hdr.udp.src_port;
                    meta.flow.dst_port = hdr.udp.dst_port;
                    meta.flow.l4_payload_length = hdr.udp.length - 8;
                }
            }

            stats.apply(meta.flow, standard_metadata.ingress_global_timestamp,
                        standard_metadata.packet_length, meta.stats);
            meta.has_stats_records = has_records(meta.stats.slot0)
                || has_records(meta.stats.slot1) || has_records(meta.stats.slot2)
                || has_records(meta.stats.slot3);
            forward.apply(standard_metadata.ingress_port, meta, standard_metadata);
        }
        syn_offload.apply(hdr, meta, standard_metadata,
                          standard_metadata.ingress_global_timestamp);
    }
}

control NidsEgress(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    SynRegenerate() syn_regenerate;
    Feedback() feedback;

    apply {
        if (standard_metadata.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = standard_metadata.ingress_port;
            hdr.packet_in._pad = 0;
        } else if (meta.has_monitor && standard_metadata.egress_port == meta.monitor_port) {
            syn_regenerate.apply(hdr, meta, standard_metadata);
            // A clone's ingress timestamp is reset (BMv2): use the trigger's.
            timestamp_t now = standard_metadata.ingress_global_timestamp;
            if (meta.syn.is_rewritten) {
                now = meta.syn.regen.triggered_at;
            }
            feedback.apply(hdr, meta, now);
            if (meta.syn.is_records_only) {
                // A held SYN: only the feedback header leaves.
                hdr.feedback.fixed.orig_ethertype = ETHERTYPE_NONE;
                hdr.ipv4.setInvalid();
                hdr.ipv4_options.pop_front(IPV4_OPTION_WORDS);
                hdr.tcp.setInvalid();
            }
            if (meta.syn.is_rewritten || meta.syn.is_records_only) {
                // Cut off what follows the headers: the trigger's options and
                // payload (regenerated SYN), or the whole held SYN.
                bit<32> length = 14;
                if (meta.syn.is_rewritten) {
                    length = length + 20 + 20;
                }
                if (hdr.vlan[0].isValid()) {
                    length = length + 4;
                }
                if (hdr.vlan[1].isValid()) {
                    length = length + 4;
                }
                if (hdr.feedback.fixed.isValid()) {
                    length = length + (bit<32>)hdr.feedback.fixed.length;
                }
                truncate(length);
            }
        }
    }
}

V1Switch(NidsParser(), NidsVerifyChecksum(), NidsIngress(), NidsEgress(),
         NidsComputeChecksum(), NidsDeparser()) main;
