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
            default: accept;
        }
    }

    state parse_vlan1 {
        pkt.extract(hdr.vlan[1]);
        transition select(hdr.vlan[1].ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            default: accept;
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        meta.ipv4_option_words = hdr.ipv4.ihl - 5;
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

    state parse_tcp {
        pkt.extract(hdr.tcp);
        transition accept;
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        transition accept;
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
        update_checksum(meta.syn.is_rewritten,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp_ecn, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        // TCP pseudo-header (addresses, protocol, TCP length 20) and header.
        update_checksum(meta.syn.is_rewritten,
            { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, 8w0, hdr.ipv4.protocol, 16w20,
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
        pkt.emit(hdr.tcp);
        pkt.emit(hdr.udp);
    }
}

#endif  // NIDS_PARSER_P4
