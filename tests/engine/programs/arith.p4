/* Operators on bit<8> and int<8>: each result lands in a field of `out`. */
#include <core.p4>
#include <v1model.p4>

header in_t { bit<8> a; bit<8> b; int<8> c; int<8> d; }
header out_t {
    bit<8> add; bit<8> sub; bit<8> mul; bit<8> shl; bit<8> shl_var; bit<8> shr;
    int<8> sshr; bit<8> sat_add; bit<8> sat_sub; int<8> ssat_add; int<8> ssat_sub;
    bit<8> neg; bit<8> inv; bit<8> lt_s; bit<8> lt_u; bit<8> slice; bit<16> concat;
    bit<16> widen; bit<8> narrow; bit<8> eq; bit<8> div; bit<8> mod; bit<8> slice_set;
    bit<8> sshr_var; bit<8> ternary; bit<8> and_or_xor;
}
struct headers_t { in_t i; out_t o; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.i); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t m) { apply { } }
control I(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        bit<8> a = hdr.i.a;
        bit<8> b = hdr.i.b;
        int<8> c = hdr.i.c;
        int<8> d = hdr.i.d;
        hdr.o.setValid();
        hdr.o.add = a + b;
        hdr.o.sub = a - b;
        hdr.o.mul = a * b;
        hdr.o.shl = a << 3;
        hdr.o.shl_var = a << b;
        hdr.o.shr = a >> 2;
        hdr.o.sshr = c >> 2;
        hdr.o.sat_add = a |+| b;
        hdr.o.sat_sub = a |-| b;
        hdr.o.ssat_add = c |+| d;
        hdr.o.ssat_sub = c |-| d;
        hdr.o.neg = -a;
        hdr.o.inv = ~a;
        hdr.o.lt_s = (c < d) ? 8w1 : 8w0;
        hdr.o.lt_u = (a < b) ? 8w1 : 8w0;
        hdr.o.slice = (bit<8>)a[7:4];
        hdr.o.concat = a ++ b;
        hdr.o.widen = (bit<16>)(int<16>)c;
        hdr.o.narrow = (bit<8>)(bit<4>)a;
        hdr.o.eq = (bit<8>)(bit<1>)(a == b);
        hdr.o.div = a / 4;  // BMv2 divides only by constant powers of two
        hdr.o.mod = a % 4;
        bit<8> t = a;
        t[3:0] = b[3:0];
        hdr.o.slice_set = t;
        hdr.o.sshr_var = (bit<8>)(c >> b);
        hdr.o.ternary = a > 100 ? a : b;
        hdr.o.and_or_xor = (a & b) | (a ^ 8w0x0f);
        sm.egress_spec = 1;
    }
}
control E(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t m) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.i); pkt.emit(hdr.o); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
