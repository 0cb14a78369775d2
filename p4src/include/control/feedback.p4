/* Turns what the stages produced for a packet into feedback TLVs and inserts
 * the feedback header after Ethernet/VLAN (docs/feedback-header.md). Runs in
 * egress, only on packets leaving on the monitor port. A frame that arrived
 * with the feedback EtherType always gets a header, flagged FOREIGN, so that
 * the monitor never takes the network's bytes for the switch's records
 * (docs/feedback-header.md, "Trust model"). */
#ifndef NIDS_CONTROL_FEEDBACK_P4
#define NIDS_CONTROL_FEEDBACK_P4

// One THRESHOLD_ALERT record (packets or bytes) of a stats slot: the IPv4
// layout, or the IPv6 one (THRESHOLD_ALERT6) when the key holds IPv6 addresses.
control FeedbackAlert(in stats_result_t res, in bit<8> slot, in bit<8> kind,
                      in bit<64> value, in bit<64> threshold,
                      inout fb_threshold_alert_h alert, inout fb_threshold_alert6_h alert6,
                      inout bit<8> tlv_count, inout bit<16> length) {
    apply {
        if (res.alert_key.is_ipv6 == 1) {
            alert6.setValid();
            alert6.tlv_type = FB_TLV_THRESHOLD_ALERT6;
            alert6.tlv_length = FB_TLV_THRESHOLD_ALERT6_BYTES;
            alert6.rule_slot = slot;
            alert6.threshold_kind = kind;
            alert6.key_ingress_port = (bit<16>)res.alert_key.ingress_port;
            alert6.key_ip_proto = res.alert_key.protocol;
            alert6.key_tcp_flags = res.alert_key.tcp_flags;
            alert6.key_ipv6_src = res.alert_key.src_addr;
            alert6.key_ipv6_dst = res.alert_key.dst_addr;
            alert6.key_l4_src_port = res.alert_key.src_port;
            alert6.key_l4_dst_port = res.alert_key.dst_port;
            alert6.value = value;
            alert6.threshold = threshold;
            alert6.interval_start = res.alert_start;
            alert6.rule_id = res.alert_key.rule_id;
            length = length + (bit<16>)FB_TLV_THRESHOLD_ALERT6_BYTES;
        } else {
            alert.setValid();
            alert.tlv_type = FB_TLV_THRESHOLD_ALERT;
            alert.tlv_length = FB_TLV_THRESHOLD_ALERT_BYTES;
            alert.rule_slot = slot;
            alert.threshold_kind = kind;
            alert.key_ingress_port = (bit<16>)res.alert_key.ingress_port;
            alert.key_ip_proto = res.alert_key.protocol;
            alert.key_tcp_flags = res.alert_key.tcp_flags;
            alert.key_ipv4_src = res.alert_key.src_addr[31:0];
            alert.key_ipv4_dst = res.alert_key.dst_addr[31:0];
            alert.key_l4_src_port = res.alert_key.src_port;
            alert.key_l4_dst_port = res.alert_key.dst_port;
            alert.value = value;
            alert.threshold = threshold;
            alert.interval_start = res.alert_start;
            alert.rule_id = res.alert_key.rule_id;
            length = length + (bit<16>)FB_TLV_THRESHOLD_ALERT_BYTES;
        }
        tlv_count = tlv_count + 1;
    }
}

// The records one stats slot contributes; a key with IPv6 addresses goes in
// the IPv6 variant of its record (docs/feedback-header.md).
control FeedbackStatsSlot(in stats_result_t res, in bit<8> slot,
                          inout fb_counter_report_h report,
                          inout fb_counter_report6_h report6,
                          inout fb_threshold_alert_h packet_alert,
                          inout fb_threshold_alert6_h packet_alert6,
                          inout fb_threshold_alert_h byte_alert,
                          inout fb_threshold_alert6_h byte_alert6,
                          inout fb_collision_h collision,
                          inout fb_collision6_h collision6,
                          inout bit<8> tlv_count, inout bit<16> length) {
    FeedbackAlert() packet_alert_record;
    FeedbackAlert() byte_alert_record;

    apply {
        if (res.do_report && res.report_key.is_ipv6 == 1) {
            report6.setValid();
            report6.tlv_type = FB_TLV_COUNTER_REPORT6;
            report6.tlv_length = FB_TLV_COUNTER_REPORT6_BYTES;
            report6.rule_slot = slot;
            report6.report_reason = res.report_reason;
            report6.key_ingress_port = (bit<16>)res.report_key.ingress_port;
            report6.key_ip_proto = res.report_key.protocol;
            report6.key_tcp_flags = res.report_key.tcp_flags;
            report6.key_ipv6_src = res.report_key.src_addr;
            report6.key_ipv6_dst = res.report_key.dst_addr;
            report6.key_l4_src_port = res.report_key.src_port;
            report6.key_l4_dst_port = res.report_key.dst_port;
            report6.packets = res.report_packets;
            report6.bytes = res.report_bytes;
            report6.interval_start = res.report_start;
            report6.interval_end = res.report_end;
            report6.history = res.report_history;
            report6.rule_id = res.report_key.rule_id;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_COUNTER_REPORT6_BYTES;
        } else if (res.do_report) {
            report.setValid();
            report.tlv_type = FB_TLV_COUNTER_REPORT;
            report.tlv_length = FB_TLV_COUNTER_REPORT_BYTES;
            report.rule_slot = slot;
            report.report_reason = res.report_reason;
            report.key_ingress_port = (bit<16>)res.report_key.ingress_port;
            report.key_ip_proto = res.report_key.protocol;
            report.key_tcp_flags = res.report_key.tcp_flags;
            report.key_ipv4_src = res.report_key.src_addr[31:0];
            report.key_ipv4_dst = res.report_key.dst_addr[31:0];
            report.key_l4_src_port = res.report_key.src_port;
            report.key_l4_dst_port = res.report_key.dst_port;
            report.packets = res.report_packets;
            report.bytes = res.report_bytes;
            report.interval_start = res.report_start;
            report.interval_end = res.report_end;
            report.history = res.report_history;
            report.rule_id = res.report_key.rule_id;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_COUNTER_REPORT_BYTES;
        }
        if (res.is_packet_alert) {
            packet_alert_record.apply(res, slot, FB_THRESHOLD_KIND_PACKETS,
                                      (bit<64>)res.alert_packets, (bit<64>)res.packet_threshold,
                                      packet_alert, packet_alert6, tlv_count, length);
        }
        if (res.is_byte_alert) {
            byte_alert_record.apply(res, slot, FB_THRESHOLD_KIND_BYTES, res.alert_bytes,
                                    (bit<64>)res.byte_threshold, byte_alert, byte_alert6,
                                    tlv_count, length);
        }
        if (res.is_collision && res.collision_key.is_ipv6 == 1) {
            collision6.setValid();
            collision6.tlv_type = FB_TLV_COLLISION6;
            collision6.tlv_length = FB_TLV_COLLISION6_BYTES;
            collision6.rule_slot = slot;
            collision6.reserved = 0;
            collision6.key_ingress_port = (bit<16>)res.collision_key.ingress_port;
            collision6.key_ip_proto = res.collision_key.protocol;
            collision6.key_tcp_flags = res.collision_key.tcp_flags;
            collision6.key_ipv6_src = res.collision_key.src_addr;
            collision6.key_ipv6_dst = res.collision_key.dst_addr;
            collision6.key_l4_src_port = res.collision_key.src_port;
            collision6.key_l4_dst_port = res.collision_key.dst_port;
            collision6.hash_index = res.group_index;
            collision6.rule_id = res.collision_key.rule_id;
            collision6.reserved2 = 0;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_COLLISION6_BYTES;
        } else if (res.is_collision) {
            collision.setValid();
            collision.tlv_type = FB_TLV_COLLISION;
            collision.tlv_length = FB_TLV_COLLISION_BYTES;
            collision.rule_slot = slot;
            collision.reserved = 0;
            collision.key_ingress_port = (bit<16>)res.collision_key.ingress_port;
            collision.key_ip_proto = res.collision_key.protocol;
            collision.key_tcp_flags = res.collision_key.tcp_flags;
            collision.key_ipv4_src = res.collision_key.src_addr[31:0];
            collision.key_ipv4_dst = res.collision_key.dst_addr[31:0];
            collision.key_l4_src_port = res.collision_key.src_port;
            collision.key_l4_dst_port = res.collision_key.dst_port;
            collision.hash_index = res.group_index;
            collision.rule_id = res.collision_key.rule_id;
            collision.reserved2 = 0;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_COLLISION_BYTES;
        }
    }
}

control Feedback(inout headers_t hdr, in metadata_t meta, in timestamp_t now) {
    FeedbackStatsSlot() stats_slot0;
    FeedbackStatsSlot() stats_slot1;
    FeedbackStatsSlot() stats_slot2;
    FeedbackStatsSlot() stats_slot3;

    bit<16> device = 1;

    // Keyless: the controller sets the device id with a default-action write.
    action set_device_id(bit<16> device_id) {
        device = device_id;
    }

    table config {
        key = { }
        actions = { set_device_id; }
        default_action = set_device_id(1);
        size = 1;
    }

    apply {
        bit<8> tlv_count = 0;
        bit<16> length = FEEDBACK_FIXED_BYTES;
        stats_slot0.apply(meta.stats.slot0, 0, hdr.feedback.counter_report[0],
                          hdr.feedback.counter_report6[0],
                          hdr.feedback.threshold_alert[0], hdr.feedback.threshold_alert6[0],
                          hdr.feedback.threshold_alert[1],
                          hdr.feedback.threshold_alert6[1],
                          hdr.feedback.collision[0], hdr.feedback.collision6[0],
                          tlv_count, length);
        stats_slot1.apply(meta.stats.slot1, 1, hdr.feedback.counter_report[1],
                          hdr.feedback.counter_report6[1],
                          hdr.feedback.threshold_alert[2], hdr.feedback.threshold_alert6[2],
                          hdr.feedback.threshold_alert[3],
                          hdr.feedback.threshold_alert6[3],
                          hdr.feedback.collision[1], hdr.feedback.collision6[1],
                          tlv_count, length);
        stats_slot2.apply(meta.stats.slot2, 2, hdr.feedback.counter_report[2],
                          hdr.feedback.counter_report6[2],
                          hdr.feedback.threshold_alert[4], hdr.feedback.threshold_alert6[4],
                          hdr.feedback.threshold_alert[5],
                          hdr.feedback.threshold_alert6[5],
                          hdr.feedback.collision[2], hdr.feedback.collision6[2],
                          tlv_count, length);
        stats_slot3.apply(meta.stats.slot3, 3, hdr.feedback.counter_report[3],
                          hdr.feedback.counter_report6[3],
                          hdr.feedback.threshold_alert[6], hdr.feedback.threshold_alert6[6],
                          hdr.feedback.threshold_alert[7],
                          hdr.feedback.threshold_alert6[7],
                          hdr.feedback.collision[3], hdr.feedback.collision6[3],
                          tlv_count, length);

        bit<8> flags = 0;
        if (meta.syn.is_rewritten && meta.syn.regen.is_ipv6) {
            hdr.feedback.syn_summary6[0].setValid();
            hdr.feedback.syn_summary6[0].tlv_type = FB_TLV_SYN_SUMMARY6;
            hdr.feedback.syn_summary6[0].tlv_length = FB_TLV_SYN_SUMMARY6_BYTES;
            hdr.feedback.syn_summary6[0].reason = meta.syn.regen.reason;
            hdr.feedback.syn_summary6[0].syn_count = meta.syn.regen.syn_count;
            hdr.feedback.syn_summary6[0].ipv6_src = meta.syn.regen.src_addr;
            hdr.feedback.syn_summary6[0].ipv6_dst = meta.syn.regen.dst_addr;
            hdr.feedback.syn_summary6[0].src_port = meta.syn.regen.src_port;
            hdr.feedback.syn_summary6[0].dst_port = meta.syn.regen.dst_port;
            hdr.feedback.syn_summary6[0].isn = meta.syn.regen.isn;
            hdr.feedback.syn_summary6[0].first_seen = meta.syn.regen.first_seen;
            hdr.feedback.syn_summary6[0].last_seen = meta.syn.regen.last_seen;
            flags = flags | FB_FEEDBACK_FLAGS_REGENERATED;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_SYN_SUMMARY6_BYTES;
        } else if (meta.syn.is_rewritten) {
            hdr.feedback.syn_summary[0].setValid();
            hdr.feedback.syn_summary[0].tlv_type = FB_TLV_SYN_SUMMARY;
            hdr.feedback.syn_summary[0].tlv_length = FB_TLV_SYN_SUMMARY_BYTES;
            hdr.feedback.syn_summary[0].reason = meta.syn.regen.reason;
            hdr.feedback.syn_summary[0].syn_count = meta.syn.regen.syn_count;
            hdr.feedback.syn_summary[0].ipv4_src = meta.syn.regen.src_addr[31:0];
            hdr.feedback.syn_summary[0].ipv4_dst = meta.syn.regen.dst_addr[31:0];
            hdr.feedback.syn_summary[0].src_port = meta.syn.regen.src_port;
            hdr.feedback.syn_summary[0].dst_port = meta.syn.regen.dst_port;
            hdr.feedback.syn_summary[0].isn = meta.syn.regen.isn;
            hdr.feedback.syn_summary[0].first_seen = meta.syn.regen.first_seen;
            hdr.feedback.syn_summary[0].last_seen = meta.syn.regen.last_seen;
            flags = flags | FB_FEEDBACK_FLAGS_REGENERATED;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_SYN_SUMMARY_BYTES;
        }
        if (meta.syn.is_not_offloaded) {
            hdr.feedback.not_offloaded[0].setValid();
            hdr.feedback.not_offloaded[0].tlv_type = FB_TLV_NOT_OFFLOADED;
            hdr.feedback.not_offloaded[0].tlv_length = FB_TLV_NOT_OFFLOADED_BYTES;
            hdr.feedback.not_offloaded[0].stage = FB_STAGE_SYN_OFFLOAD;
            hdr.feedback.not_offloaded[0].reason = meta.syn.not_offloaded_reason;
            hdr.feedback.not_offloaded[0].detail = meta.syn.not_offloaded_detail;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_NOT_OFFLOADED_BYTES;
        }

        if (meta.reasm.has_segment) {
            hdr.feedback.stream_segment[0].setValid();
            hdr.feedback.stream_segment[0].tlv_type = FB_TLV_STREAM_SEGMENT;
            hdr.feedback.stream_segment[0].tlv_length = FB_TLV_STREAM_SEGMENT_BYTES;
            hdr.feedback.stream_segment[0].direction = meta.reasm.direction;
            hdr.feedback.stream_segment[0].reserved = 0;
            hdr.feedback.stream_segment[0].flow_id = meta.reasm.flow_id;
            hdr.feedback.stream_segment[0].stream_offset = meta.reasm.stream_offset;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_STREAM_SEGMENT_BYTES;
        }
        if (meta.reasm.has_mode) {
            hdr.feedback.stream_mode[0].setValid();
            hdr.feedback.stream_mode[0].tlv_type = FB_TLV_STREAM_MODE;
            hdr.feedback.stream_mode[0].tlv_length = FB_TLV_STREAM_MODE_BYTES;
            hdr.feedback.stream_mode[0].stream_state = meta.reasm.stream_state;
            hdr.feedback.stream_mode[0].fallback_reason = meta.reasm.fallback_reason;
            hdr.feedback.stream_mode[0].flow_id = meta.reasm.flow_id;
            hdr.feedback.stream_mode[0].orig_offset = meta.reasm.orig_offset;
            hdr.feedback.stream_mode[0].resp_offset = meta.reasm.resp_offset;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_STREAM_MODE_BYTES;
        }
        if (meta.prefilter.has_match) {
            hdr.feedback.protocol_match[0].setValid();
            hdr.feedback.protocol_match[0].tlv_type = FB_TLV_PROTOCOL_MATCH;
            hdr.feedback.protocol_match[0].tlv_length = FB_TLV_PROTOCOL_MATCH_BYTES;
            hdr.feedback.protocol_match[0].match_state = meta.prefilter.match_state;
            hdr.feedback.protocol_match[0].direction = meta.prefilter.direction;
            hdr.feedback.protocol_match[0].protocol_id = meta.prefilter.protocol_id;
            hdr.feedback.protocol_match[0].pattern_id = meta.prefilter.pattern_id;
            hdr.feedback.protocol_match[0].flow_id = meta.prefilter.flow_id;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_PROTOCOL_MATCH_BYTES;
        }
        if (meta.prefilter.has_no_protocol) {
            hdr.feedback.no_protocol[0].setValid();
            hdr.feedback.no_protocol[0].tlv_type = FB_TLV_NO_PROTOCOL;
            hdr.feedback.no_protocol[0].tlv_length = FB_TLV_NO_PROTOCOL_BYTES;
            hdr.feedback.no_protocol[0].reserved = 0;
            hdr.feedback.no_protocol[0].flow_id = meta.prefilter.flow_id;
            hdr.feedback.no_protocol[0].orig_bytes = meta.prefilter.orig_bytes;
            hdr.feedback.no_protocol[0].resp_bytes = meta.prefilter.resp_bytes;
            hdr.feedback.no_protocol[0].packets = meta.prefilter.packets;
            tlv_count = tlv_count + 1;
            length = length + (bit<16>)FB_TLV_NO_PROTOCOL_BYTES;
        }

        // The EtherType after the tags the parser took, where the header goes.
        bit<16> inner_ethertype = hdr.ethernet.ether_type;
        if (hdr.vlan[1].isValid()) {
            inner_ethertype = hdr.vlan[1].ether_type;
        } else if (hdr.vlan[0].isValid()) {
            inner_ethertype = hdr.vlan[0].ether_type;
        }
        if (inner_ethertype == ETHERTYPE_FEEDBACK) {
            flags = flags | FB_FEEDBACK_FLAGS_FOREIGN;
        }

        if (tlv_count != 0 || inner_ethertype == ETHERTYPE_FEEDBACK) {
            config.apply();
            hdr.feedback.fixed.setValid();
            hdr.feedback.fixed.version = FEEDBACK_VERSION;
            hdr.feedback.fixed.flags = flags;
            hdr.feedback.fixed.length = length;
            hdr.feedback.fixed.device_id = device;
            hdr.feedback.fixed.tlv_count = tlv_count;
            hdr.feedback.fixed.reserved = 0;
            hdr.feedback.fixed.timestamp = now;
            // The header goes after the last tag and keeps the EtherType it displaced.
            hdr.feedback.fixed.orig_ethertype = inner_ethertype;
            if (hdr.vlan[1].isValid()) {
                hdr.vlan[1].ether_type = ETHERTYPE_FEEDBACK;
            } else if (hdr.vlan[0].isValid()) {
                hdr.vlan[0].ether_type = ETHERTYPE_FEEDBACK;
            } else {
                hdr.ethernet.ether_type = ETHERTYPE_FEEDBACK;
            }
        }
    }
}

#endif  // NIDS_CONTROL_FEEDBACK_P4
