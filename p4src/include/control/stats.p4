/* Stage 1: masked-field counters (docs/stats-stage.md).
 *
 * `StatsSlot` is one parallel rule slot: a ternary/range rule table and the
 * per-group state of the rules in it. `Stats` instantiates STATS_SLOTS (4,
 * pipeline_spec.p4) of them, slot0..slot3, so a packet can be counted by one
 * rule in every slot. The stage only
 * reads the packet and fills `stats_result_t`; the feedback control turns
 * those results into TLV records. */
#ifndef NIDS_CONTROL_STATS_P4
#define NIDS_CONTROL_STATS_P4

// Letter bits of one packet, in the order they enter the history when a
// packet carries several (Zeek records flag letters before data).
const bit<6> LETTER_S = 6w0x01;  // SYN without ACK
const bit<6> LETTER_H = 6w0x02;  // SYN+ACK
const bit<6> LETTER_F = 6w0x04;  // FIN
const bit<6> LETTER_R = 6w0x08;  // RST
const bit<6> LETTER_A = 6w0x10;  // pure ACK
const bit<6> LETTER_D = 6w0x20;  // payload

// History letter codes are FB_HISTORY_CODE_* (feedback_header.p4): a responder
// letter's code is its originator letter's plus this offset.
const bit<4> RESPONDER_CODE_OFFSET = FB_HISTORY_CODE_s - FB_HISTORY_CODE_S;
// outcomes[] counter indexes are OUTCOME_* (pipeline_spec.p4).

// Adds a history letter unless this direction has recorded it already.
void append_letter(inout bit<12> seen, inout bit<48> codes, in bit<4> code) {
    bit<12> bit_of_code = (bit<12>)1 << (code - 1);
    if ((seen & bit_of_code) == 0) {
        seen = seen | bit_of_code;
        codes = (codes << 4) | (bit<48>)code;
    }
}

control StatsSlot(in flow_fields_t flow, in bit<6> letters, in timestamp_t now,
                  in bit<32> packet_length, inout stats_result_t res) {
    direct_counter(CounterType.packets_and_bytes) rule_hits;
    counter(STATS_GROUPS_PER_SLOT, CounterType.packets_and_bytes) group_totals;
    counter(OUTCOMES, CounterType.packets) outcomes;

    // [343] in use, [342] originator is the lower endpoint, [335:0] the packed
    // key in its IPv6 form (docs/stats-stage.md, "Group state")
    register<bit<344>>(STATS_GROUPS_PER_SLOT) group_key;
    register<bit<32>>(STATS_GROUPS_PER_SLOT) group_packets;
    register<bit<64>>(STATS_GROUPS_PER_SLOT) group_bytes;
    register<bit<48>>(STATS_GROUPS_PER_SLOT) group_start;
    register<bit<48>>(STATS_GROUPS_PER_SLOT) group_last_seen;
    // [59:48] letters seen (bit code-1), [47:0] letter codes, oldest first
    register<bit<64>>(STATS_GROUPS_PER_SLOT) group_history;

    ArchHashGroupKey() group_hash;
    ArchHashGroupKey6() group_hash6;

    bool    is_matched = false;
    bit<16> rule = 0;
    bit<9>  m_port = 0;
    ip_addr_t m_src = 0;
    ip_addr_t m_dst = 0;
    bit<8>  m_proto = 0;
    bit<16> m_sport = 0;
    bit<16> m_dport = 0;
    bit<8>  m_flags = 0;
    bit<1>  is_bidirectional = 0;
    bit<32> interval = 0;
    bit<32> packet_limit = 0;
    bit<48> byte_limit = 0;

    action count_group(bit<16> rule_id, bit<9> port_mask, bit<128> src_mask,
                       bit<128> dst_mask, bit<8> proto_mask, bit<16> sport_mask,
                       bit<16> dport_mask, bit<8> flags_mask, bit<1> bidirectional,
                       bit<32> interval_us, bit<32> packet_threshold,
                       bit<48> byte_threshold) {
        is_matched = true;
        rule = rule_id;
        m_port = port_mask;
        m_src = src_mask;
        m_dst = dst_mask;
        m_proto = proto_mask;
        m_sport = sport_mask;
        m_dport = dport_mask;
        m_flags = flags_mask;
        is_bidirectional = bidirectional;
        interval = interval_us;
        packet_limit = packet_threshold;
        byte_limit = byte_threshold;
    }

    table rules {
        key = {
            flow.ingress_port: ternary @name("ingress_port");
            flow.src_addr:     ternary @name("src_addr");
            flow.dst_addr:     ternary @name("dst_addr");
            flow.protocol:     ternary @name("protocol");
            flow.src_port:     range   @name("src_port");
            flow.dst_port:     range   @name("dst_port");
            flow.tcp_flags:    ternary @name("tcp_flags");
            flow.is_fragment:  ternary @name("is_fragment");
            flow.is_ipv4:      ternary @name("is_ipv4");
            flow.is_ipv6:      ternary @name("is_ipv6");
        }
        actions = {
            count_group;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        counters = rule_hits;
        size = STATS_RULES_PER_SLOT;
    }

    apply {
        rules.apply();
        if (is_matched) {
            stats_key_t key;
            key.rule_id = rule;
            // The family is part of the key when an address is: an IPv4 and an
            // IPv6 group never share a key, and records say how to read it.
            key.is_ipv6 = 0;
            if (m_src != 0 || m_dst != 0) {
                key.is_ipv6 = flow.is_ipv6;
            }
            key.ingress_port = flow.ingress_port & m_port;
            key.protocol = flow.protocol & m_proto;
            key.tcp_flags = flow.tcp_flags & m_flags;
            // An address mask counts from the address's first bit: IPv6 takes
            // all of it, IPv4 (in the low 32 bits) its top 32 bits.
            if (flow.is_ipv6 == 1) {
                key.src_addr = flow.src_addr & m_src;
                key.dst_addr = flow.dst_addr & m_dst;
            } else {
                key.src_addr = (ip_addr_t)(flow.src_addr[31:0] & m_src[127:96]);
                key.dst_addr = (ip_addr_t)(flow.dst_addr[31:0] & m_dst[127:96]);
            }
            key.src_port = flow.src_port & m_sport;
            key.dst_port = flow.dst_port & m_dport;

            // Bidirectional groups keep the lower endpoint first, so both
            // directions of a connection land in one group.
            bool is_swapped = false;
            if (is_bidirectional == 1) {
                if (key.src_addr > key.dst_addr
                        || (key.src_addr == key.dst_addr && key.src_port > key.dst_port)) {
                    is_swapped = true;
                    ip_addr_t a = key.src_addr;
                    key.src_addr = key.dst_addr;
                    key.dst_addr = a;
                    bit<16> p = key.src_port;
                    key.src_port = key.dst_port;
                    key.dst_port = p;
                }
            }
            // The stored form has room for IPv6 addresses; an IPv4 key hashes
            // as its 144-bit form (addresses of 32 bits), an IPv6 one as all of it.
            bit<336> packed = key.rule_id ++ key.is_ipv6 ++ 6w0 ++ key.ingress_port
                ++ key.protocol ++ key.tcp_flags ++ key.src_addr ++ key.dst_addr
                ++ key.src_port ++ key.dst_port;

            bit<32> index;
            if (key.is_ipv6 == 1) {
                group_hash6.apply(packed, (bit<32>)STATS_GROUPS_PER_SLOT, index);
            } else {
                bit<144> packed4 = key.rule_id ++ 7w0 ++ key.ingress_port ++ key.protocol
                    ++ key.tcp_flags ++ key.src_addr[31:0] ++ key.dst_addr[31:0]
                    ++ key.src_port ++ key.dst_port;
                group_hash.apply(packed4, (bit<32>)STATS_GROUPS_PER_SLOT, index);
            }

            bit<344> stored;
            group_key.read(stored, index);
            bit<32> packets;
            bit<64> bytes;
            bit<48> start;
            bit<48> last_seen;
            bit<64> history;
            group_packets.read(packets, index);
            group_bytes.read(bytes, index);
            group_start.read(start, index);
            group_last_seen.read(last_seen, index);
            group_history.read(history, index);

            bool is_usable = true;
            if (stored[343:343] == 1 && stored[335:0] != packed) {
                // Another group holds the index. It may be taken over once it
                // has been idle for two intervals, and its last figures leave
                // as an eviction report so nothing is lost; otherwise this
                // packet is a collision and is not merged into the other group.
                if (interval != 0 && now - last_seen >= (bit<48>)interval + (bit<48>)interval) {
                    res.do_report = true;
                    res.report_reason = FB_REPORT_REASON_EVICTED;
                    res.report_key.rule_id = stored[335:320];
                    res.report_key.is_ipv6 = stored[319:319];
                    res.report_key.ingress_port = stored[312:304];
                    res.report_key.protocol = stored[303:296];
                    res.report_key.tcp_flags = stored[295:288];
                    res.report_key.src_addr = stored[287:160];
                    res.report_key.dst_addr = stored[159:32];
                    res.report_key.src_port = stored[31:16];
                    res.report_key.dst_port = stored[15:0];
                    res.report_packets = packets;
                    res.report_bytes = bytes;
                    res.report_start = start;
                    res.report_end = last_seen;
                    res.report_history = history[47:0];
                    outcomes.count(OUTCOME_REPORT);
                    stored = 0;
                } else {
                    is_usable = false;
                    res.is_collision = true;
                    res.collision_key = key;
                    res.group_index = index;
                    outcomes.count(OUTCOME_COLLISION);
                }
            }

            if (is_usable) {
                if (stored[343:343] == 0) {
                    // A new group: the sender of its first packet is the originator.
                    bit<1> orig_low = 1;
                    if (is_swapped) {
                        orig_low = 0;
                    }
                    stored = 1w1 ++ orig_low ++ 6w0 ++ packed;
                    group_key.write(index, stored);
                    packets = 0;
                    bytes = 0;
                    start = now;
                    history = 0;
                } else if (interval != 0 && now - start >= (bit<48>)interval) {
                    res.do_report = true;
                    res.report_reason = FB_REPORT_REASON_INTERVAL;
                    res.report_key = key;
                    res.report_packets = packets;
                    res.report_bytes = bytes;
                    res.report_start = start;
                    res.report_end = last_seen;
                    res.report_history = history[47:0];
                    outcomes.count(OUTCOME_REPORT);
                    packets = 0;
                    bytes = 0;
                    start = now;
                }

                bit<32> new_packets = packets + 1;
                bit<64> new_bytes = bytes + (bit<64>)packet_length;
                // Thresholds fire on the packet that crosses them, once per interval.
                if (packet_limit != 0 && packets < packet_limit && new_packets >= packet_limit) {
                    res.is_packet_alert = true;
                }
                if (byte_limit != 0 && bytes < (bit<64>)byte_limit
                        && new_bytes >= (bit<64>)byte_limit) {
                    res.is_byte_alert = true;
                }
                if (res.is_packet_alert || res.is_byte_alert) {
                    res.alert_key = key;
                    res.alert_packets = new_packets;
                    res.alert_bytes = new_bytes;
                    res.packet_threshold = packet_limit;
                    res.byte_threshold = byte_limit;
                    res.alert_start = start;
                    outcomes.count(OUTCOME_ALERT);
                }

                // Connection history: the originator's letters in upper case.
                bool is_orig = true;
                if (is_bidirectional == 1) {
                    is_orig = (stored[342:342] == 1) != is_swapped;
                }
                bit<4> offset = 0;
                if (!is_orig) {
                    offset = RESPONDER_CODE_OFFSET;
                }
                bit<12> seen = history[59:48];
                bit<48> codes = history[47:0];
                if ((letters & LETTER_S) != 0) {
                    append_letter(seen, codes, FB_HISTORY_CODE_S + offset);
                }
                if ((letters & LETTER_H) != 0) {
                    append_letter(seen, codes, FB_HISTORY_CODE_H + offset);
                }
                if ((letters & LETTER_F) != 0) {
                    append_letter(seen, codes, FB_HISTORY_CODE_F + offset);
                }
                if ((letters & LETTER_R) != 0) {
                    append_letter(seen, codes, FB_HISTORY_CODE_R + offset);
                }
                if ((letters & LETTER_A) != 0) {
                    append_letter(seen, codes, FB_HISTORY_CODE_A + offset);
                }
                if ((letters & LETTER_D) != 0) {
                    append_letter(seen, codes, FB_HISTORY_CODE_D + offset);
                }

                group_packets.write(index, new_packets);
                group_bytes.write(index, new_bytes);
                group_start.write(index, start);
                group_last_seen.write(index, now);
                group_history.write(index, 4w0 ++ seen ++ codes);
                group_totals.count(index);
                outcomes.count(OUTCOME_COUNTED);
                res.is_counted = true;
                res.rule_id = rule;
                res.group_index = index;
            }
        }
    }
}

// True if a slot's result becomes at least one feedback record.
bool has_records(in stats_result_t res) {
    return res.do_report || res.is_packet_alert || res.is_byte_alert || res.is_collision;
}

control Stats(in flow_fields_t flow, in timestamp_t now, in bit<32> packet_length,
              inout stats_results_t results) {
    StatsSlot() slot0;
    StatsSlot() slot1;
    StatsSlot() slot2;
    StatsSlot() slot3;

    apply {
        // Zeek's history letters this packet carries (TCP only).
        bit<6> letters = 0;
        if (flow.protocol == IP_PROTO_TCP && flow.is_fragment == 0) {
            if ((flow.tcp_flags & TCP_SYN) != 0) {
                if ((flow.tcp_flags & TCP_ACK) != 0) {
                    letters = letters | LETTER_H;
                } else {
                    letters = letters | LETTER_S;
                }
            }
            if ((flow.tcp_flags & TCP_FIN) != 0) {
                letters = letters | LETTER_F;
            }
            if ((flow.tcp_flags & TCP_RST) != 0) {
                letters = letters | LETTER_R;
            }
            if ((flow.tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) == TCP_ACK
                    && flow.l4_payload_length == 0) {
                letters = letters | LETTER_A;
            }
            if (flow.l4_payload_length != 0) {
                letters = letters | LETTER_D;
            }
        }
        slot0.apply(flow, letters, now, packet_length, results.slot0);
        slot1.apply(flow, letters, now, packet_length, results.slot1);
        slot2.apply(flow, letters, now, packet_length, results.slot2);
        slot3.apply(flow, letters, now, packet_length, results.slot3);
    }
}

#endif  // NIDS_CONTROL_STATS_P4
