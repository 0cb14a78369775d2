#include <core.p4>
#include <v1model.p4>

// Which const entry wins on a ternary table, as BMv2 ranks them: p4c gives
// each entry its @priority(n), or else its 1-based position, and BMv2
// picks the matching entry with the smallest number.
header h_t { bit<16> k; bit<8> port; }
struct headers_t { h_t h; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action to(bit<9> p) { sm.egress_spec = p; hdr.h.port = (bit<8>)p; }
    table annotated {
        key = { hdr.h.k: ternary; }
        actions = { to; }
        default_action = to(0);
        const entries = {
            0x0a01 &&& 0x00ff : to(1) @priority(3);   // ranked 3
            0x0a01            : to(2);                // ranked 2 (position)
            0x0a01 &&& 0xff0f : to(3) @priority(1);   // ranked 1: wins where it matches
        }
    }
    table positional {
        key = { hdr.h.k: ternary; }
        actions = { to; }
        default_action = to(0);
        const entries = {
            0x0b01 &&& 0x00ff : to(1);                // the first match wins
            0x0b01            : to(2);
            0x0b01 &&& 0xff0f : to(3);
        }
    }
    apply {
        if (hdr.h.k[15:8] == 0x0a) {
            annotated.apply();
        } else {
            positional.apply();
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
