#include <core.p4>
#include <v1model.p4>

// header_union (P4_16 spec 8.20): at most one member is valid; making one
// member valid (extract, setValid, assignment) invalidates the others;
// isValid() on the union; emit writes the valid member.
header tag_t { bit<8> kind; bit<8> op; }
header v4_t { bit<32> addr; }
header v6_t { bit<64> addr; }
header_union ip_t { v4_t v4; v6_t v6; }
struct headers_t { tag_t tag; ip_t ip; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.tag);
        transition select(hdr.tag.kind) { 4: v4; 6: v6; default: accept; }
    }
    state v4 { pkt.extract(hdr.ip.v4); transition accept; }
    state v6 { pkt.extract(hdr.ip.v6); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (hdr.tag.op == 1) {
            hdr.ip.v6.setValid();           // v4 (if valid) becomes invalid
            hdr.ip.v6.addr = 0x0606060606060606;
        } else if (hdr.tag.op == 2) {
            v4_t n = { 0x04040404 };
            hdr.ip.v4 = n;                  // a valid header assigned: v6 invalid
        } else if (hdr.tag.op == 3) {
            hdr.ip.v4.setInvalid();
            hdr.ip.v6.setInvalid();
        }
        hdr.tag.op = hdr.ip.isValid() ? 8w0xa0 : 8w0xb0;
        if (hdr.ip.v4.isValid()) { hdr.tag.op = hdr.tag.op | 1; }
        if (hdr.ip.v6.isValid()) { hdr.tag.op = hdr.tag.op | 2; }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
