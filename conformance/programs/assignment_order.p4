#include <core.p4>
#include <v1model.p4>

// Side effects around an assignment, as p4c orders them for BMv2: a call in
// the left-hand side's stack index runs before the right-hand side; a plain
// index is read after the right-hand side changed it. A function may return
// a header built from a list expression.
header idx_t { bit<8> i; bit<8> op; }
header h_t { bit<8> a; bit<8> b; }
struct headers_t { idx_t idx; h_t[2] s; h_t made; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.idx);
        pkt.extract(hdr.s.next);
        pkt.extract(hdr.s.next);
        transition accept;
    }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

bit<8> same(in bit<8> i) {
    return i;
}
bit<8> flip(inout bit<8> i) {
    i = 1 - i;
    return 0x5a;
}
h_t make(in bit<8> v) {
    if (v == 0) {
        return { 0xa0, 0xa1 };
    }
    return { v, v };
}

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (hdr.idx.i < 2) {
            hdr.s[hdr.idx.i].a = flip(hdr.idx.i);
        } else if (hdr.idx.i < 4) {
            hdr.idx.i = hdr.idx.i - 2;
            hdr.s[same(hdr.idx.i)].b = flip(hdr.idx.i);
        }
        hdr.made = make(hdr.idx.op);
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
