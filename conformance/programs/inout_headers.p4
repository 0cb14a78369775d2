#include <core.p4>
#include <v1model.p4>

// inout header parameters of actions are copied in and copied out (spec
// 6.7): a write to the original inside the action is overwritten by the
// copy-out; an exit in an action called from a control keeps what it wrote,
// an exit in an action called from another action skips that copy-out
// (as p4c compiles them for BMv2).
header h_t { bit<8> op; bit<8> a; bit<8> b; bit<8> c; }
struct headers_t { h_t h; }
struct meta_t { }
parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action inner(inout h_t x) { x.a = 0x11; exit; }
    action outer() { hdr.h.b = 0x22; inner(hdr.h); hdr.h.c = 0x33; }
    action direct(inout h_t x) { x.a = 0x44; exit; }
    action alias(inout h_t x) { x.a = 0x55; hdr.h.b = x.a; }
    apply {
        sm.egress_spec = 1;
        if (hdr.h.op == 1) { outer(); }
        if (hdr.h.op == 2) { direct(hdr.h); }
        if (hdr.h.op == 3) { alias(hdr.h); }
    }
}
control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
