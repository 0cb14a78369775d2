#include <core.p4>
#include <v1model.p4>

// == and != on headers, structs and header stacks (P4_16 spec 8.17, 8.18):
// headers are equal when both are invalid, or both valid with equal fields.
header h_t { bit<8> a; bit<8> b; }
header r_t { bit<8> eq; }
struct pair_t { h_t x; bit<8> m; }
struct headers_t { r_t r; h_t p; h_t q; h_t[2] s; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.r);
        pkt.extract(hdr.p);
        transition select(hdr.r.eq) { 0: accept; default: more; }
    }
    state more { pkt.extract(hdr.q); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        bit<8> r = 0;
        if (hdr.p == hdr.q) { r = r | 1; }
        h_t zero = { 0, 0 };
        if (hdr.p == zero) { r = r | 2; }
        pair_t u = { hdr.p, 7 };
        pair_t w = { hdr.q, 7 };
        if (u != w) { r = r | 4; }
        if (hdr.s[0] == hdr.s[1]) { r = r | 8; }   // both invalid
        hdr.s[0] = hdr.p;
        if (hdr.s[0] == hdr.s[1]) { r = r | 16; }
        hdr.s[0].setInvalid();
        hdr.r.eq = r;
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
