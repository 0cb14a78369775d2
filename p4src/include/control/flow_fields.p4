/* The fields every stage keys on (flow_fields_t), taken from the parsed
 * headers; fields a packet lacks stay 0. */
#ifndef NIDS_CONTROL_FLOW_FIELDS_P4
#define NIDS_CONTROL_FLOW_FIELDS_P4

control FlowFields(in headers_t hdr, in port_t ingress_port, in bit<32> packet_length,
                   inout flow_fields_t flow) {
    apply {
        flow.ingress_port = ingress_port;
        if (hdr.ipv4.isValid()) {
            flow.is_ipv4 = 1;
            flow.src_addr = hdr.ipv4.src_addr;
            flow.dst_addr = hdr.ipv4.dst_addr;
            flow.protocol = hdr.ipv4.protocol;
            if (hdr.ipv4.frag_offset != 0 || (hdr.ipv4.flags & 3w1) != 0) {
                flow.is_fragment = 1;
            }
            bit<16> ip_header_bytes = (bit<16>)hdr.ipv4.ihl << 2;
            // A frame shorter than its IP header says (cut by a capture or a link).
            bit<32> l2_bytes = 14;
            if (hdr.vlan[0].isValid()) {
                l2_bytes = l2_bytes + 4;
            }
            if (hdr.vlan[1].isValid()) {
                l2_bytes = l2_bytes + 4;
            }
            if (packet_length < l2_bytes + (bit<32>)hdr.ipv4.total_len) {
                flow.is_truncated = 1;
            }
            if (hdr.tcp.isValid()) {
                flow.src_port = hdr.tcp.src_port;
                flow.dst_port = hdr.tcp.dst_port;
                flow.tcp_flags = hdr.tcp.flags;
                flow.tcp_seq_no = hdr.tcp.seq_no;
                flow.tcp_ack_no = hdr.tcp.ack_no;
                flow.l4_payload_length = hdr.ipv4.total_len - ip_header_bytes
                    - ((bit<16>)hdr.tcp.data_offset << 2);
            } else if (hdr.udp.isValid()) {
                flow.src_port = hdr.udp.src_port;
                flow.dst_port = hdr.udp.dst_port;
                flow.l4_payload_length = hdr.udp.length - 8;
            }
        }
    }
}

#endif  // NIDS_CONTROL_FLOW_FIELDS_P4
