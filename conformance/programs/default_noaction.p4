// A table without a default_action property: its default action is NoAction
// (P4_16 spec 14.2.1.3), although NoAction is not in its actions list. A miss runs
// NoAction, and apply().hit tells hits from misses.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> a;
    bit<8> b;
    bit<8> c;
}

struct headers_t {
    h_t h;
}

struct meta_t {}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t m,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout meta_t m) { apply {} }

control MyIngress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    action set_b(bit<8> v) {
        hdr.h.b = v;
    }
    table t {
        key = { hdr.h.a : exact; }
        actions = { set_b; }
    }
    apply {
        sm.egress_spec = 1;
        if (t.apply().hit) {
            hdr.h.c = 1;
        } else {
            hdr.h.c = 2;
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {}
}

control MyCompute(inout headers_t hdr, inout meta_t m) { apply {} }

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.h);
    }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
