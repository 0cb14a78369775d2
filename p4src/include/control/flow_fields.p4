/* The flow key every stage keys on (flow_fields_t), taken from the parsed
 * headers; fields a packet lacks stay 0. IPv4 and IPv6 fill the same fields:
 * an IPv4 address goes into the low 32 bits of the 128-bit address. */
#ifndef NIDS_CONTROL_FLOW_FIELDS_P4
#define NIDS_CONTROL_FLOW_FIELDS_P4

control FlowFields(in headers_t hdr, in ipv6_chain_t chain, in port_t ingress_port,
                   in bit<32> packet_length,
                   inout flow_fields_t flow) {
    apply {
        flow.ingress_port = ingress_port;
        // Bytes of the IP datagram after the IP header(s), and so before TCP/UDP.
        bit<16> l4_length = 0;
        bit<32> l3_bytes = 0;  // the IP datagram's length as its header says
        if (hdr.ipv4.isValid()) {
            flow.is_ipv4 = 1;
            flow.src_addr = (ip_addr_t)hdr.ipv4.src_addr;
            flow.dst_addr = (ip_addr_t)hdr.ipv4.dst_addr;
            flow.protocol = hdr.ipv4.protocol;
            if (hdr.ipv4.frag_offset != 0 || (hdr.ipv4.flags & 3w1) != 0) {
                flow.is_fragment = 1;
            }
            flow.has_ip_options = hdr.ipv4.ihl != 5;
            l4_length = hdr.ipv4.total_len - ((bit<16>)hdr.ipv4.ihl << 2);
            l3_bytes = (bit<32>)hdr.ipv4.total_len;
        } else if (hdr.ipv6.isValid()) {
            flow.is_ipv6 = 1;
            flow.src_addr = hdr.ipv6.src_addr;
            flow.dst_addr = hdr.ipv6.dst_addr;
            flow.protocol = chain.next_hdr;
            flow.is_fragment = chain.is_fragment;
            flow.has_ip_options = chain.ext_headers != 0;
            flow.is_chain_cut = chain.is_cut;
            l4_length = hdr.ipv6.payload_len - chain.ext_bytes;
            l3_bytes = 40 + (bit<32>)hdr.ipv6.payload_len;
        }
        // A frame shorter than its IP header says (cut by a capture or a link).
        bit<32> l2_bytes = 14;
        if (hdr.vlan[0].isValid()) {
            l2_bytes = l2_bytes + 4;
        }
        if (hdr.vlan[1].isValid()) {
            l2_bytes = l2_bytes + 4;
        }
        if (l3_bytes != 0 && packet_length < l2_bytes + l3_bytes) {
            flow.is_truncated = 1;
        }
        if (hdr.tcp.isValid()) {
            flow.src_port = hdr.tcp.src_port;
            flow.dst_port = hdr.tcp.dst_port;
            flow.tcp_flags = hdr.tcp.flags;
            flow.tcp_seq_no = hdr.tcp.seq_no;
            flow.tcp_ack_no = hdr.tcp.ack_no;
            flow.l4_payload_length = l4_length - ((bit<16>)hdr.tcp.data_offset << 2);
        } else if (hdr.udp.isValid()) {
            flow.src_port = hdr.udp.src_port;
            flow.dst_port = hdr.udp.dst_port;
            flow.l4_payload_length = hdr.udp.length - 8;
        }
    }
}

#endif  // NIDS_CONTROL_FLOW_FIELDS_P4
