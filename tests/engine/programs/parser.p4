/* Parser constructs: select on values/masks/ranges/default, header stacks,
 * lookahead, verify, and the parser errors BMv2 reports. */
#include <core.p4>
#include <v1model.p4>

error { BadVersion }

header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
header vlan_t { bit<16> tci; bit<16> type; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> tos; bit<16> len; bit<16> id; bit<3> flags;
    bit<13> frag; bit<8> ttl; bit<8> proto; bit<16> csum; bit<32> src; bit<32> dst;
}
header res_t { bit<8> err; bit<8> nvlan; bit<8> path; bit<8> last_tci; }
struct headers_t { res_t res; eth_t eth; vlan_t[2] vlan; ipv4_t ipv4; }
struct meta_t { bit<8> path; }

parser P(packet_in pkt, out headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.type) {
            0x8100: vlan;
            0x0800: ipv4;
            0x9000 &&& 0xff00: masked;
            0x0600 .. 0x06ff: ranged;
            0x1234: strict;
            0x5555: skip;
            default: accept;
        }
    }
    state vlan {
        pkt.extract(hdr.vlan.next);
        transition select(hdr.vlan.last.type) {
            0x8100: vlan;
            0x0800: ipv4;
            default: accept;
        }
    }
    state ipv4 {
        verify(pkt.lookahead<bit<4>>() == 4, error.BadVersion);
        pkt.extract(hdr.ipv4);
        transition accept;
    }
    state masked { m.path = 1; transition accept; }
    state ranged { m.path = 2; transition accept; }
    state strict {
        transition select(pkt.lookahead<bit<8>>()) {
            1: accept;
        }
    }
    state skip { pkt.advance(16); m.path = 3; transition ipv4; }
}
control VC(inout headers_t hdr, inout meta_t m) { apply { } }
control I(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        hdr.res.setValid();
        if (sm.parser_error == error.NoError) { hdr.res.err = 0; }
        else if (sm.parser_error == error.PacketTooShort) { hdr.res.err = 1; }
        else if (sm.parser_error == error.NoMatch) { hdr.res.err = 2; }
        else if (sm.parser_error == error.StackOutOfBounds) { hdr.res.err = 3; }
        else if (sm.parser_error == error.BadVersion) { hdr.res.err = 4; }
        else { hdr.res.err = 255; }
        hdr.res.nvlan = 0;
        if (hdr.vlan[0].isValid()) { hdr.res.nvlan = hdr.res.nvlan + 1; }
        if (hdr.vlan[1].isValid()) { hdr.res.nvlan = hdr.res.nvlan + 1; }
        hdr.res.path = m.path;
        hdr.res.last_tci = (bit<8>)hdr.vlan[1].tci;
        sm.egress_spec = 2;
    }
}
control E(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t m) { apply { } }
control D(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.res); pkt.emit(hdr.eth); pkt.emit(hdr.vlan); pkt.emit(hdr.ipv4); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
