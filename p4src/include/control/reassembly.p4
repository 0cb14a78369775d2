/* Stage 3: TCP stream reassembly (docs/reassembly.md; paper §2.3).
 *
 * A session table in registers follows every connection from its SYN-ACK on
 * (after SYN offload: only connections that got an answer enter it). While a
 * connection is in switch mode, each direction's payload leaves strictly in
 * sequence order, each segment tagged with a STREAM_SEGMENT record (flow id,
 * direction, stream offset); a segment whose bytes were all delivered before
 * is dropped and counted (first copy wins). Anything the switch cannot keep in
 * order (a segment ahead of the expected sequence number while the hold
 * budget is 0, a partial overlap, a truncated packet, a slot held by another
 * connection) hands
 * the connection to software: a STREAM_MODE record on that packet says up to
 * which offset each direction was delivered, and every later packet of the
 * connection passes unmodified, marked with STREAM_MODE FALLBACK. No byte is
 * ever dropped unless an identical range was delivered before, and none is
 * delivered out of order while in switch mode.
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
                   inout reassembly_result_t res,
                   inout standard_metadata_t standard_metadata, in timestamp_t now) {
    // One session per slot, 32 bytes:
    // [255:224] originator address   [223:192] responder address
    // [191:176] originator port      [175:160] responder port
    // [159:128] flow id
    // [127:96]  originator stream base (its ISN + 1)   [95:64] originator next sequence number
    // [63:32]   responder stream base (its ISN + 1)    [31:0]  responder next sequence number
    register<bit<256>>(REASSEMBLY_SLOTS) sessions;
    // Per slot, 6 bytes:
    // [47:16] last packet, low 32 bits of the µs clock
    // [15:8]  fallback reason (FB_FALLBACK_REASON_*) of a software-mode session
    // [7]     mode (REASM_MODE_*)   [6:5] 0   [4] responder FIN seen   [3] originator FIN seen
    // [2:0]   state (REASM_FREE ...)
    register<bit<48>>(REASSEMBLY_SLOTS) status;
    // [0]: the last flow id given out (ids start at 1; 0 means none).
    register<bit<32>>(1) flow_ids;
    counter(REASM_OUTCOMES, CounterType.packets) outcomes;
    ArchHashEndpoints() endpoints_hash;

    bool    is_enabled = false;
    bit<32> slots = REASSEMBLY_SLOTS;
    bit<32> idle_timeout = REASM_MAX_IDLE_TIMEOUT_US;

    action configure(bit<32> table_slots, bit<32> idle_timeout_us) {
        is_enabled = true;
        slots = table_slots;
        idle_timeout = idle_timeout_us;
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
        bool is_tcp = flow.is_ipv4 == 1 && flow.protocol == IP_PROTO_TCP
            && flow.is_fragment == 0 && has_monitor;
        if (is_enabled && is_tcp) {
            outcomes.count(REASM_OUTCOME_TCP_SEEN);
            ipv4_addr_t src = flow.src_addr[31:0];  // IPv4 only so far (is_tcp)
            ipv4_addr_t dst = flow.dst_addr[31:0];
            bit<16> sport = flow.src_port;
            bit<16> dport = flow.dst_port;
            bit<32> now32 = (bit<32>)now;

            // Both directions of a connection hash to one slot.
            bit<32> index;
            if (src < dst || (src == dst && sport <= dport)) {
                endpoints_hash.apply(src, dst, sport, dport, slots, index);
            } else {
                endpoints_hash.apply(dst, src, dport, sport, slots, index);
            }
            bit<256> sess;
            bit<48> st;
            sessions.read(sess, index);
            status.read(st, index);
            bit<3> state = st[2:0];
            bit<32> idle = now32 - st[47:16];
            bool is_live = state == REASM_ESTABLISHED && idle < idle_timeout;
            bool is_orig = sess[255:160] == src ++ dst ++ sport ++ dport;
            bool is_resp = sess[255:160] == dst ++ src ++ dport ++ sport;

            bit<8> flags = flow.tcp_flags;
            bool is_syn_ack = (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK);
            bool is_syn = (flags & TCP_SYN) != 0;
            bool is_fin = (flags & TCP_FIN) != 0;
            bool is_rst = (flags & TCP_RST) != 0;

            bool is_written = false;
            bit<256> new_sess = sess;
            bit<48> new_st = st;
            bool is_dropped = false;

            if (is_syn_ack && is_live && is_resp) {
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
                new_sess = dst ++ src ++ dport ++ sport ++ id ++ orig_base ++ orig_base
                    ++ resp_base ++ resp_base;
                new_st = now32 ++ FB_FALLBACK_REASON_NONE ++ REASM_MODE_SWITCH ++ 4w0
                    ++ REASM_ESTABLISHED;
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
            } else if (is_live && (is_orig || is_resp) && !is_syn) {
                new_st[47:16] = now32;
                is_written = true;
                bit<32> flow_id = sess[159:128];
                bit<32> orig_base = sess[127:96];
                bit<32> orig_next = sess[95:64];
                bit<32> resp_base = sess[63:32];
                bit<32> resp_next = sess[31:0];
                res.flow_id = flow_id;
                res.orig_offset = orig_next - orig_base;
                res.resp_offset = resp_next - resp_base;

                if (st[7:7] == REASM_MODE_SOFTWARE) {
                    outcomes.count(REASM_OUTCOME_SOFTWARE);
                    res.has_mode = true;
                    res.stream_state = FB_STREAM_STATE_FALLBACK;
                    res.fallback_reason = st[15:8];
                    if (is_rst) {
                        new_st[2:0] = REASM_RESET;
                        outcomes.count(REASM_OUTCOME_CLOSED);
                    }
                } else {
                    bit<32> next = resp_next;
                    bit<32> base = resp_base;
                    if (is_orig) {
                        next = orig_next;
                        base = orig_base;
                    }
                    bit<32> seq = flow.tcp_seq_no;
                    bit<32> len = (bit<32>)flow.l4_payload_length;
                    // Sequence space the segment takes: its payload, and one for a FIN.
                    bit<32> span = len;
                    if (is_fin) {
                        span = span + 1;
                    }
                    bit<32> ahead = seq - next;          // < 2^31: at or after next
                    bit<32> past = seq + span - next;    // < 2^31 and != 0: ends after next
                    bool is_new_end = past != 0 && past[31:31] == 0;
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
                    } else if (ahead == 0) {
                        // In order: delivered, the next byte expected moves on.
                        outcomes.count(REASM_OUTCOME_IN_ORDER);
                        if (len != 0) {
                            res.has_segment = true;
                            res.stream_offset = seq - base;
                            if (is_orig) {
                                res.direction = FB_DIRECTION_ORIGINATOR;
                            } else {
                                res.direction = FB_DIRECTION_RESPONDER;
                            }
                        }
                        bit<32> new_next = seq + span;
                        if (is_orig) {
                            new_sess[95:64] = new_next;
                        } else {
                            new_sess[31:0] = new_next;
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
                    } else if (ahead[31:31] == 0) {
                        // Ahead of a gap: with nothing held in the switch, software
                        // takes over from the gap on.
                        reason = FB_FALLBACK_REASON_BUFFER_OVERFLOW;
                    } else if (!is_new_end) {
                        // Every byte of it was delivered before: the first copy wins.
                        outcomes.count(REASM_OUTCOME_DUPLICATE);
                        is_dropped = true;
                    } else {
                        // Old bytes and new ones in one segment.
                        reason = FB_FALLBACK_REASON_PARTIAL_OVERLAP;
                    }

                    if (reason != FB_FALLBACK_REASON_NONE) {
                        outcomes.count(REASM_OUTCOME_FALLBACK);
                        new_st[7:7] = REASM_MODE_SOFTWARE;
                        new_st[15:8] = reason;
                        res.has_mode = true;
                        res.stream_state = FB_STREAM_STATE_FALLBACK;
                        res.fallback_reason = reason;
                    }
                }
            } else {
                outcomes.count(REASM_OUTCOME_UNTRACKED);
            }

            if (is_written) {
                sessions.write(index, new_sess);
                status.write(index, new_st);
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

#endif  // NIDS_CONTROL_REASSEMBLY_P4
