#include <core.p4>
#include <v1model.p4>

// varbit fields (P4_16 spec 7.1.6, 12.8.2): extract with a run-time size,
// emit at the extracted size, header assignment carries the size, and a
// checksum over a field list that holds the varbit field. A size above the
// maximum is error.HeaderTooShort.
header opt_hdr_t { bit<8> len; bit<8> err; bit<16> csum; varbit<64> opts; }
header tail_t { bit<8> v; bit<56> rest; }
struct headers_t { opt_hdr_t o; opt_hdr_t copy; tail_t tail; }
struct meta_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    state start {
        bit<8> n = pkt.lookahead<bit<8>>();
        pkt.extract(hdr.o, (bit<32>)n * 8);
        pkt.extract(hdr.tail);
        transition accept;
    }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (sm.parser_error == error.HeaderTooShort) {
            hdr.tail.setValid();
            hdr.tail.v = 0xe1;
        } else if (sm.parser_error == error.PacketTooShort) {
            hdr.tail.setValid();
            hdr.tail.v = 0xe2;
        }
        if (hdr.tail.isValid() && hdr.tail.v == 1) {
            hdr.copy = hdr.o;
        }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) {
    apply {
        update_checksum(hdr.o.isValid(), { hdr.o.len, hdr.o.err, hdr.o.opts },
                        hdr.o.csum, HashAlgorithm.csum16);
    }
}
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
