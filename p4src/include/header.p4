/* Header and struct types. The feedback header's types are generated from
 * feedback_header/spec.py into feedback_header.p4. */
#ifndef NIDS_HEADER_P4
#define NIDS_HEADER_P4

#include "size.p4"
#include "define.p4"
#include "pipeline_spec.p4"
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

// IPv4 options are kept word by word so that packets leave with them intact.
header ipv4_option_word_t {
    bit<32> data;
}

header ipv6_t {
    bit<4>      version;
    bit<8>      traffic_class;
    bit<20>     flow_label;
    bit<16>     payload_len;
    bit<8>      next_hdr;
    bit<8>      hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

// IPv6 extension headers (hop-by-hop, routing, fragment, destination options)
// are kept 8 bytes at a time, in the order they came, so that packets leave
// with them intact.
header ipv6_ext_word_t {
    bit<64> data;
}

// A sweep (timer) packet of the SYN-offload stage, after an Ethernet header
// with EtherType ETHERTYPE_NIDS_SWEEP; honoured only from the CPU port.
header syn_sweep_t {
    bit<32> index;          // the record slot to examine
    bit<7>  _pad;
    port_t  monitor_port;   // where a regenerated SYN goes
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

// TCP options, word by word, so that packets leave with them intact (the
// prefilter stage needs the payload after them).
header tcp_option_word_t {
    bit<32> data;
}

// The first PF_HEAD_BYTES of a TCP or UDP payload for the prefilter stage: in
// one piece when the payload has that many bytes, else byte by byte (as many
// as there are); the deparser writes them back where they were.
header payload_head_t {
    bit<128> data;
}

header payload_byte_t {
    bit<8> data;
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
    vlan_tag_t[FEEDBACK_MAX_VLAN_TAGS] vlan;
    feedback_headers_t feedback;
    syn_sweep_t   syn_sweep;
    ipv4_t        ipv4;
    ipv4_option_word_t[IPV4_OPTION_WORDS] ipv4_options;
    ipv6_t        ipv6;
    ipv6_ext_word_t[IPV6_EXT_WORDS] ipv6_ext;
    tcp_t         tcp;
    tcp_option_word_t[TCP_OPTION_WORDS] tcp_options;
    udp_t         udp;
    payload_head_t payload_head;
    payload_byte_t[PF_HEAD_BYTES] payload;
}

// The flow key every stage keys on; fields a packet lacks read as 0. One layout
// for both address families: an IPv4 address sits in the low 32 bits of
// ip_addr_t, and is_ipv4 / is_ipv6 say which family the packet is.
struct flow_fields_t {
    port_t      ingress_port;
    ip_addr_t   src_addr;
    ip_addr_t   dst_addr;
    bit<8>      protocol;           // IPv4 protocol; IPv6: the last next header reached
    bit<16>     src_port;
    bit<16>     dst_port;
    bit<8>      tcp_flags;
    bit<1>      is_fragment;        // IPv4 MF/offset, IPv6 fragment header M/offset
    bit<1>      is_ipv4;
    bit<1>      is_ipv6;
    bool        has_ip_options;     // IPv4 options, or any IPv6 extension header
    bool        is_chain_cut;       // IPv6: the parser stopped inside the header chain
    bit<16>     l4_payload_length;
    bit<32>     tcp_seq_no;
    bit<32>     tcp_ack_no;
    bit<1>      is_truncated;   // the frame is shorter than its IP total length
}

// A group's identity: the rule and its masked key.
struct stats_key_t {
    bit<16>     rule_id;
    bit<1>      is_ipv6;        // the addresses are IPv6 ones (only if grouped by one)
    port_t      ingress_port;
    bit<8>      protocol;
    bit<8>      tcp_flags;
    ip_addr_t   src_addr;
    ip_addr_t   dst_addr;
    bit<16>     src_port;
    bit<16>     dst_port;
}

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

// Field list preserved into the ingress-to-egress clone that becomes a
// regenerated SYN (ArchCloneSynRegen). The annotations carry the literal 1
// (= FIELD_LIST_SYN_REGEN, pipeline_spec.p4).

// A connection attempt the SYN-offload stage emits as a regenerated SYN.
struct syn_regen_t {
    @field_list(1) bool        is_valid;
    @field_list(1) bool        is_reply_swapped;  // triggered by the responder: swap MACs
    @field_list(1) bit<8>      reason;            // SynSummaryReason
    @field_list(1) bit<8>      syn_count;
    @field_list(1) bool        is_ipv6;           // an IPv6 attempt (ip_addr_t holds IPv4 low)
    @field_list(1) ip_addr_t   src_addr;
    @field_list(1) ip_addr_t   dst_addr;
    @field_list(1) bit<16>     src_port;
    @field_list(1) bit<16>     dst_port;
    @field_list(1) bit<32>     isn;
    @field_list(1) bit<8>      tcp_flags;         // SYN plus the kept CWR/ECE bits
    @field_list(1) bit<4>      tcp_res;           // the kept AE bit
    @field_list(1) timestamp_t first_seen;
    @field_list(1) timestamp_t last_seen;
    @field_list(1) timestamp_t triggered_at;      // ingress time of the trigger
}

// What the SYN-offload stage did with this packet.
struct syn_offload_result_t {
    syn_regen_t regen;
    bool        is_rewritten;       // egress: this clone was rewritten into the SYN
    bool        is_records_only;    // a held SYN that carries stats records: send them alone
    bool        is_not_offloaded;   // a SYN passed through; see reason/detail
    bit<8>      not_offloaded_reason;
    bit<32>     not_offloaded_detail;
}

// What the parser found walking an IPv6 header chain.
struct ipv6_chain_t {
    bit<8>  next_hdr;       // next header of the chain so far (at the end: TCP, UDP, ...)
    bit<8>  ext_words;      // words of the current extension header still to extract
    bit<8>  ext_headers;    // extension headers taken
    bit<16> ext_bytes;      // bytes of extension headers taken
    bit<1>  is_fragment;    // a fragment header with M or offset set
    bool    is_cut;         // parsing stopped inside the chain (too long, too big)
}

// What the reassembly stage did with this packet (set by Reassembly, read by Feedback).
struct reassembly_result_t {
    bool    has_segment;        // a STREAM_SEGMENT record: in-order payload
    bit<8>  direction;          // FB_DIRECTION_*
    bit<32> flow_id;
    bit<32> stream_offset;
    bool    has_mode;           // a STREAM_MODE record: fallback, software mode or closed
    bit<8>  stream_state;       // FB_STREAM_STATE_*
    bit<8>  fallback_reason;    // FB_FALLBACK_REASON_*
    bit<32> orig_offset;
    bit<32> resp_offset;
    bool    is_records_only;    // a dropped duplicate that carries stats records
}

// What a held TCP segment carries from pass to pass of the recirculation loop
// (field list FIELD_LIST_REASM_HOLD; docs/reassembly.md, "Holding").
struct reasm_hold_t {
    @field_list(2) bool    is_held;         // egress recirculates it; ingress looks again
    @field_list(2) bit<32> flow_id;         // the session it was held for
    @field_list(2) bit<48> held_at;         // egress time of its first pass (µs)
    @field_list(2) bit<48> seen_at;         // egress time of its last pass (µs)
    @field_list(2) bit<16> passes;
    @field_list(2) port_t  ingress_port;    // as it arrived: what the first pass decided
    @field_list(2) port_t  egress_spec;
    @field_list(2) bit<16> mcast_grp;
    @field_list(2) port_t  monitor_port;
    @field_list(2) bool    has_monitor;
    @field_list(2) bool    is_duplicated;
}

// The parser's count of the payload bytes it takes for the prefilter stage.
struct payload_parse_t {
    bit<32> l4_bytes;       // the IP datagram's bytes after the IP header(s)
    bit<32> remaining;      // payload bytes not taken yet (bit 31: malformed lengths)
    bit<8>  taken;          // payload bytes taken (hdr.payload[0 .. taken-1])
    bit<4>  tcp_words;      // TCP header words still to extract
}

// What the prefilter stage did with this packet (set by Prefilter, read by Feedback).
struct prefilter_result_t {
    bool    has_match;          // a PROTOCOL_MATCH record
    bit<8>  match_state;        // FB_MATCH_STATE_*
    bit<8>  direction;          // FB_DIRECTION_* of the bytes that matched
    bit<16> protocol_id;
    bit<16> pattern_id;
    bit<32> flow_id;
    bool    has_no_protocol;    // a NO_PROTOCOL record (negative matching)
    bit<32> orig_bytes;
    bit<32> resp_bytes;
    bit<32> packets;
    bool    is_records_only;    // a cut packet that carries stats records
}

struct metadata_t {
    bool            is_sent_as_is;       // packet-out to a port: no stage sees it
    bool            is_sweep;            // a SYN-offload sweep packet from the controller
    flow_fields_t   flow;
    stats_results_t stats;
    syn_offload_result_t syn;
    reassembly_result_t reasm;
    reasm_hold_t    reasm_hold;
    prefilter_result_t prefilter;
    payload_parse_t payload_parse;       // parser: payload bytes for the prefilter
    bool            has_stats_records;   // the stats stage attached a record
    bit<4>          ipv4_option_words;   // parser: option words still to extract
    ipv6_chain_t    ipv6_chain;          // parser: the IPv6 header chain
    @field_list(1) port_t monitor_port;
    @field_list(1) bool   has_monitor;
    bool            is_duplicated;       // balance: multicast to several workers
}

#endif  // NIDS_HEADER_P4
