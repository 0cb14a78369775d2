/* Stage 3: TCP stream reassembly (docs/reassembly.md; paper §2.3).
 *
 * A session table in registers follows every connection from its SYN-ACK on
 * (after SYN offload: only connections that got an answer enter it). While a
 * connection is in switch mode, each direction's payload leaves strictly in
 * sequence order, each segment tagged with a STREAM_SEGMENT record (flow id,
 * direction, stream offset); a segment whose bytes were all delivered before
 * is dropped and counted (first copy wins). Anything the switch cannot keep in
 * order (a segment ahead of a gap that cannot be held or whose gap does not
 * fill in time, a partial overlap, a truncated packet, a slot held by another
 * connection) hands the connection to software: a STREAM_MODE record on that packet says up to
 * which offset each direction was delivered, and every later packet of the
 * connection passes unmodified, marked with STREAM_MODE FALLBACK. No byte is
 * ever dropped unless an identical range was delivered (or is held) before,
 * and none is delivered out of order while in switch mode.
 *
 * Holding: a segment ahead of the expected sequence number goes round a
 * bounded recirculation loop (egress recirculates it with field list
 * FIELD_LIST_REASM_HOLD; ingress serves new arrivals between two passes). On
 * each later pass it is delivered once the gap before it has filled, dropped
 * if its bytes were delivered meanwhile, and released unmodified and marked
 * FALLBACK if the connection fell back, its gap timed out or its session ended.
 * Held segments are counted per session and in all, within the rules' budgets.
 *
 * The stage reads only the flow fields (FlowFields), so the key is the one
 * every stage uses. */
#ifndef NIDS_CONTROL_REASSEMBLY_P4
#define NIDS_CONTROL_REASSEMBLY_P4

// Session states (status[2:0]); FREE, CLOSED and RESET slots may be taken.
const bit<3> REASM_FREE = 0;
const bit<3> REASM_ESTABLISHED = 1;
const bit<3> REASM_CLOSED = 2;
const bit<3> REASM_RESET = 3;
// Reassembly mode (status[7]).
const bit<1> REASM_MODE_SWITCH = 0;
const bit<1> REASM_MODE_SOFTWARE = 1;

control Reassembly(in flow_fields_t flow, in bool has_monitor, in bool has_stats_records,
                   in port_t monitor_port, in bool is_duplicated, in bool is_held_pass,
                   inout reassembly_result_t res, inout reasm_hold_t hold,
                   inout standard_metadata_t standard_metadata, in timestamp_t now) {
    // One session per slot, 32 bytes:
    // [255:224] originator address   [223:192] responder address (IPv4; IPv6: the
    //           first 64 bits of originator ++ responder address, the rest in addrs6)
    // [191:176] originator port      [175:160] responder port
    // [159:128] flow id
    // [127:96]  originator stream base (its ISN + 1)   [95:64] originator next sequence number
    // [63:32]   responder stream base (its ISN + 1)    [31:0]  responder next sequence number
    register<bit<256>>(REASSEMBLY_SLOTS) sessions;
    // Per slot, 6 bytes:
    // [47:16] last packet, low 32 bits of the µs clock
    // [15:12] segments held   [11:8] fallback reason (FB_FALLBACK_REASON_*) of a
    //         software-mode session
    // [7] mode (REASM_MODE_*)   [6] IPv6   [5] direction holding (1 responder)
    // [4] responder FIN seen   [3] originator FIN seen   [2:0] state (REASM_FREE ...)
    register<bit<48>>(REASSEMBLY_SLOTS) status;
    // Per slot, 24 bytes: the last 192 bits of an IPv6 session's addresses.
    register<bit<192>>(REASSEMBLY_SLOTS) addrs6;
    // Per slot, 8 bytes, while segments are held: [63:32] the lowest sequence number
    // held (or a bound below every held one), [31:16] that segment's length (0:
    // unknown), [15:0] bytes of sequence space from there to the end of the last held.
    register<bit<64>>(REASSEMBLY_SLOTS) holds;
    // [0]: the last flow id given out (ids start at 1; 0 means none).
    register<bit<32>>(1) flow_ids;
    // [0] segments held now, all sessions; [1] the most held at once.
    register<bit<32>>(2) held;
    counter(REASM_OUTCOMES, CounterType.packets) outcomes;
    ArchHashEndpoints() endpoints_hash;
    ArchHashEndpoints6() endpoints_hash6;

    bool    is_enabled = false;
    bit<32> slots = REASSEMBLY_SLOTS;
    bit<32> idle_timeout = REASM_MAX_IDLE_TIMEOUT_US;
    bit<32> per_flow = 0;
    bit<32> total = 0;
    bit<32> gap_timeout = 0;

    action configure(bit<32> table_slots, bit<32> idle_timeout_us, bit<32> hold_per_flow,
                     bit<32> hold_total, bit<32> gap_timeout_us) {
        is_enabled = true;
        slots = table_slots;
        idle_timeout = idle_timeout_us;
        per_flow = hold_per_flow;
        total = hold_total;
        gap_timeout = gap_timeout_us;
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

    apply {
        config.apply();
        if (slots == 0 || slots > REASSEMBLY_SLOTS) {
            slots = REASSEMBLY_SLOTS;
        }
        if (per_flow > 15) {
            per_flow = 15;
        }
        bool is_tcp = (flow.is_ipv4 == 1 || flow.is_ipv6 == 1) && flow.protocol == IP_PROTO_TCP
            && flow.is_fragment == 0 && has_monitor;
        if (is_held_pass || (is_enabled && is_tcp)) {
            if (!is_held_pass) {
                outcomes.count(REASM_OUTCOME_TCP_SEEN);
            }
            bool is_v6 = flow.is_ipv6 == 1;
            ip_addr_t src = flow.src_addr;
            ip_addr_t dst = flow.dst_addr;
            bit<16> sport = flow.src_port;
            bit<16> dport = flow.dst_port;
            bit<32> now32 = (bit<32>)now;

            // Both directions of a connection hash to one slot.
            bit<32> index;
            bool is_low_first = src < dst || (src == dst && sport <= dport);
            if (is_v6 && is_low_first) {
                endpoints_hash6.apply(src, dst, sport, dport, slots, index);
            } else if (is_v6) {
                endpoints_hash6.apply(dst, src, dport, sport, slots, index);
            } else if (is_low_first) {
                endpoints_hash.apply(src[31:0], dst[31:0], sport, dport, slots, index);
            } else {
                endpoints_hash.apply(dst[31:0], src[31:0], dport, sport, slots, index);
            }
            // The addresses as a session keeps them, this packet's source first or last.
            bit<256> src_dst = src[31:0] ++ dst[31:0] ++ 192w0;
            bit<256> dst_src = dst[31:0] ++ src[31:0] ++ 192w0;
            if (is_v6) {
                src_dst = src ++ dst;
                dst_src = dst ++ src;
            }
            bit<256> sess;
            bit<48> st;
            bit<192> a6;
            bit<64> hd;
            sessions.read(sess, index);
            status.read(st, index);
            addrs6.read(a6, index);
            holds.read(hd, index);
            bit<32> held_now;
            held.read(held_now, 0);
            bit<3> state = st[2:0];
            bit<32> idle = now32 - st[47:16];
            bool is_live = state == REASM_ESTABLISHED && (is_held_pass || idle < idle_timeout);
            // The full key: family, both addresses, both ports.
            bit<256> addrs = sess[255:192] ++ a6;
            bool is_family = st[6:6] == flow.is_ipv6;
            bool is_orig = is_family && addrs == src_dst && sess[191:160] == sport ++ dport;
            bool is_resp = is_family && addrs == dst_src && sess[191:160] == dport ++ sport;

            bit<8> flags = flow.tcp_flags;
            bool is_syn_ack = (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK);
            bool is_syn = (flags & TCP_SYN) != 0;
            bool is_fin = (flags & TCP_FIN) != 0;
            bool is_rst = (flags & TCP_RST) != 0;

            bool is_written = false;
            bit<256> new_sess = sess;
            bit<48> new_st = st;
            bit<64> new_hd = hd;
            bool is_dropped = false;
            // A held segment leaves the loop (delivered, dropped or marked) on this pass.
            bool is_released = false;
            bool is_kept = false;

            if (is_held_pass && !(is_live && (is_orig || is_resp)
                                  && sess[159:128] == hold.flow_id)) {
                // Its session ended (a RST, both FINs, the slot taken): it leaves
                // unmodified and without a record, like every packet after the end.
                is_released = true;
            } else if (is_held_pass) {
                // handled with the session's packets below
            } else if (is_syn_ack && is_live && is_resp) {
                // The SYN-ACK again: the session stands.
                new_st[47:16] = now32;
                is_written = true;
            } else if (is_syn_ack && !is_live) {
                // A new session: the SYN-ACK's destination is the originator; its
                // ACK is the originator's ISN + 1, its sequence number the responder's ISN.
                bit<32> last_id;
                flow_ids.read(last_id, 0);
                bit<32> id = last_id + 1;
                flow_ids.write(0, id);
                bit<32> orig_base = flow.tcp_ack_no;
                bit<32> resp_base = flow.tcp_seq_no + 1;
                new_sess = dst_src[255:192] ++ dport ++ sport ++ id ++ orig_base ++ orig_base
                    ++ resp_base ++ resp_base;
                new_st = now32 ++ 4w0 ++ 4w0 ++ REASM_MODE_SWITCH
                    ++ flow.is_ipv6 ++ 3w0 ++ REASM_ESTABLISHED;
                addrs6.write(index, dst_src[191:0]);
                is_written = true;
                outcomes.count(REASM_OUTCOME_OPENED);
            } else if (is_syn_ack) {
                // The slot holds another live connection: this one is software's.
                outcomes.count(REASM_OUTCOME_COLLISION);
                res.has_mode = true;
                res.stream_state = FB_STREAM_STATE_FALLBACK;
                res.fallback_reason = FB_FALLBACK_REASON_HASH_COLLISION;
                res.flow_id = 0;
                res.orig_offset = 0;
                res.resp_offset = 0;
            }
            if (!is_released && (is_held_pass
                    || (!is_syn_ack && is_live && (is_orig || is_resp) && !is_syn))) {
                if (!is_held_pass) {
                    new_st[47:16] = now32;
                }
                is_written = true;
                bit<32> flow_id = sess[159:128];
                bit<32> orig_base = sess[127:96];
                bit<32> orig_next = sess[95:64];
                bit<32> resp_base = sess[63:32];
                bit<32> resp_next = sess[31:0];
                res.flow_id = flow_id;
                res.orig_offset = orig_next - orig_base;
                res.resp_offset = resp_next - resp_base;
                bit<4> held_count = st[15:12];

                if (st[7:7] == REASM_MODE_SOFTWARE) {
                    // A held segment leaves like every packet of the connection now.
                    is_released = is_held_pass;
                    if (!is_held_pass) {
                        outcomes.count(REASM_OUTCOME_SOFTWARE);
                    }
                    res.has_mode = true;
                    res.stream_state = FB_STREAM_STATE_FALLBACK;
                    res.fallback_reason = (bit<8>)st[11:8];
                    if (is_rst) {
                        new_st[2:0] = REASM_RESET;
                        outcomes.count(REASM_OUTCOME_CLOSED);
                    }
                } else {
                    bit<32> next = resp_next;
                    bit<32> base = resp_base;
                    bit<1> dir = 1;
                    if (is_orig) {
                        next = orig_next;
                        base = orig_base;
                        dir = 0;
                    }
                    bit<32> seq = flow.tcp_seq_no;
                    bit<32> len = (bit<32>)flow.l4_payload_length;
                    // Sequence space the segment takes: its payload, and one for a FIN.
                    bit<32> span = len;
                    if (is_fin) {
                        span = span + 1;
                    }
                    bit<32> seg_end = seq + span;
                    bit<32> ahead = seq - next;          // < 2^31: at or after next
                    bit<32> past = seg_end - next;       // < 2^31 and != 0: ends after next
                    bool is_new_end = past != 0 && past[31:31] == 0;
                    // What this direction holds: a range from `low` on.
                    bool has_hold = held_count != 0 && st[5:5] == dir;
                    bit<32> low = hd[63:32];
                    bit<32> low_span = (bit<32>)hd[31:16];
                    bit<32> hold_high = low + (bit<32>)hd[15:0];
                    bit<32> over_low = seg_end - low;    // < 2^31 and != 0: ends after low
                    bool is_at_low = !is_held_pass && has_hold && seq == low && low_span != 0;
                    bool is_over_held = !is_held_pass && has_hold && over_low != 0
                        && over_low[31:31] == 0;
                    bit<8> reason = FB_FALLBACK_REASON_NONE;

                    if (flow.is_truncated == 1) {
                        // Its payload is not all there: the monitor gets it as it is.
                        reason = FB_FALLBACK_REASON_TRUNCATED;
                    } else if (is_rst) {
                        // The connection ends here; what a RST carries is not stream.
                        new_st[2:0] = REASM_RESET;
                        outcomes.count(REASM_OUTCOME_CLOSED);
                        res.has_mode = true;
                        res.stream_state = FB_STREAM_STATE_CLOSED;
                        res.fallback_reason = FB_FALLBACK_REASON_NONE;
                    } else if (span == 0) {
                        // A pure ACK (or window update): no stream bytes, passed as it is.
                    } else if (is_at_low && ahead[31:31] == 0 && span == low_span) {
                        // Another copy of the lowest held segment: the held one came
                        // first and wins.
                        outcomes.count(REASM_OUTCOME_DUPLICATE);
                        is_dropped = true;
                    } else if (is_at_low && ahead[31:31] == 0) {
                        // Same start as a held segment, another length: which bytes
                        // the receiver keeps cannot be told.
                        reason = FB_FALLBACK_REASON_INCONSISTENT_OVERLAP;
                    } else if (ahead == 0 && is_over_held) {
                        // In order, but running into held bytes.
                        reason = FB_FALLBACK_REASON_PARTIAL_OVERLAP;
                    } else if (ahead == 0) {
                        // In order: delivered, the next byte expected moves on.
                        outcomes.count(REASM_OUTCOME_IN_ORDER);
                        is_released = is_held_pass;
                        if (len != 0) {
                            res.has_segment = true;
                            res.stream_offset = seq - base;
                            if (is_orig) {
                                res.direction = FB_DIRECTION_ORIGINATOR;
                            } else {
                                res.direction = FB_DIRECTION_RESPONDER;
                            }
                        }
                        if (is_orig) {
                            new_sess[95:64] = seg_end;
                        } else {
                            new_sess[31:0] = seg_end;
                        }
                        bit<32> low_behind = seg_end - low;
                        if (has_hold && low_behind[31:31] == 0) {
                            // What is held starts at or after the new next byte.
                            bit<32> high_left = hold_high - seg_end;
                            if (high_left[31:31] == 1) {
                                high_left = 0;
                            }
                            new_hd = seg_end ++ 16w0 ++ high_left[15:0];
                        }
                        bit<1> orig_fin = st[3:3];
                        bit<1> resp_fin = st[4:4];
                        if (is_fin && is_orig) {
                            orig_fin = 1;
                        } else if (is_fin) {
                            resp_fin = 1;
                        }
                        new_st[3:3] = orig_fin;
                        new_st[4:4] = resp_fin;
                        if (orig_fin == 1 && resp_fin == 1) {
                            new_st[2:0] = REASM_CLOSED;
                            outcomes.count(REASM_OUTCOME_CLOSED);
                            res.has_mode = true;
                            res.stream_state = FB_STREAM_STATE_CLOSED;
                            res.fallback_reason = FB_FALLBACK_REASON_NONE;
                            res.orig_offset = new_sess[95:64] - orig_base;
                            res.resp_offset = new_sess[31:0] - resp_base;
                        }
                    } else if (ahead[31:31] == 0 && is_held_pass) {
                        // Still ahead of the gap: round again, until the gap timeout.
                        bit<48> waited = hold.seen_at - hold.held_at;
                        if (waited >= (bit<48>)gap_timeout
                                || hold.passes >= REASM_MAX_HOLD_PASSES) {
                            reason = FB_FALLBACK_REASON_GAP_TIMEOUT;
                        } else {
                            is_kept = true;
                            outcomes.count(REASM_OUTCOME_HOLD_PASS);
                        }
                    } else if (ahead[31:31] == 0) {
                        // Ahead of a gap: held if the budgets allow and it overlaps
                        // nothing held.
                        bit<32> new_low = seq;
                        bit<32> new_low_span = span;
                        bit<32> new_range = span;
                        bool is_overlap = false;
                        if (has_hold) {
                            bit<32> after_high = seq - hold_high;
                            bit<32> before_low = low - seg_end;
                            new_low = low;
                            new_low_span = low_span;
                            if (after_high[31:31] == 0) {
                                new_range = seg_end - low;
                            } else if (before_low[31:31] == 0) {
                                new_range = hold_high - seq;
                                new_low = seq;
                                new_low_span = span;
                            } else {
                                is_overlap = true;
                            }
                        }
                        if ((held_count != 0 && st[5:5] != dir) || (bit<32>)held_count >= per_flow
                                || held_now >= total || has_stats_records) {
                            // Over a budget, the other direction holds, or stats
                            // records that must not wait.
                            reason = FB_FALLBACK_REASON_BUFFER_OVERFLOW;
                        } else if (is_overlap) {
                            reason = FB_FALLBACK_REASON_PARTIAL_OVERLAP;
                        } else if (ahead > REASM_MAX_HOLD_SPAN || new_range > REASM_MAX_HOLD_SPAN) {
                            reason = FB_FALLBACK_REASON_OUT_OF_WINDOW;
                        } else {
                            outcomes.count(REASM_OUTCOME_HELD);
                            new_st[15:12] = held_count + 1;
                            new_st[5:5] = dir;
                            new_hd = new_low ++ new_low_span[15:0] ++ new_range[15:0];
                            held_now = held_now + 1;
                            held.write(0, held_now);
                            bit<32> peak;
                            held.read(peak, 1);
                            if (held_now > peak) {
                                held.write(1, held_now);
                            }
                            hold.is_held = true;
                            hold.flow_id = flow_id;
                            hold.held_at = 0;
                            hold.seen_at = 0;
                            hold.passes = 0;
                            hold.ingress_port = flow.ingress_port;
                            hold.egress_spec = standard_metadata.egress_spec;
                            hold.mcast_grp = standard_metadata.mcast_grp;
                            hold.monitor_port = monitor_port;
                            hold.has_monitor = has_monitor;
                            hold.is_duplicated = is_duplicated;
                        }
                    } else if (!is_new_end) {
                        // Every byte of it was delivered before: the first copy wins.
                        outcomes.count(REASM_OUTCOME_DUPLICATE);
                        is_dropped = true;
                        is_released = is_held_pass;
                    } else {
                        // Old bytes and new ones in one segment.
                        reason = FB_FALLBACK_REASON_PARTIAL_OVERLAP;
                    }

                    if (reason != FB_FALLBACK_REASON_NONE) {
                        outcomes.count(REASM_OUTCOME_FALLBACK);
                        is_released = is_held_pass;
                        new_st[7:7] = REASM_MODE_SOFTWARE;
                        new_st[11:8] = reason[3:0];
                        res.has_mode = true;
                        res.stream_state = FB_STREAM_STATE_FALLBACK;
                        res.fallback_reason = reason;
                    }
                }
                if (is_released) {
                    new_st[15:12] = held_count - 1;
                }
            } else if (!is_released && !is_syn_ack) {
                outcomes.count(REASM_OUTCOME_UNTRACKED);
            }

            if (is_written) {
                sessions.write(index, new_sess);
                status.write(index, new_st);
                holds.write(index, new_hd);
            }
            if (is_released) {
                outcomes.count(REASM_OUTCOME_RELEASED);
                hold.is_held = false;
                held.write(0, held_now - 1);
            }
            if (is_kept) {
                hold.passes = hold.passes + 1;
            }
            if (hold.is_held) {
                // One copy goes round (a multicast is made when it leaves the loop).
                standard_metadata.mcast_grp = 0;
                standard_metadata.egress_spec = hold.monitor_port;
            }
            if (is_dropped) {
                if (has_stats_records) {
                    // The stats stage attached records: they leave on an empty frame.
                    res.is_records_only = true;
                } else {
                    mark_to_drop(standard_metadata);
                }
            }
        }
    }
}

// Ingress, on a held segment's later pass: what the first pass decided for it
// (ports, multicast), which the recirculation reset.
control ReassemblyHoldRestore(in reasm_hold_t hold, inout metadata_t meta,
                              inout standard_metadata_t standard_metadata) {
    apply {
        meta.monitor_port = hold.monitor_port;
        meta.has_monitor = hold.has_monitor;
        meta.is_duplicated = hold.is_duplicated;
        standard_metadata.egress_spec = hold.egress_spec;
        standard_metadata.mcast_grp = hold.mcast_grp;
    }
}

// Egress, for a held segment: note the time and send it round again, unchanged.
control ReassemblyHoldEgress(inout reasm_hold_t hold, in standard_metadata_t standard_metadata) {
    ArchRecirculateHold() recirculate_hold;

    apply {
        if (hold.passes == 0) {
            hold.held_at = standard_metadata.egress_global_timestamp;
        }
        hold.seen_at = standard_metadata.egress_global_timestamp;
        recirculate_hold.apply();
    }
}

#endif  // NIDS_CONTROL_REASSEMBLY_P4
