/* Ethernet / IPv4 / IPv6 / TCP / UDP parsing with checksum verification: used
 * to run real (truncated, malformed, bad-checksum) captures through the engine.
 * A packet with a wrong checksum goes to port 2, others to port 1. */
#include <core.p4>
#include <v1model.p4>

header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
header vlan_t { bit<16> tci; bit<16> type; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> tos; bit<16> len; bit<16> id; bit<3> flags;
    bit<13> frag; bit<8> ttl; bit<8> proto; bit<16> csum; bit<32> src; bit<32> dst;
}
header ipv6_t {
    bit<4> version; bit<8> tc; bit<20> flow; bit<16> plen; bit<8> next; bit<8> hops;
    bit<128> src; bit<128> dst;
}
header tcp_t {
    bit<16> sport; bit<16> dport; bit<32> seq; bit<32> ack; bit<4> off; bit<4> res;
    bit<8> flags; bit<16> win; bit<16> csum; bit<16> urg;
}
header udp_t { bit<16> sport; bit<16> dport; bit<16> len; bit<16> csum; }
struct headers_t { eth_t eth; vlan_t[2] vlan; ipv4_t ipv4; ipv6_t ipv6; tcp_t tcp; udp_t udp; }
struct meta_t { bit<16> l4len; }

parser P(packet_in pkt, out headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.type) {
            0x8100: vlan; 0x0800: ipv4; 0x86dd: ipv6; default: accept;
        }
    }
    state vlan {
        pkt.extract(hdr.vlan.next);
        transition select(hdr.vlan.last.type) {
            0x8100: vlan; 0x0800: ipv4; 0x86dd: ipv6; default: accept;
        }
    }
    state ipv4 {
        pkt.extract(hdr.ipv4);
        m.l4len = hdr.ipv4.len - 20;
        transition select(hdr.ipv4.ihl, hdr.ipv4.frag, hdr.ipv4.proto) {
            (5, 0, 6): tcp; (5, 0, 17): udp; default: accept;
        }
    }
    state ipv6 {
        pkt.extract(hdr.ipv6);
        transition select(hdr.ipv6.next) { 6: tcp; 17: udp; default: accept; }
    }
    state tcp { pkt.extract(hdr.tcp); transition accept; }
    state udp { pkt.extract(hdr.udp); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t m) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.tos, hdr.ipv4.len, hdr.ipv4.id,
              hdr.ipv4.flags, hdr.ipv4.frag, hdr.ipv4.ttl, hdr.ipv4.proto, hdr.ipv4.src,
              hdr.ipv4.dst },
            hdr.ipv4.csum, HashAlgorithm.csum16);
        verify_checksum_with_payload(hdr.ipv4.isValid() && hdr.udp.isValid() && hdr.udp.csum != 0,
            { hdr.ipv4.src, hdr.ipv4.dst, 8w0, hdr.ipv4.proto, hdr.udp.len,
              hdr.udp.sport, hdr.udp.dport, hdr.udp.len },
            hdr.udp.csum, HashAlgorithm.csum16);
        verify_checksum_with_payload(hdr.ipv4.isValid() && hdr.tcp.isValid(),
            { hdr.ipv4.src, hdr.ipv4.dst, 8w0, hdr.ipv4.proto, m.l4len,
              hdr.tcp.sport, hdr.tcp.dport, hdr.tcp.seq, hdr.tcp.ack, hdr.tcp.off, hdr.tcp.res,
              hdr.tcp.flags, hdr.tcp.win, hdr.tcp.urg },
            hdr.tcp.csum, HashAlgorithm.csum16);
    }
}
control I(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    counter(4, CounterType.packets) errs;
    apply {
        sm.egress_spec = 1 + (bit<9>)sm.checksum_error;
        if (sm.parser_error != error.NoError) { errs.count(1); }
    }
}
control E(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t m) { apply { } }
control D(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.eth); pkt.emit(hdr.vlan); pkt.emit(hdr.ipv4); pkt.emit(hdr.ipv6);
        pkt.emit(hdr.tcp); pkt.emit(hdr.udp);
    }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
