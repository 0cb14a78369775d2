/* Two-port L2 forwarding: the benchmark program (BMv2's reference workload) and the
 * PTF smoke-test program. `dmac` maps a destination MAC to a port; a miss sends the frame
 * to the peer port of its pair (0 <-> 1), so it forwards with an empty table.
 */
#include <core.p4>
#include <v1model.p4>

header ethernet_h {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

struct headers_t {
    ethernet_h ethernet;
}

struct metadata_t {
}

parser L2Parser(packet_in packet,
                out headers_t hdr,
                inout metadata_t meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition accept;
    }
}

control L2VerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control L2Ingress(inout headers_t hdr,
                  inout metadata_t meta,
                  inout standard_metadata_t standard_metadata) {
    action set_egress_port(bit<9> port) {
        standard_metadata.egress_spec = port;
    }

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
        dmac.apply();
    }
}

control L2Egress(inout headers_t hdr,
                 inout metadata_t meta,
                 inout standard_metadata_t standard_metadata) {
    apply { }
}

control L2ComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control L2Deparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.ethernet);
    }
}

V1Switch(L2Parser(),
         L2VerifyChecksum(),
         L2Ingress(),
         L2Egress(),
         L2ComputeChecksum(),
         L2Deparser()) main;
