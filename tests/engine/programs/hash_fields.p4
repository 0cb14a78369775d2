/* hash() over a list of several fields of different widths (BMv2 packs them
 * big-endian, back to back, before hashing). */
#include <core.p4>
#include <v1model.p4>

header in_t { bit<32> a; bit<32> b; bit<16> c; bit<16> d; bit<8> e; }
header out_t { bit<32> crc; bit<16> csum; }
struct headers_t { in_t i; out_t o; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.i); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t m) { apply { } }
control I(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        hdr.o.setValid();
        // Locals and header fields take different code paths in the engine.
        bit<32> a = hdr.i.a;
        bit<32> b = hdr.i.b;
        bit<16> c = hdr.i.c;
        hash(hdr.o.crc, HashAlgorithm.crc32, 32w0,
             { a, b, c, hdr.i.d, hdr.i.e }, 64w4294967296);
        hash(hdr.o.csum, HashAlgorithm.csum16, 16w0, { a, b, c, 16w0x0050 }, 32w65536);
        sm.egress_spec = 1;
    }
}
control E(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t m) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.i); pkt.emit(hdr.o); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
