// `exit` inside an action ends the ingress control at once (P4_16 spec 12.5): the
// statements after the table call do not run, egress still does.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> a;
    bit<8> b;
    bit<8> c;
}

struct headers_t {
    h_t h;
}

struct meta_t {}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t m,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout meta_t m) { apply {} }

control MyIngress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    action set_and_exit() {
        hdr.h.a = 1;
        exit;
    }
    action keep_going() {}
    table t {
        key = { hdr.h.c : exact; }
        actions = { set_and_exit; keep_going; }
        default_action = set_and_exit();
    }
    apply {
        sm.egress_spec = 0;
        t.apply();
        hdr.h.b = 0xff;
    }
}

control MyEgress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        hdr.h.c = 0xee;
    }
}

control MyCompute(inout headers_t hdr, inout meta_t m) { apply {} }

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.h);
    }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
