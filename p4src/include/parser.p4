/* Parser and deparser. Packets from the CPU port start with packet_out. */
#ifndef NIDS_PARSER_P4
#define NIDS_PARSER_P4

parser NidsParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t standard_metadata) {
    state start {
        transition select(standard_metadata.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }

    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            FEEDBACK_VLAN_TPID_0: parse_vlan0;
            FEEDBACK_VLAN_TPID_1: parse_vlan0;
            FEEDBACK_VLAN_TPID_2: parse_vlan0;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            ETHERTYPE_NIDS_SWEEP: parse_syn_sweep;
            // ETHERTYPE_FEEDBACK from the network: payload, wrapped in egress.
            default: accept;
        }
    }

    state parse_syn_sweep {
        pkt.extract(hdr.syn_sweep);
        transition accept;
    }

    // Up to FEEDBACK_MAX_VLAN_TAGS (2) tags; the feedback header goes after the
    // last one parsed, where decoders look for it. A third tag stays payload.
    state parse_vlan0 {
        pkt.extract(hdr.vlan[0]);
        transition select(hdr.vlan[0].ether_type) {
            FEEDBACK_VLAN_TPID_0: parse_vlan1;
            FEEDBACK_VLAN_TPID_1: parse_vlan1;
            FEEDBACK_VLAN_TPID_2: parse_vlan1;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_vlan1 {
        pkt.extract(hdr.vlan[1]);
        transition select(hdr.vlan[1].ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        meta.ipv4_option_words = hdr.ipv4.ihl - 5;
        meta.payload_parse.l4_bytes = (bit<32>)hdr.ipv4.total_len - ((bit<32>)hdr.ipv4.ihl << 2);
        transition select(hdr.ipv4.ihl) {
            0 .. 4: accept;   // malformed: the rest stays payload, untouched
            5: parse_ipv4_payload;
            default: parse_ipv4_options;
        }
    }

    // Options are extracted (not skipped) so that the deparser writes them back.
    state parse_ipv4_options {
        pkt.extract(hdr.ipv4_options.next);
        meta.ipv4_option_words = meta.ipv4_option_words - 1;
        transition select(meta.ipv4_option_words) {
            0: parse_ipv4_payload;
            default: parse_ipv4_options;
        }
    }

    state parse_ipv4_payload {
        transition select(hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (0, IP_PROTO_TCP): parse_tcp;
            (0, IP_PROTO_UDP): parse_udp;
            default: accept;
        }
    }

    // IPv6 and a bounded chain of extension headers (docs/stats-stage.md,
    // "IPv6"): up to IPV6_MAX_EXT_HEADERS hop-by-hop, routing, fragment and
    // destination options headers of at most (IPV6_EXT_MAX_LEN + 1) * 8 bytes
    // each, then TCP or UDP. A longer chain, a longer header, ESP, AH or an
    // unknown next header ends parsing there: the rest stays payload, untouched.
    state parse_ipv6 {
        pkt.extract(hdr.ipv6);
        meta.ipv6_chain.next_hdr = hdr.ipv6.next_hdr;
        meta.payload_parse.l4_bytes = (bit<32>)hdr.ipv6.payload_len;
        transition parse_ipv6_chain;
    }

    state parse_ipv6_chain {
        transition select(meta.ipv6_chain.ext_headers, meta.ipv6_chain.next_hdr) {
            (_, IP_PROTO_TCP): parse_tcp;
            (_, IP_PROTO_UDP): parse_udp;
            (IPV6_MAX_EXT_HEADERS, IPV6_EXT_HOP_BY_HOP): parse_ipv6_cut;
            (IPV6_MAX_EXT_HEADERS, IPV6_EXT_ROUTING): parse_ipv6_cut;
            (IPV6_MAX_EXT_HEADERS, IPV6_EXT_FRAGMENT): parse_ipv6_cut;
            (IPV6_MAX_EXT_HEADERS, IPV6_EXT_DEST_OPTS): parse_ipv6_cut;
            (_, IPV6_EXT_HOP_BY_HOP): parse_ipv6_ext;
            (_, IPV6_EXT_ROUTING): parse_ipv6_ext;
            (_, IPV6_EXT_DEST_OPTS): parse_ipv6_ext;
            (_, IPV6_EXT_FRAGMENT): parse_ipv6_fragment;
            default: accept;   // ICMPv6, no next header, ESP, AH, unknown
        }
    }

    // Hop-by-hop, routing, destination options: next header, length in 8-byte
    // units not counting the first 8.
    state parse_ipv6_ext {
        bit<16> ext_start = pkt.lookahead<bit<16>>();
        transition select(ext_start[7:0]) {
            0 .. IPV6_EXT_MAX_LEN: parse_ipv6_ext_start;
            default: parse_ipv6_cut;
        }
    }

    state parse_ipv6_ext_start {
        bit<16> ext_start = pkt.lookahead<bit<16>>();
        meta.ipv6_chain.next_hdr = ext_start[15:8];
        meta.ipv6_chain.ext_words = ext_start[7:0] + 1;
        meta.ipv6_chain.ext_headers = meta.ipv6_chain.ext_headers + 1;
        meta.ipv6_chain.ext_bytes = meta.ipv6_chain.ext_bytes
            + (((bit<16>)ext_start[7:0] + 1) << 3);
        transition parse_ipv6_ext_words;
    }

    state parse_ipv6_ext_words {
        pkt.extract(hdr.ipv6_ext.next);
        meta.ipv6_chain.ext_words = meta.ipv6_chain.ext_words - 1;
        transition select(meta.ipv6_chain.ext_words) {
            0: parse_ipv6_chain;
            default: parse_ipv6_ext_words;
        }
    }

    // Fragment header: next header, reserved, offset (13 bits), 2 reserved
    // bits, M, identification. Only the first fragment (offset 0) goes on to
    // the upper-layer header.
    state parse_ipv6_fragment {
        bit<64> frag = pkt.lookahead<bit<64>>();
        pkt.extract(hdr.ipv6_ext.next);
        meta.ipv6_chain.next_hdr = frag[63:56];
        meta.ipv6_chain.ext_headers = meta.ipv6_chain.ext_headers + 1;
        meta.ipv6_chain.ext_bytes = meta.ipv6_chain.ext_bytes + 8;
        transition select(frag[47:35], frag[32:32]) {
            (0, 0): parse_ipv6_chain;   // an atomic fragment (RFC 6946): not a fragment
            (0, 1): parse_ipv6_first_fragment;
            default: parse_ipv6_later_fragment;
        }
    }

    state parse_ipv6_first_fragment {
        meta.ipv6_chain.is_fragment = 1;
        transition parse_ipv6_chain;
    }

    state parse_ipv6_later_fragment {
        meta.ipv6_chain.is_fragment = 1;
        transition accept;
    }

    state parse_ipv6_cut {
        meta.ipv6_chain.is_cut = true;
        transition accept;
    }

    // TCP, its options (kept word by word) and the first PF_HEAD_BYTES bytes of
    // its payload, for the prefilter stage (docs/prefilter.md). A data offset
    // below 5 is malformed: the rest stays payload, untouched.
    state parse_tcp {
        pkt.extract(hdr.tcp);
        meta.payload_parse.tcp_words = hdr.tcp.data_offset;
        meta.payload_parse.remaining = meta.payload_parse.l4_bytes
            - (bit<32>)meta.ipv6_chain.ext_bytes - ((bit<32>)hdr.tcp.data_offset << 2);
        transition select(hdr.tcp.data_offset) {
            0 .. 4: accept;
            5: parse_payload;
            default: parse_tcp_options;
        }
    }

    state parse_tcp_options {
        pkt.extract(hdr.tcp_options.next);
        meta.payload_parse.tcp_words = meta.payload_parse.tcp_words - 1;
        transition select(meta.payload_parse.tcp_words) {
            5: parse_payload;
            default: parse_tcp_options;
        }
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        meta.payload_parse.remaining = meta.payload_parse.l4_bytes
            - (bit<32>)meta.ipv6_chain.ext_bytes - 8;
        transition parse_payload;
    }

    // The payload's first PF_HEAD_BYTES, bounded by the IP length: in one piece
    // if there are that many, else one byte at a time (a frame shorter than its
    // IP length ends parsing with PacketTooShort there: its bytes stay as they are).
    state parse_payload {
        transition select(meta.payload_parse.remaining[31:31],
                          meta.payload_parse.remaining[15:0]) {
            (1, _): accept;   // lengths that do not add up: nothing taken
            (0, 0): accept;
            (0, 1 .. 15): parse_payload_bytes;
            default: parse_payload_head;
        }
    }

    state parse_payload_head {
        pkt.extract(hdr.payload_head);
        meta.payload_parse.taken = PF_HEAD_BYTES;
        transition accept;
    }

    state parse_payload_bytes {
        transition select(meta.payload_parse.remaining[15:0]) {
            0: accept;
            default: parse_payload_byte;
        }
    }

    state parse_payload_byte {
        pkt.extract(hdr.payload.next);
        meta.payload_parse.remaining = meta.payload_parse.remaining - 1;
        meta.payload_parse.taken = meta.payload_parse.taken + 1;
        transition parse_payload_bytes;
    }
}

control NidsVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    // The monitor judges checksums itself (Zeek's history letter C): the
    // switch passes packets with bad checksums on untouched.
    apply { }
}

control NidsComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    // Only a regenerated SYN is built by the switch; everything else leaves
    // with the checksums it came with.
    apply {
        update_checksum(meta.syn.is_rewritten && !meta.syn.regen.is_ipv6,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp_ecn, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        // TCP pseudo-header (addresses, protocol, TCP length 20) and header.
        update_checksum(meta.syn.is_rewritten && !meta.syn.regen.is_ipv6,
            { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, 8w0, hdr.ipv4.protocol, 16w20,
              hdr.tcp.src_port, hdr.tcp.dst_port, hdr.tcp.seq_no, hdr.tcp.ack_no,
              hdr.tcp.data_offset, hdr.tcp.res, hdr.tcp.flags, hdr.tcp.window,
              hdr.tcp.urgent_ptr },
            hdr.tcp.checksum, HashAlgorithm.csum16);
        // IPv6: the pseudo-header is addresses, upper-layer length 20, next header.
        update_checksum(meta.syn.is_rewritten && meta.syn.regen.is_ipv6,
            { hdr.ipv6.src_addr, hdr.ipv6.dst_addr, 32w20, 24w0, hdr.ipv6.next_hdr,
              hdr.tcp.src_port, hdr.tcp.dst_port, hdr.tcp.seq_no, hdr.tcp.ack_no,
              hdr.tcp.data_offset, hdr.tcp.res, hdr.tcp.flags, hdr.tcp.window,
              hdr.tcp.urgent_ptr },
            hdr.tcp.checksum, HashAlgorithm.csum16);
    }
}

control NidsDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.vlan);
        pkt.emit(hdr.feedback);
        pkt.emit(hdr.syn_sweep);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.ipv4_options);
        pkt.emit(hdr.ipv6);
        pkt.emit(hdr.ipv6_ext);
        pkt.emit(hdr.tcp);
        pkt.emit(hdr.tcp_options);
        pkt.emit(hdr.udp);
        pkt.emit(hdr.payload_head);
        pkt.emit(hdr.payload);
    }
}

#endif  // NIDS_PARSER_P4
