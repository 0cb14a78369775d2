#include <core.p4>
#include <v1model.p4>

// switch on table.apply().action_run with nested applies, fall-through
// labels, default, and an action called again inside its own case
// (P4_16 spec 12.7, 14.2.2).
header h_t { bit<8> k1; bit<8> k2; bit<8> a; bit<8> b; }
struct headers_t { h_t h; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action one() { hdr.h.a = hdr.h.a + 1; }
    action two() { hdr.h.a = hdr.h.a + 2; }
    action three() { hdr.h.a = hdr.h.a + 3; }
    table t1 {
        key = { hdr.h.k1: exact; }
        actions = { one; two; three; }
        const entries = { 1 : one(); 2 : two(); 3 : three(); }
        default_action = three();
    }
    table t2 {
        key = { hdr.h.k2: exact; }
        actions = { one; two; }
        const entries = { 1 : one(); 2 : two(); }
    }
    table t3 {
        key = { hdr.h.k2: exact; }
        actions = { NoAction; }
        const entries = { 9 : NoAction(); }
    }
    apply {
        sm.egress_spec = 1;
        switch (t1.apply().action_run) {
            one: {
                switch (t2.apply().action_run) {
                    one: { hdr.h.b = 0x11; }
                    two: { hdr.h.b = 0x12; one(); }
                    default: { hdr.h.b = 0x1f; }
                }
            }
            two:
            three: { hdr.h.b = hdr.h.b | 0x20; }
        }
        if (t3.apply().hit) {
            hdr.h.b = hdr.h.b + 0x40;
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
