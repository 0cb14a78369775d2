#include <core.p4>
#include <v1model.p4>

// Header assignment and validity (P4_16 spec 8.17, 8.18, 6.7 copy-in/copy-out):
// header to header, stack elements, through action and function parameters,
// an invalid source, setValid inside a function.
header op_t { bit<8> op; }
header h_t { bit<8> a; bit<8> b; }
struct headers_t { op_t op; h_t x; h_t y; h_t[2] s; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.op);
        pkt.extract(hdr.x);
        transition select(hdr.op.op) {
            1 &&& 1: more;
            default: accept;
        }
    }
    state more { pkt.extract(hdr.s.next); pkt.extract(hdr.s.next); transition accept; }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

void make_valid(inout h_t h, in bit<8> v) {
    h.setValid();
    h.a = v;
    h.b = v + 1;
}

void fill(out h_t h) {
    h.setValid();
    h.a = 0xf0;
    h.b = 0xf1;
}

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action bump(inout h_t h) { h.a = h.a + 1; }
    action swap(inout h_t p, inout h_t q) { h_t t = p; p = q; q = t; }
    action invalidate(out h_t h) { }
    apply {
        sm.egress_spec = 1;
        bit<8> op = hdr.op.op;
        if (op == 2) {
            hdr.y = hdr.x;              // valid to invalid: y valid, same fields
            hdr.y.b = 0x77;
        } else if (op == 3) {
            hdr.x = hdr.y;              // invalid source: x becomes invalid
        } else if (op == 5) {
            hdr.s[1] = hdr.x;           // header into a stack element
            hdr.x = hdr.s[0];
            bump(hdr.s[1]);
        } else if (op == 7) {
            swap(hdr.s[0], hdr.s[1]);
            swap(hdr.x, hdr.y);         // x invalid afterwards, y holds x
        } else if (op == 4) {
            make_valid(hdr.y, 0x40);    // setValid in a function
        } else if (op == 6) {
            fill(hdr.y);
            invalidate(hdr.x);          // an out header parameter starts invalid
        } else if (op == 8) {
            hdr.x.setInvalid();
            hdr.x.a = 0x99;             // writing an invalid header's field
            hdr.y = hdr.x;
            hdr.y.setValid();           // fields keep their value across setValid?
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.op); pkt.emit(hdr.x); pkt.emit(hdr.y); pkt.emit(hdr.s); }
}
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
