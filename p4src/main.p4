/* p4-nids-offload: the project's P4 program (v1model).
 *
 * For now a two-port L2 forwarder, the skeleton the offload stages (stats, SYN offload,
 * reassembly, prefilters, feedback header) will be added to. A frame whose destination MAC
 * is in `dmac` goes to that entry's port; any other frame goes to the peer port
 * (0 <-> 1), so the switch is a transparent wire in front of the monitor until rules exist.
 */
#include <core.p4>
#include <v1model.p4>

typedef bit<48> mac_addr_t;
typedef bit<9>  port_t;

header ethernet_h {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

struct headers_t {
    ethernet_h ethernet;
}

struct metadata_t {
}

parser IngressParser(packet_in packet,
                     out headers_t hdr,
                     inout metadata_t meta,
                     inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition accept;
    }
}

control IngressVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control Ingress(inout headers_t hdr,
                inout metadata_t meta,
                inout standard_metadata_t standard_metadata) {
    action set_egress_port(port_t port) {
        standard_metadata.egress_spec = port;
    }

    /* Ports come in pairs (0,1), (2,3), ...: forward to the other port of the pair. */
    action send_to_peer() {
        standard_metadata.egress_spec = standard_metadata.ingress_port ^ 1;
    }

    action drop() {
        mark_to_drop(standard_metadata);
    }

    table dmac {
        key = {
            hdr.ethernet.dst_addr : exact @name("dst_addr");
        }
        actions = {
            set_egress_port;
            send_to_peer;
            drop;
        }
        default_action = send_to_peer();
        size = 1024;
    }

    apply {
        if (hdr.ethernet.isValid()) {
            dmac.apply();
        } else {
            drop();
        }
    }
}

control Egress(inout headers_t hdr,
               inout metadata_t meta,
               inout standard_metadata_t standard_metadata) {
    apply { }
}

control EgressComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control EgressDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.ethernet);
    }
}

V1Switch(IngressParser(),
         IngressVerifyChecksum(),
         Ingress(),
         Egress(),
         EgressComputeChecksum(),
         EgressDeparser()) main;
