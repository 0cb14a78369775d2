/* Typedefs and typed constants shared by every control. */
#ifndef NIDS_DEFINE_P4
#define NIDS_DEFINE_P4

typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<9>  port_t;
typedef bit<48> timestamp_t;   // microseconds, from ingress_global_timestamp

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_VLAN = 0x8100;
const bit<16> ETHERTYPE_QINQ = 0x88a8;
// Sweep (timer) packets the controller sends through packet-out
// (IEEE local experimental EtherType 2; controlplane/syn_offload.py agrees).
const bit<16> ETHERTYPE_NIDS_SWEEP = 0x88B6;

const bit<8> IP_PROTO_ICMP = 1;
const bit<8> IP_PROTO_TCP  = 6;
const bit<8> IP_PROTO_UDP  = 17;

// TCP flag bits in the flags byte (CWR ECE URG ACK PSH RST SYN FIN).
const bit<8> TCP_FIN = 0x01;
const bit<8> TCP_SYN = 0x02;
const bit<8> TCP_RST = 0x04;
const bit<8> TCP_ACK = 0x10;

// standard_metadata.instance_type of an ingress-to-egress clone (BMv2).
const bit<32> INSTANCE_TYPE_INGRESS_CLONE = 1;

// Set by the operator's --cpu-port; the controller must agree.
const port_t CPU_PORT = 64;
// BMv2's drop port.
const port_t DROP_PORT = 511;

#endif  // NIDS_DEFINE_P4
