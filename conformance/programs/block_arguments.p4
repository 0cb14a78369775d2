#include <core.p4>
#include <v1model.p4>

// Controls passed as constructor arguments (P4_16 spec 15): one instance
// shared by the controls it is given to (its counter is one counter), a
// scalar constructor argument, and a control invoked directly by its type
// name (spec 15.1).
header h_t { bit<8> op; bit<16> x; }
struct headers_t { h_t h; }
struct meta_t { }

control step_t(inout bit<16> x);

control Inc(inout bit<16> x) {
    counter(8, CounterType.packets) hits;
    apply { x = x + 1; hits.count(0); }
}
control Twice(inout bit<16> x)(step_t s) {
    apply { x = x << 1; s.apply(x); }
}
control AddThen(inout bit<16> x)(step_t s, bit<16> k) {
    apply { x = x + k; s.apply(x); s.apply(x); }
}
control Swap(inout bit<16> x) {
    apply { x = x[7:0] ++ x[15:8]; }
}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Inc() inc;
    Twice(inc) twice;
    AddThen(inc, 0x100) add_then;
    apply {
        sm.egress_spec = 1;
        if (hdr.h.op == 1) {
            twice.apply(hdr.h.x);
        } else if (hdr.h.op == 2) {
            add_then.apply(hdr.h.x);
        } else if (hdr.h.op == 3) {
            Swap.apply(hdr.h.x);
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
