/* Stage 4: pattern prefilters and protocol detection (docs/prefilter.md;
 * paper §2.4).
 *
 * TCP: on the reassembly stage's in-order stream. Per flow (slot = flow id
 * modulo PREFILTER_SLOTS, the flow id kept to tell a slot another flow took)
 * and direction the first PF_HEAD_BYTES stream bytes are collected, whatever
 * the segment sizes, and matched against the ternary pattern table each time
 * they grow. A hit decides the flow's protocol (a PROTOCOL_MATCH record), or,
 * for half a pair (a request that names the protocol only together with its
 * response), records its class: the pairs table maps the two directions'
 * classes to the protocol. The decision is kept in the slot: later segments carry
 * it (match_state KNOWN) without a lookup. With negative matching on, a flow
 * whose both directions have `negative_bytes` bytes without a match is cut: a
 * NO_PROTOCOL record on that packet, and its later packets are not forwarded
 * (FIN and RST still are; the stats stage counted them all before), unless the
 * exceptions table keeps it. Software-mode and untracked connections are never
 * cut: the monitor matches those itself.
 *
 * UDP: each datagram's first bytes are matched on their own (match_state
 * DATAGRAM); UDP flows are never cut. */
#ifndef NIDS_CONTROL_PREFILTER_P4
#define NIDS_CONTROL_PREFILTER_P4

control Prefilter(in headers_t hdr, in flow_fields_t flow, in bit<8> taken,
                  in reassembly_result_t reasm, in bool has_monitor,
                  in bool has_stats_records, inout prefilter_result_t res,
                  inout standard_metadata_t standard_metadata) {
    // Per slot, 20 bytes:
    // [159:128] flow id
    // [127:112] protocol id decided (0: none)   [111:96] pattern id that decided it
    // [95:80]   class of the originator's last half match (a pattern that decides
    //           only with one of the other direction: the pairs table)
    // [79:64]   class of the responder's last half match
    // [63:56]   originator bytes collected      [55:48] responder bytes collected
    // [47:40]   flags: [40] decided, [41] cut (no protocol), [42] decided by the
    //           responder's bytes, [43] kept by an exception
    // [39:32]   0   [31:0] packets of the flow seen by the stage
    register<bit<160>>(PREFILTER_SLOTS) flows;
    // The first PF_HEAD_BYTES stream bytes of each direction, first byte in [127:120].
    register<bit<128>>(PREFILTER_SLOTS) orig_head;
    register<bit<128>>(PREFILTER_SLOTS) resp_head;
    counter(PF_OUTCOMES, CounterType.packets) outcomes;

    bool    is_enabled = false;
    bit<8>  negative = 0;

    action configure(bit<8> negative_bytes) {
        is_enabled = true;
        negative = negative_bytes;
    }

    action disable() {
        is_enabled = false;
    }

    // Keyless: the controller enables the stage with a default-action write.
    table config {
        key = { }
        actions = { configure; disable; }
        default_action = disable();
        size = 1;
    }

    bit<8>   key_protocol = 0;
    bit<8>   key_direction = 0;
    bit<8>   key_length = 0;
    bit<128> key_data = 0;
    bit<16>  key_src_port = 0;
    bit<16>  key_dst_port = 0;
    bool     is_hit = false;
    bit<16>  hit_protocol = 0;
    bit<16>  hit_pattern = 0;
    bit<16>  hit_class = 0;

    // protocol_id 0: a half match, class_id says which (the pairs table decides).
    action matched(bit<16> protocol_id, bit<16> pattern_id, bit<16> class_id) {
        is_hit = true;
        hit_protocol = protocol_id;
        hit_pattern = pattern_id;
        hit_class = class_id;
    }

    // The patterns, compiled by the controller from rules.yaml `prefilters:`.
    table patterns {
        key = {
            key_protocol:  ternary @name("l4_protocol");
            key_direction: ternary @name("direction");
            key_length:    range   @name("length");
            key_data:      ternary @name("data");
            key_src_port:  ternary @name("src_port");
            key_dst_port:  ternary @name("dst_port");
        }
        actions = { matched; @defaultonly NoAction; }
        default_action = NoAction();
        size = PF_MAX_PATTERNS;
    }

    bit<16> key_orig_class = 0;
    bit<16> key_resp_class = 0;
    bit<16> pair_protocol = 0;

    action decide(bit<16> protocol_id) {
        pair_protocol = protocol_id;
    }

    // A request's class and a response's: the protocol both together name.
    table pairs {
        key = {
            key_orig_class: exact @name("orig_class");
            key_resp_class: exact @name("resp_class");
        }
        actions = { decide; @defaultonly NoAction; }
        default_action = NoAction();
        size = PF_MAX_PATTERNS;
    }

    ip_addr_t key_orig_addr = 0;
    ip_addr_t key_resp_addr = 0;
    bit<16>   key_resp_port = 0;
    bool      is_kept = false;

    action keep() {
        is_kept = true;
    }

    // Connections negative matching never cuts.
    table exceptions {
        key = {
            key_orig_addr: ternary @name("orig_addr");
            key_resp_addr: ternary @name("resp_addr");
            key_resp_port: ternary @name("resp_port");
        }
        actions = { keep; @defaultonly NoAction; }
        default_action = NoAction();
        size = PF_MAX_EXCEPTIONS;
    }

    apply {
        config.apply();
        bool is_udp = is_enabled && has_monitor && hdr.udp.isValid()
            && flow.is_fragment == 0 && taken != 0;
        // A connection the reassembly stage keeps in switch mode (closing included).
        bool is_tcp = is_enabled && has_monitor && hdr.tcp.isValid() && reasm.flow_id != 0
            && !(reasm.has_mode && reasm.stream_state == FB_STREAM_STATE_FALLBACK);
        // This packet's first payload bytes, the first in [127:120].
        bit<128> seg = 0;
        if (hdr.payload_head.isValid()) {
            seg = hdr.payload_head.data;
        } else if (is_udp || is_tcp) {
            if (hdr.payload[0].isValid()) { seg[127:120] = hdr.payload[0].data; }
            if (hdr.payload[1].isValid()) { seg[119:112] = hdr.payload[1].data; }
            if (hdr.payload[2].isValid()) { seg[111:104] = hdr.payload[2].data; }
            if (hdr.payload[3].isValid()) { seg[103:96] = hdr.payload[3].data; }
            if (hdr.payload[4].isValid()) { seg[95:88] = hdr.payload[4].data; }
            if (hdr.payload[5].isValid()) { seg[87:80] = hdr.payload[5].data; }
            if (hdr.payload[6].isValid()) { seg[79:72] = hdr.payload[6].data; }
            if (hdr.payload[7].isValid()) { seg[71:64] = hdr.payload[7].data; }
            if (hdr.payload[8].isValid()) { seg[63:56] = hdr.payload[8].data; }
            if (hdr.payload[9].isValid()) { seg[55:48] = hdr.payload[9].data; }
            if (hdr.payload[10].isValid()) { seg[47:40] = hdr.payload[10].data; }
            if (hdr.payload[11].isValid()) { seg[39:32] = hdr.payload[11].data; }
            if (hdr.payload[12].isValid()) { seg[31:24] = hdr.payload[12].data; }
            if (hdr.payload[13].isValid()) { seg[23:16] = hdr.payload[13].data; }
            if (hdr.payload[14].isValid()) { seg[15:8] = hdr.payload[14].data; }
        }

        bit<32> id = reasm.flow_id;
        bit<32> index = id & (PREFILTER_SLOTS - 1);
        bit<160> st = 0;
        bit<128> oh = 0;
        bit<128> rh = 0;
        bool is_mine = false;
        bool is_orig = reasm.direction == FB_DIRECTION_ORIGINATOR;
        bool is_written = false;
        bool do_lookup = false;

        if (is_udp) {
            key_protocol = IP_PROTO_UDP;
            key_direction = FB_DIRECTION_ORIGINATOR;
            key_length = taken;
            key_data = seg;
            key_src_port = flow.src_port;
            key_dst_port = flow.dst_port;
            do_lookup = true;
        } else if (is_tcp) {
            flows.read(st, index);
            orig_head.read(oh, index);
            resp_head.read(rh, index);
            is_mine = st[159:128] == id;
            bool is_fresh = reasm.orig_offset == 0 && reasm.resp_offset == 0;
            if (!is_mine && (is_fresh || (reasm.has_segment && reasm.stream_offset == 0))) {
                // No stream byte yet, or a direction's first: the slot is its now.
                st = id ++ 128w0;
                oh = 0;
                rh = 0;
                is_mine = true;
            }
            if (!is_mine) {
                if (reasm.has_segment && reasm.stream_offset < PF_HEAD_BYTES) {
                    // Its head went into a slot another flow has taken since.
                    outcomes.count(PF_OUTCOME_LOST);
                    res.has_match = true;
                    res.match_state = FB_MATCH_STATE_NO_STATE;
                    res.direction = reasm.direction;
                    res.flow_id = id;
                }
            } else {
                is_written = true;
                st[31:0] = st[31:0] + 1;
                if (reasm.has_segment) {
                    outcomes.count(PF_OUTCOME_SEGMENTS);
                    bit<8> have = st[55:48];
                    bit<128> head = rh;
                    if (is_orig) {
                        have = st[63:56];
                        head = oh;
                    }
                    if (st[41:40] == 0 && (bit<32>)have == reasm.stream_offset
                            && have < PF_HEAD_BYTES) {
                        // In order and within the head: append, match.
                        head = head | (seg >> (have << 3));
                        bit<8> total = have + taken;
                        if (total > PF_HEAD_BYTES) {
                            total = PF_HEAD_BYTES;
                        }
                        if (is_orig) {
                            oh = head;
                            st[63:56] = total;
                            key_src_port = flow.src_port;
                            key_dst_port = flow.dst_port;
                        } else {
                            rh = head;
                            st[55:48] = total;
                            key_src_port = flow.dst_port;
                            key_dst_port = flow.src_port;
                        }
                        key_protocol = IP_PROTO_TCP;
                        key_direction = reasm.direction;
                        key_length = total;
                        key_data = head;
                        do_lookup = total != have;
                    }
                }
            }
        }

        if (do_lookup) {
            outcomes.count(PF_OUTCOME_LOOKUPS);
            patterns.apply();
        }

        if (is_udp && is_hit) {
            outcomes.count(PF_OUTCOME_DATAGRAMS);
            res.has_match = true;
            res.match_state = FB_MATCH_STATE_DATAGRAM;
            res.direction = FB_DIRECTION_ORIGINATOR;
            res.protocol_id = hit_protocol;
            res.pattern_id = hit_pattern;
            res.flow_id = 0;
        } else if (is_tcp && is_mine) {
            bool was_cut = st[41:41] == 1;
            bit<16> decided = hit_protocol;
            if (is_hit && hit_protocol == 0) {
                // Half a pair: remember its class, look the two classes up.
                outcomes.count(PF_OUTCOME_HALF);
                if (is_orig) {
                    st[95:80] = hit_class;
                } else {
                    st[79:64] = hit_class;
                }
                key_orig_class = st[95:80];
                key_resp_class = st[79:64];
                if (key_orig_class != 0 && key_resp_class != 0) {
                    pairs.apply();
                    decided = pair_protocol;
                }
            }
            if (is_hit) {
                if (decided != 0) {
                    outcomes.count(PF_OUTCOME_MATCHED);
                    st[127:112] = decided;
                    st[111:96] = hit_pattern;
                    st[40:40] = 1;
                    if (is_orig) {
                        st[42:42] = 0;
                    } else {
                        st[42:42] = 1;
                    }
                    res.has_match = true;
                    res.match_state = FB_MATCH_STATE_MATCHED;
                    res.direction = reasm.direction;
                    res.protocol_id = decided;
                    res.pattern_id = hit_pattern;
                    res.flow_id = id;
                }
            } else if (reasm.has_segment && st[40:40] == 1) {
                // Decided before: the flow state names it.
                outcomes.count(PF_OUTCOME_KNOWN);
                res.has_match = true;
                res.match_state = FB_MATCH_STATE_KNOWN;
                res.direction = FB_DIRECTION_ORIGINATOR;
                if (st[42:42] == 1) {
                    res.direction = FB_DIRECTION_RESPONDER;
                }
                res.protocol_id = st[127:112];
                res.pattern_id = st[111:96];
                res.flow_id = id;
            }

            // Negative matching: both directions have their first bytes, none matched.
            if (negative != 0 && reasm.has_segment && st[43:40] == 0
                    && st[63:56] >= negative && st[55:48] >= negative) {
                if (is_orig) {
                    key_orig_addr = flow.src_addr;
                    key_resp_addr = flow.dst_addr;
                    key_resp_port = flow.dst_port;
                } else {
                    key_orig_addr = flow.dst_addr;
                    key_resp_addr = flow.src_addr;
                    key_resp_port = flow.src_port;
                }
                exceptions.apply();
                if (is_kept) {
                    outcomes.count(PF_OUTCOME_EXCEPTED);
                    st[43:43] = 1;
                } else {
                    outcomes.count(PF_OUTCOME_NO_PROTOCOL);
                    st[41:41] = 1;
                    res.has_no_protocol = true;
                    res.flow_id = id;
                    bit<32> len = (bit<32>)flow.l4_payload_length;
                    res.orig_bytes = reasm.orig_offset;
                    res.resp_bytes = reasm.resp_offset;
                    if (is_orig) {
                        res.orig_bytes = res.orig_bytes + len;
                    } else {
                        res.resp_bytes = res.resp_bytes + len;
                    }
                    res.packets = st[31:0];
                }
            }

            if (was_cut && (flow.tcp_flags & (TCP_FIN | TCP_RST)) == 0) {
                // No protocol: the monitor would ignore it. FIN and RST still pass.
                outcomes.count(PF_OUTCOME_CUT);
                if (has_stats_records) {
                    res.is_records_only = true;
                } else {
                    mark_to_drop(standard_metadata);
                }
            }
        }

        if (is_written) {
            flows.write(index, st);
            orig_head.write(index, oh);
            resp_head.write(index, rh);
        }
    }
}

#endif  // NIDS_CONTROL_PREFILTER_P4
