/* The target: v1model (BMv2 simple_switch_grpc, softswitch). Every extern the
 * stages need that differs between targets (hash, clone, truncate) is called
 * only here, behind a small control; a Tofino variant provides the same
 * controls in its own arch file and main.p4 includes that one instead. The
 * architecture's standard metadata and its package (V1Switch) appear only in
 * main.p4 and in the parser/ingress/egress signatures. */
#ifndef NIDS_ARCH_P4
#define NIDS_ARCH_P4

#include <core.p4>
#include <v1model.p4>

#include "pipeline_spec.p4"

// standard_metadata.instance_type of an ingress-to-egress clone.
const bit<32> INSTANCE_TYPE_INGRESS_CLONE = 1;

// standard_metadata.instance_type of a recirculated packet.
const bit<32> INSTANCE_TYPE_RECIRC = 4;

// CRC-32 (zlib's) of a connection's endpoints, onto [0, size).
control ArchHashEndpoints(in bit<32> addr_a, in bit<32> addr_b, in bit<16> port_a,
                          in bit<16> port_b, in bit<32> size, out bit<32> index) {
    apply {
        hash(index, HashAlgorithm.crc32, 32w0, { addr_a, addr_b, port_a, port_b }, size);
    }
}

// CRC-32 (zlib's) of an IPv6 connection's endpoints, onto [0, size).
control ArchHashEndpoints6(in bit<128> addr_a, in bit<128> addr_b, in bit<16> port_a,
                           in bit<16> port_b, in bit<32> size, out bit<32> index) {
    apply {
        hash(index, HashAlgorithm.crc32, 32w0, { addr_a, addr_b, port_a, port_b }, size);
    }
}

// CRC-32 (zlib's) of a connection's endpoints and protocol, onto [0, size).
control ArchHashConnection(in bit<32> addr_a, in bit<32> addr_b, in bit<16> port_a,
                           in bit<16> port_b, in bit<8> protocol, in bit<32> size,
                           out bit<32> index) {
    apply {
        hash(index, HashAlgorithm.crc32, 32w0, { addr_a, addr_b, port_a, port_b, protocol },
             size);
    }
}

// CRC-32 (zlib's) of an IPv6 connection's endpoints and protocol, onto [0, size).
control ArchHashConnection6(in bit<128> addr_a, in bit<128> addr_b, in bit<16> port_a,
                            in bit<16> port_b, in bit<8> protocol, in bit<32> size,
                            out bit<32> index) {
    apply {
        hash(index, HashAlgorithm.crc32, 32w0, { addr_a, addr_b, port_a, port_b, protocol },
             size);
    }
}

// What the balance stage reports of a connection it has just stored (docs/balance.md):
// P4Runtime digest `balance_new_flow_t`, its fields in this order.
struct balance_new_flow_t {
    bit<128> src_addr;      // as flow_fields_t holds it (IPv4 in the low 32 bits)
    bit<128> dst_addr;
    bit<16>  src_port;
    bit<16>  dst_port;
    bit<8>   protocol;
    bit<8>   is_ipv6;       // 1: IPv6, 0: IPv4
    bit<9>   monitor_port;  // the group's monitor port
    bit<8>   worker;        // the worker index the switch chose
    bit<16>  mcast_group;   // 0, or the multicast group copying it to several workers
}

// Send `sample` to the controller as a P4Runtime digest.
control ArchDigestNewFlow(in balance_new_flow_t sample) {
    apply {
        digest<balance_new_flow_t>(1, sample);
    }
}

// CRC-32 (zlib's) of a stats group's packed IPv4 key, onto [0, size).
control ArchHashGroupKey(in bit<144> key, in bit<32> size, out bit<32> index) {
    apply {
        hash(index, HashAlgorithm.crc32, 32w0, { key }, size);
    }
}

// CRC-32 (zlib's) of a stats group's packed IPv6 key, onto [0, size).
control ArchHashGroupKey6(in bit<336> key, in bit<32> size, out bit<32> index) {
    apply {
        hash(index, HashAlgorithm.crc32, 32w0, { key }, size);
    }
}

// An ingress-to-egress copy of this packet through clone session `session`,
// carrying the metadata of field list FIELD_LIST_SYN_REGEN.
control ArchCloneSynRegen(in bit<32> session) {
    apply {
        clone_preserving_field_list(CloneType.I2E, session, FIELD_LIST_SYN_REGEN);
    }
}

// Egress: the packet goes round again through ingress, carrying the metadata of
// field list FIELD_LIST_REASM_HOLD (BMv2 queues it ahead of new arrivals, but
// ingress serves those while it is in egress).
control ArchRecirculateHold() {
    apply {
        recirculate_preserving_field_list(FIELD_LIST_REASM_HOLD);
    }
}

// Egress: the packet leaves cut to its first `length` bytes.
control ArchTruncate(in bit<32> length) {
    apply {
        truncate(length);
    }
}

#endif  // NIDS_ARCH_P4
