#include <core.p4>
#include <v1model.p4>

// Serializable enums in table keys, const entries and action arguments; a
// parser value set of a struct type (empty unless a controller fills it);
// two actions sharing one @name.
enum bit<8> Kind { A = 1, B = 2, C = 7 }
struct pair_t { bit<8> k; bit<8> a; }
header h_t { Kind k; bit<8> a; bit<8> r; }
struct headers_t { h_t h; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    value_set<pair_t>(4) pairs;
    state start {
        pkt.extract(hdr.h);
        transition select(hdr.h.k, hdr.h.a) { pairs: matched; default: accept; }
    }
    state matched { hdr.h.r = 0xee; transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set(Kind v) { hdr.h.a = (bit<8>)v; }
    @name(".mark") action mark_in_table() { hdr.h.r = hdr.h.r + 1; }
    @name(".mark") action mark_direct() { hdr.h.r = hdr.h.r + 0x10; }
    table t {
        key = { hdr.h.k: exact; }
        actions = { set; mark_in_table; NoAction; }
        const entries = { Kind.A : set(Kind.C); Kind.B : set(Kind.A); Kind.C : mark_in_table(); }
    }
    apply {
        sm.egress_spec = 1;
        t.apply();
        if (hdr.h.k == Kind.B) {
            mark_direct();
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
