#include <core.p4>
#include <v1model.p4>

// A table without default_action gets NoAction as its default even when
// NoAction is not in its actions list (P4_16 spec 14.2.1.3); a miss runs it.
header h_t { bit<8> k; bit<8> a; }
struct headers_t { h_t h; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action mark() { hdr.h.a = 0xaa; exit; }
    table t {
        key = { hdr.h.k: exact; }
        actions = { mark; }
        const entries = { 1 : mark(); }
    }
    apply {
        sm.egress_spec = 1;
        if (!t.apply().hit) {
            hdr.h.a = 0x55;
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
