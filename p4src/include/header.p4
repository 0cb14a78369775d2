/* Header and struct types. The feedback header's types are generated from
 * feedback_header/spec.py into feedback_header.p4. */
#ifndef NIDS_HEADER_P4
#define NIDS_HEADER_P4

#include "define.p4"
#include "feedback_header.p4"

@controller_header("packet_out")
header packet_out_t {
    bit<9> egress_port;   // 0: run the pipeline as if the packet came from the CPU port
    bit<7> _pad;
}

@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    bit<7> _pad;
}

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

header vlan_tag_t {
    bit<3>  pcp;
    bit<1>  dei;
    bit<12> vid;
    bit<16> ether_type;
}

header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<8>      dscp_ecn;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

header tcp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  res;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

struct headers_t {
    packet_out_t  packet_out;
    packet_in_t   packet_in;
    ethernet_t    ethernet;
    vlan_tag_t[2] vlan;
    feedback_headers_t feedback;
    ipv4_t        ipv4;
    tcp_t         tcp;
    udp_t         udp;
}

// The fields every stage keys on; fields a packet lacks read as 0.
struct flow_fields_t {
    port_t      ingress_port;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
    bit<8>      protocol;
    bit<16>     src_port;
    bit<16>     dst_port;
    bit<8>      tcp_flags;
    bit<1>      is_fragment;
    bit<1>      is_ipv4;
    bit<16>     l4_payload_length;
}

// A group's identity: the rule and its masked key.
struct stats_key_t {
    bit<16>     rule_id;
    port_t      ingress_port;
    bit<8>      protocol;
    bit<8>      tcp_flags;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
    bit<16>     src_port;
    bit<16>     dst_port;
}

const bit<8> REPORT_REASON_INTERVAL = 1;
const bit<8> REPORT_REASON_EVICTED  = 2;

// What one stats slot did with this packet (set by StatsSlot, read by Feedback).
struct stats_result_t {
    bool        is_counted;
    bit<16>     rule_id;
    bit<32>     group_index;
    bool        do_report;
    bit<8>      report_reason;
    stats_key_t report_key;
    bit<32>     report_packets;
    bit<64>     report_bytes;
    timestamp_t report_start;
    timestamp_t report_end;
    bit<48>     report_history;
    bool        is_packet_alert;
    bool        is_byte_alert;
    stats_key_t alert_key;
    bit<32>     alert_packets;
    bit<64>     alert_bytes;
    bit<32>     packet_threshold;
    bit<48>     byte_threshold;
    timestamp_t alert_start;
    bool        is_collision;
    stats_key_t collision_key;
}

struct stats_results_t {
    stats_result_t slot0;
    stats_result_t slot1;
    stats_result_t slot2;
    stats_result_t slot3;
}

struct metadata_t {
    flow_fields_t   flow;
    stats_results_t stats;
    port_t          monitor_port;
    bool            has_monitor;
}

#endif  // NIDS_HEADER_P4
