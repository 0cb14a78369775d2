#include <core.p4>
#include <v1model.p4>

// A parser applied by another parser (P4_16 spec 13.8) that fills a header
// stack shared with its caller and returns a value through an out parameter;
// a stack overflow inside it ends the parse with error.StackOutOfBounds.
header tag_t { bit<8> next; bit<40> val; }
header top_t { bit<8> first; bit<8> count; bit<8> err; }
struct headers_t { top_t top; tag_t[3] tags; }
struct meta_t { }

parser TagParser(packet_in pkt, inout headers_t hdr, out bit<8> next) {
    state start {
        pkt.extract(hdr.tags.next);
        next = hdr.tags.last.next;
        transition accept;
    }
}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    TagParser() tags;
    bit<8> next;
    state start {
        pkt.extract(hdr.top);
        next = hdr.top.first;
        transition select(next) { 1: tag; default: accept; }
    }
    state tag {
        tags.apply(pkt, hdr, next);
        transition select(next) { 1: tag; default: accept; }
    }
}
control MyVerify(inout headers_t hdr, inout meta_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hdr.top.count = 0;
        if (hdr.tags[0].isValid()) { hdr.top.count = hdr.top.count + 1; }
        if (hdr.tags[1].isValid()) { hdr.top.count = hdr.top.count + 1; }
        if (hdr.tags[2].isValid()) { hdr.top.count = hdr.top.count + 1; }
        hdr.top.err = 0;
        if (sm.parser_error == error.StackOutOfBounds) { hdr.top.err = 1; }
        if (sm.parser_error == error.PacketTooShort) { hdr.top.err = 2; }
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers_t hdr, inout meta_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
