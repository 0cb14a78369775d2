#include <core.p4>
#include <v1model.p4>

// exit in actions, in if branches after header changes, in actions called
// from actions, and with inout arguments (P4_16 spec 12.5, 13.2)
header h_t { bit<8> op; bit<8> a; bit<8> b; bit<8> c; bit<8> d; }
struct headers_t { h_t h; }
struct meta_t { bit<8> m; }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set_and_exit() { hdr.h.a = 1; exit; }
    action inner(inout bit<8> x) { x = 0x33; exit; }
    action outer() { hdr.h.b = 0x44; inner(hdr.h.a); hdr.h.c = 0x44; }
    action inout_exit(inout bit<8> x) { x = 0x55; hdr.h.b = 0x55; exit; }
    table t_exit {
        key = { hdr.h.op: exact; }
        actions = { set_and_exit; NoAction; }
        const entries = { 1 : set_and_exit(); }
        default_action = NoAction();
    }
    apply {
        sm.egress_spec = 1;
        t_exit.apply();
        if (hdr.h.op == 2) {
            hdr.h.a = 2;
            if (hdr.h.b == 0) {
                hdr.h.b = 2;
                exit;
            }
            hdr.h.c = 2;
        } else if (hdr.h.op == 3) {
            outer();
        } else if (hdr.h.op == 4) {
            inout_exit(hdr.h.a);
        } else if (hdr.h.op == 5) {
            meta.m = 7;
            inout_exit(meta.m);
        }
        hdr.h.c = hdr.h.c + 0x10;
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { hdr.h.d = meta.m; }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
