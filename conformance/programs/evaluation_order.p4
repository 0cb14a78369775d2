#include <core.p4>
#include <v1model.p4>

// Evaluation order with side effects (P4_16 spec 8.1, 6.7): operands left
// to right, ?: / && / || evaluate only the selected operand, call arguments
// left to right with copy-in before the call and copy-out after it.
header h_t { bit<8> op; bit<8> a; bit<8> b; bit<8> c; bit<8> d; }
struct headers_t { h_t h; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

bit<8> set_to(inout bit<8> x, in bit<8> v) {
    x = v;
    return v;
}
bit<8> zero(out bit<8> x) {
    return 0x0e;
}
bool check(inout bit<8> x) {
    x = x + 1;
    return x == 2;
}
bit<8> sum3(in bit<8> p, in bit<8> q, in bit<8> r) {
    return p + (q << 1) + (r << 2);
}

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> v = 3;
    apply {
        sm.egress_spec = 1;
        if (hdr.h.op == 1) {
            hdr.h.a = v + set_to(v, 1);                        // 3 + 1
            hdr.h.b = v;                                       // 1
        } else if (hdr.h.op == 2) {
            hdr.h.d = (hdr.h.c == 0) ? zero(hdr.h.a) : zero(hdr.h.b);
        } else if (hdr.h.op == 3) {
            if (check(hdr.h.a) && check(hdr.h.b)) {            // b only if a became 2
                hdr.h.c = 0xcc;
            }
            if (check(hdr.h.c) || check(hdr.h.d)) {            // d only if c did not
                hdr.h.op = 0x33;
            }
        } else if (hdr.h.op == 4) {
            hdr.h.d = sum3(hdr.h.a, set_to(hdr.h.a, 5), hdr.h.a);
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
