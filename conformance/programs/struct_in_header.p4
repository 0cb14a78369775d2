#include <core.p4>
#include <v1model.p4>

// A struct as a header field (P4_16 spec 7.2.2): extracted, changed,
// copied with its header, emitted; static_assert as a compile-time check.
struct addr_t { bit<8> hi; bit<8> lo; }
header h_t { bit<8> op; addr_t src; addr_t dst; }
struct headers_t { h_t h; h_t copy; }
struct meta_t { }

const bool width_ok = static_assert(h_t.minSizeInBits() == 40, "h_t is 5 bytes");

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (hdr.h.op == 1) {
            addr_t t = hdr.h.src;
            hdr.h.src = hdr.h.dst;
            hdr.h.dst = t;
        } else if (hdr.h.op == 2) {
            hdr.copy = hdr.h;
            hdr.copy.src.lo = 0xff;
            hdr.h.dst.hi = hdr.copy.src.hi + 1;
        } else if (hdr.h.op == 3) {
            hdr.h.setInvalid();
            hdr.copy.setValid();
            hdr.copy.dst.lo = 0x33;
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
