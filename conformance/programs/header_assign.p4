// Assigning one header to another copies its fields and its validity (P4_16 spec
// 8.17): copying an invalid header makes the destination invalid, so the deparser
// leaves it out.
#include <core.p4>
#include <v1model.p4>

header sel_t {
    bit<8> mode;
}

header p_t {
    bit<8> x;
    bit<8> y;
}

struct headers_t {
    sel_t sel;
    p_t a;
    p_t b;
}

struct meta_t {}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t m,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.sel);
        pkt.extract(hdr.a);
        pkt.extract(hdr.b);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout meta_t m) { apply {} }

control MyIngress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 0;
        if (hdr.sel.mode == 1) {
            hdr.b = hdr.a;
        } else if (hdr.sel.mode == 2) {
            hdr.a.setInvalid();
            hdr.b = hdr.a;
        } else if (hdr.sel.mode == 3) {
            hdr.a = hdr.b;
            hdr.a.x = hdr.a.x + 1;
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {}
}

control MyCompute(inout headers_t hdr, inout meta_t m) { apply {} }

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.sel);
        pkt.emit(hdr.a);
        pkt.emit(hdr.b);
    }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
