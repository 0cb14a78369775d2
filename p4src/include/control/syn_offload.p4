/* Stage 2: SYN offload (docs/syn-offload.md; paper §2.2).
 *
 * An originator's SYN is held in a record (24 bytes for IPv4, 48 for IPv6,
 * in two tables) instead of being sent to the monitor. The next packet of the connection (normally the responder's
 * SYN-ACK or RST) first makes the switch regenerate the SYN, which leaves on
 * the monitor port before that packet; a record that reaches its timeout is
 * emitted as a regenerated SYN with a SYN_SUMMARY record, found either by
 * traffic hashing to its slot or by the controller's sweep packets.
 *
 * The regenerated SYN is an ingress-to-egress clone of the packet that
 * triggered it (BMv2 enqueues the clone before the packet itself); the
 * `SynRegenerate` egress control rewrites the clone into the SYN. */
#ifndef NIDS_CONTROL_SYN_OFFLOAD_P4
#define NIDS_CONTROL_SYN_OFFLOAD_P4

// outcomes[] counter indexes are SYN_OUTCOME_* (pipeline_spec.p4). Every SYN
// the stage sees is counted in SEEN and in exactly one of STORED, RETRANSMITTED
// or PASSED; every stored record ends in exactly one of the three
// REGENERATED_* (or is still held). SYN_CLONE_SESSION_BASE and
// SYN_MAX_TIMEOUT_US are there too.

// The TCP flags a record keeps (besides SYN): the ECN negotiation bits. A SYN
// with any other flag (URG, PSH, reserved bits) is passed through (TCP_FLAGS).
const bit<8> SYN_KEPT_FLAGS = TCP_CWR | TCP_ECE;
// Largest SYN count a record holds (5 bits; it saturates there).
const bit<5> SYN_MAX_COUNT = 31;


control SynOffload(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t standard_metadata, in timestamp_t now) {
    // IPv4 records, 24 bytes:
    // [191:160] originator address   [159:128] responder address
    // [127:112] originator port      [111:96]  responder port
    // [95:64]   initial sequence number
    // [63:32]   first SYN, low 32 bits of the µs clock
    // [31:8]    latest SYN minus first SYN, µs
    // [7:5]     the first SYN's AE, CWR and ECE flags
    // [4:0]     SYNs seen, saturating at 31; 0 = free slot
    register<bit<192>>(SYN_OFFLOAD_SLOTS) records;
    // IPv6 records, 48 bytes: the same with 128-bit addresses
    // ([383:256] originator, [255:128] responder, [127:0] as above). The stage
    // works on this layout for both families; an IPv4 record is widened on
    // read and narrowed on write.
    register<bit<384>>(SYN_OFFLOAD_SLOTS6) records6;
    counter(SYN_OUTCOMES, CounterType.packets) outcomes;
    ArchHashEndpoints() endpoints_hash;
    ArchHashEndpoints6() endpoints_hash6;
    ArchCloneSynRegen() clone_syn;

    bool    is_enabled = false;
    bit<32> slots = SYN_OFFLOAD_SLOTS;
    bit<32> slots6 = SYN_OFFLOAD_SLOTS6;
    bit<32> timeout = SYN_MAX_TIMEOUT_US;

    action configure(bit<32> table_slots, bit<32> timeout_us) {
        is_enabled = true;
        slots = table_slots;
        timeout = timeout_us;
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
        // Out-of-range settings fall back to the compiled limits.
        if (slots == 0 || slots > SYN_OFFLOAD_SLOTS) {
            slots = SYN_OFFLOAD_SLOTS;
        }
        // The IPv6 table uses as many records, up to its own size.
        slots6 = slots;
        if (slots6 > SYN_OFFLOAD_SLOTS6) {
            slots6 = SYN_OFFLOAD_SLOTS6;
        }
        if (timeout > SYN_MAX_TIMEOUT_US) {
            timeout = SYN_MAX_TIMEOUT_US;
        }

        bool is_sweep = meta.is_sweep;
        if (is_sweep) {
            // A sweep packet itself never leaves the switch.
            mark_to_drop(standard_metadata);
            meta.monitor_port = hdr.syn_sweep.monitor_port;
            meta.has_monitor = true;
        }
        bool is_ip = hdr.ipv4.isValid() || hdr.ipv6.isValid();
        bool is_tcp = is_ip && hdr.tcp.isValid() && meta.has_monitor;
        if (is_enabled && !is_sweep && meta.has_monitor && meta.flow.is_chain_cut) {
            // The parser stopped inside an IPv6 header chain: this might be a SYN.
            meta.syn.is_not_offloaded = true;
            meta.syn.not_offloaded_reason = FB_NOT_OFFLOADED_REASON_IPV6_HEADER_CHAIN;
        }

        if (is_enabled && (is_sweep || is_tcp)) {
            // The flow key: addresses of either family in 128 bits.
            ip_addr_t src = meta.flow.src_addr;
            ip_addr_t dst = meta.flow.dst_addr;
            bit<16> sport = hdr.tcp.src_port;
            bit<16> dport = hdr.tcp.dst_port;
            bool is_v6 = hdr.ipv6.isValid();

            bit<32> index;
            if (is_sweep) {
                index = hdr.syn_sweep.index;
            } else {
                // Both directions of a connection hash to one slot.
                bool is_low_first = src < dst || (src == dst && sport <= dport);
                if (is_v6 && is_low_first) {
                    endpoints_hash6.apply(src, dst, sport, dport, slots6, index);
                } else if (is_v6) {
                    endpoints_hash6.apply(dst, src, dport, sport, slots6, index);
                } else if (is_low_first) {
                    endpoints_hash.apply(src[31:0], dst[31:0], sport, dport, slots, index);
                } else {
                    endpoints_hash.apply(dst[31:0], src[31:0], dport, sport, slots, index);
                }
            }

            // The record, widened to the IPv6 layout. A sweep packet examines
            // slot `index` of the IPv4 table and, if that holds nothing expired,
            // the same slot of the IPv6 table.
            bit<192> rec4 = 0;
            if (!is_v6 && index < slots) {
                records.read(rec4, index);
            }
            bit<384> rec = (ip_addr_t)rec4[191:160] ++ (ip_addr_t)rec4[159:128] ++ rec4[127:0];
            if (is_sweep) {
                bool is_expired4 = rec4[4:0] != 0 && (bit<32>)now - rec4[63:32] >= timeout;
                if (!is_expired4) {
                    is_v6 = true;
                }
            }
            if (is_v6) {
                rec = 0;
                if (index < slots6) {
                    records6.read(rec, index);
                }
            }
            bool is_held = rec[4:0] != 0;
            bit<32> age = (bit<32>)now - rec[63:32];
            bool is_expired = is_held && age >= timeout;
            bool is_from_originator = false;
            bool is_from_responder = false;
            if (is_held && !is_sweep) {
                is_from_originator = rec[383:96] == src ++ dst ++ sport ++ dport;
                is_from_responder = rec[383:96] == dst ++ src ++ dport ++ sport;
            }

            bool is_syn = false;
            if (!is_sweep) {
                is_syn = (hdr.tcp.flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN;
            }
            // Why this SYN cannot be held (0: it can).
            bit<8> refusal = 0;
            if (meta.flow.is_fragment == 1) {
                refusal = FB_NOT_OFFLOADED_REASON_IP_FRAGMENT;
            } else if (meta.flow.has_ip_options) {
                // IPv4 options or IPv6 extension headers: the record keeps neither.
                refusal = FB_NOT_OFFLOADED_REASON_IP_OPTIONS;
            } else if (meta.flow.l4_payload_length != 0) {
                refusal = FB_NOT_OFFLOADED_REASON_SYN_WITH_PAYLOAD;
            } else if ((hdr.tcp.flags & ~(TCP_SYN | SYN_KEPT_FLAGS)) != 0
                    || (hdr.tcp.res & ~TCP_RES_AE) != 0) {
                refusal = FB_NOT_OFFLOADED_REASON_TCP_FLAGS;
            }

            bool is_now_held = false;   // this SYN went into a record
            bool is_regenerated = false;
            bit<8> reason = 0;
            bool is_written = false;
            bit<384> new_rec = rec;
            bit<384> syn_rec = 0;
            if (is_syn) {
                outcomes.count(SYN_OUTCOME_SEEN);
                // The record a held SYN gets: the packet's tuple, ISN, time and
                // ECN flags.
                syn_rec = src ++ dst ++ sport ++ dport ++ hdr.tcp.seq_no ++ (bit<32>)now
                    ++ 24w0 ++ hdr.tcp.res[0:0] ++ hdr.tcp.flags[7:6] ++ 5w1;
            }

            if (is_sweep) {
                outcomes.count(SYN_OUTCOME_SWEEPS);
                if (is_expired) {
                    is_regenerated = true;
                    reason = FB_SYN_SUMMARY_REASON_EXPIRED_BY_SWEEP;
                    new_rec = 0;
                    is_written = true;
                }
            } else if (is_from_originator && is_syn && refusal == 0) {
                if (is_expired) {
                    // Too late to be a retransmission: the old attempt is
                    // summarized and this SYN starts a new one.
                    is_regenerated = true;
                    reason = FB_SYN_SUMMARY_REASON_EXPIRED_BY_TRAFFIC;
                    outcomes.count(SYN_OUTCOME_STORED);
                    new_rec = syn_rec;
                } else {
                    bit<5> count = rec[4:0];
                    if (count != SYN_MAX_COUNT) {
                        count = count + 1;
                    }
                    new_rec = rec[383:32] ++ age[23:0] ++ rec[7:5] ++ count;
                    outcomes.count(SYN_OUTCOME_RETRANSMITTED);
                }
                is_written = true;
                is_now_held = true;
            } else if (is_from_originator || is_from_responder) {
                // Any other packet of the held connection (normally the
                // responder's SYN-ACK or RST): the SYN goes out first.
                is_regenerated = true;
                reason = FB_SYN_SUMMARY_REASON_REGENERATED_BEFORE_RESPONSE;
                new_rec = 0;
                is_written = true;
                if (is_syn) {
                    meta.syn.is_not_offloaded = true;
                    meta.syn.not_offloaded_reason = refusal;
                    if (is_from_responder) {
                        meta.syn.not_offloaded_reason = FB_NOT_OFFLOADED_REASON_SIMULTANEOUS_OPEN;
                    }
                    outcomes.count(SYN_OUTCOME_PASSED);
                }
            } else {
                // Another connection, or a free slot.
                if (is_expired) {
                    is_regenerated = true;
                    reason = FB_SYN_SUMMARY_REASON_EXPIRED_BY_TRAFFIC;
                    new_rec = 0;
                    is_written = true;
                    is_held = false;
                }
                if (is_syn) {
                    if (refusal != 0 || is_held) {
                        meta.syn.is_not_offloaded = true;
                        meta.syn.not_offloaded_reason = refusal;
                        if (refusal == 0) {
                            meta.syn.not_offloaded_reason = FB_NOT_OFFLOADED_REASON_SLOT_BUSY;
                            meta.syn.not_offloaded_detail = index;
                        }
                        outcomes.count(SYN_OUTCOME_PASSED);
                    } else {
                        new_rec = syn_rec;
                        is_written = true;
                        outcomes.count(SYN_OUTCOME_STORED);
                        is_now_held = true;
                    }
                }
            }

            if (is_now_held) {
                if (meta.has_stats_records) {
                    // The stats stage attached records to this SYN: they still
                    // go to the monitor, on an otherwise empty packet.
                    meta.syn.is_records_only = true;
                } else {
                    mark_to_drop(standard_metadata);
                }
            }
            if (is_written && is_v6 && index < slots6) {
                records6.write(index, new_rec);
            } else if (is_written && !is_v6 && index < slots) {
                records.write(index, new_rec[287:256] ++ new_rec[159:128] ++ new_rec[127:0]);
            }
            if (is_regenerated) {
                if (reason == FB_SYN_SUMMARY_REASON_REGENERATED_BEFORE_RESPONSE) {
                    outcomes.count(SYN_OUTCOME_REGENERATED_REPLY);
                } else if (reason == FB_SYN_SUMMARY_REASON_EXPIRED_BY_SWEEP) {
                    outcomes.count(SYN_OUTCOME_REGENERATED_SWEEP);
                } else {
                    outcomes.count(SYN_OUTCOME_REGENERATED_TRAFFIC);
                }
                timestamp_t first = now - (timestamp_t)age;
                meta.syn.regen.is_valid = true;
                meta.syn.regen.is_reply_swapped = is_from_responder;
                meta.syn.regen.reason = reason;
                meta.syn.regen.syn_count = (bit<8>)rec[4:0];
                meta.syn.regen.is_ipv6 = is_v6;
                meta.syn.regen.src_addr = rec[383:256];
                meta.syn.regen.dst_addr = rec[255:128];
                meta.syn.regen.src_port = rec[127:112];
                meta.syn.regen.dst_port = rec[111:96];
                meta.syn.regen.isn = rec[95:64];
                meta.syn.regen.tcp_flags = TCP_SYN | (rec[6:5] ++ 6w0);
                meta.syn.regen.tcp_res = 3w0 ++ rec[7:7];
                meta.syn.regen.first_seen = first;
                meta.syn.regen.last_seen = first + (timestamp_t)rec[31:8];
                meta.syn.regen.triggered_at = now;
                clone_syn.apply(SYN_CLONE_SESSION_BASE + (bit<32>)meta.monitor_port);
            }
        }
    }
}

// Egress: turns the clone made for a regenerated SYN into that SYN: the
// stored tuple and ISN, no options, no payload, valid checksums (computed in
// NidsComputeChecksum), Ethernet addresses of the triggering packet (swapped
// when the responder triggered it), its VLAN tags kept.
control SynRegenerate(inout headers_t hdr, inout metadata_t meta,
                      in standard_metadata_t standard_metadata) {
    apply {
        if (standard_metadata.instance_type == INSTANCE_TYPE_INGRESS_CLONE
                && meta.syn.regen.is_valid) {
            meta.syn.is_rewritten = true;
            if (meta.syn.regen.is_reply_swapped) {
                mac_addr_t a = hdr.ethernet.dst_addr;
                hdr.ethernet.dst_addr = hdr.ethernet.src_addr;
                hdr.ethernet.src_addr = a;
            }
            bit<16> ether_type = ETHERTYPE_IPV4;
            if (meta.syn.regen.is_ipv6) {
                ether_type = ETHERTYPE_IPV6;
            }
            if (hdr.vlan[1].isValid()) {
                hdr.vlan[1].ether_type = ether_type;
            } else if (hdr.vlan[0].isValid()) {
                hdr.vlan[0].ether_type = ether_type;
            } else {
                hdr.ethernet.ether_type = ether_type;
            }
            hdr.syn_sweep.setInvalid();
            hdr.udp.setInvalid();
            hdr.ipv4_options.pop_front(IPV4_OPTION_WORDS);
            hdr.ipv6_ext.pop_front(IPV6_EXT_WORDS);

            if (meta.syn.regen.is_ipv6) {
                hdr.ipv4.setInvalid();
                hdr.ipv6.setValid();
                hdr.ipv6.version = 6;
                hdr.ipv6.traffic_class = 0;
                hdr.ipv6.flow_label = 0;
                hdr.ipv6.payload_len = 20;
                hdr.ipv6.next_hdr = IP_PROTO_TCP;
                hdr.ipv6.hop_limit = 64;
                hdr.ipv6.src_addr = meta.syn.regen.src_addr;
                hdr.ipv6.dst_addr = meta.syn.regen.dst_addr;
            } else {
                hdr.ipv6.setInvalid();
                hdr.ipv4.setValid();
                hdr.ipv4.version = 4;
                hdr.ipv4.ihl = 5;
                hdr.ipv4.dscp_ecn = 0;
                hdr.ipv4.total_len = 40;
                hdr.ipv4.identification = 0;
                hdr.ipv4.flags = 3w2;   // don't fragment
                hdr.ipv4.frag_offset = 0;
                hdr.ipv4.ttl = 64;
                hdr.ipv4.protocol = IP_PROTO_TCP;
                hdr.ipv4.hdr_checksum = 0;
                hdr.ipv4.src_addr = meta.syn.regen.src_addr[31:0];
                hdr.ipv4.dst_addr = meta.syn.regen.dst_addr[31:0];
            }

            hdr.tcp.setValid();
            hdr.tcp.src_port = meta.syn.regen.src_port;
            hdr.tcp.dst_port = meta.syn.regen.dst_port;
            hdr.tcp.seq_no = meta.syn.regen.isn;
            hdr.tcp.ack_no = 0;
            hdr.tcp.data_offset = 5;
            hdr.tcp.res = meta.syn.regen.tcp_res;
            hdr.tcp.flags = meta.syn.regen.tcp_flags;
            hdr.tcp.window = 65535;
            hdr.tcp.checksum = 0;
            hdr.tcp.urgent_ptr = 0;
        }
    }
}

#endif  // NIDS_CONTROL_SYN_OFFLOAD_P4
