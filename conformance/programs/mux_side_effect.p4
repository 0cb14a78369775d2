// The conditional operator evaluates its condition and then only the chosen
// operand (P4_16 spec 8.5.1); operands are evaluated left to right (8.1), and a
// function's inout argument is copied back when the call returns (6.7).
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> mode;
    bit<8> a;
    bit<8> b;
    bit<8> c;
}

struct headers_t {
    h_t h;
}

struct meta_t {}

bit<8> bump(inout bit<8> x) {
    x = x + 1;
    return x;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t m,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout meta_t m) { apply {} }

control MyIngress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 0;
        if (hdr.h.mode == 0) {
            hdr.h.c = (hdr.h.a == 0) ? bump(hdr.h.b) : 8w0x55;
        } else {
            hdr.h.c = bump(hdr.h.b) + bump(hdr.h.b);
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
