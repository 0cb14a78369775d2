/* Typedefs and typed constants shared by every control. The constants the
 * controller shares are generated into pipeline_spec.p4 (from
 * controlplane/pipeline_spec.py), the feedback header's into feedback_header.p4. */
#ifndef NIDS_DEFINE_P4
#define NIDS_DEFINE_P4

typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<128> ipv6_addr_t;
// An address of either family in the flow key: IPv6 as it is, IPv4 in the low
// 32 bits (upper 96 bits 0); flow_fields_t.is_ipv4/is_ipv6 say which.
typedef bit<128> ip_addr_t;
typedef bit<9>  port_t;
typedef bit<48> timestamp_t;   // microseconds, from ingress_global_timestamp

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86DD;

const bit<8> IP_PROTO_ICMP = 1;
const bit<8> IP_PROTO_TCP  = 6;
const bit<8> IP_PROTO_UDP  = 17;
const bit<8> IP_PROTO_ICMPV6 = 58;

// IPv6 extension headers the parser walks (RFC 8200 section 4).
const bit<8> IPV6_EXT_HOP_BY_HOP = 0;
const bit<8> IPV6_EXT_ROUTING    = 43;
const bit<8> IPV6_EXT_FRAGMENT   = 44;
const bit<8> IPV6_EXT_DEST_OPTS  = 60;

// TCP flag bits in the flags byte (CWR ECE URG ACK PSH RST SYN FIN).
const bit<8> TCP_FIN = 0x01;
const bit<8> TCP_SYN = 0x02;
const bit<8> TCP_RST = 0x04;
const bit<8> TCP_PSH = 0x08;
const bit<8> TCP_ACK = 0x10;
const bit<8> TCP_URG = 0x20;
const bit<8> TCP_ECE = 0x40;
const bit<8> TCP_CWR = 0x80;
// The AE (accurate ECN, formerly NS) bit is the lowest bit of tcp_t.res.
const bit<4> TCP_RES_AE = 0x1;

#endif  // NIDS_DEFINE_P4
