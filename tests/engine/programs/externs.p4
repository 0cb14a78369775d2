/* v1model externs and the traffic manager: register, counter, meter, hash,
 * random, checksums, digest, truncate, clone, resubmit, multicast, recirculate. */
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> op; bit<8> idx; bit<32> val; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> tos; bit<16> len; bit<16> id; bit<3> flags;
    bit<13> frag; bit<8> ttl; bit<8> proto; bit<16> csum; bit<32> src; bit<32> dst;
}
header r_t {
    bit<32> reg; bit<16> crc16; bit<32> crc32; bit<16> csum; bit<16> xor16; bit<32> ident;
    bit<16> hmod; bit<8> rnd; bit<8> ckerr; bit<8> color;
}
header t_t { bit<8> inst; bit<8> keep; bit<8> lost; bit<8> rid; bit<16> port; bit<8> iinst; }
struct headers_t { h_t h; ipv4_t ipv4; r_t r; t_t t; }
struct meta_t { @field_list(1) bit<8> keep; bit<8> lost; bit<8> iinst; }
struct digest_t { bit<32> val; bit<9> port; }

parser P(packet_in pkt, out headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); pkt.extract(hdr.ipv4); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t m) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.tos, hdr.ipv4.len, hdr.ipv4.id,
              hdr.ipv4.flags, hdr.ipv4.frag, hdr.ipv4.ttl, hdr.ipv4.proto, hdr.ipv4.src,
              hdr.ipv4.dst },
            hdr.ipv4.csum, HashAlgorithm.csum16);
    }
}
control I(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    register<bit<32>>(16) regs;
    counter(16, CounterType.packets_and_bytes) ctr;
    meter(4, MeterType.bytes) mtr;
    apply {
        hdr.r.setValid();
        regs.read(hdr.r.reg, (bit<32>)hdr.h.idx);
        regs.write((bit<32>)hdr.h.idx, hdr.r.reg + hdr.h.val);
        ctr.count((bit<32>)hdr.h.idx);
        hash(hdr.r.crc16, HashAlgorithm.crc16, 16w0, { hdr.h.val }, 32w65536);
        hash(hdr.r.crc32, HashAlgorithm.crc32, 32w0, { hdr.h.val }, 64w4294967296);
        hash(hdr.r.csum, HashAlgorithm.csum16, 16w0, { hdr.h.val }, 32w65536);
        hash(hdr.r.xor16, HashAlgorithm.xor16, 16w0, { hdr.h.val }, 32w65536);
        hash(hdr.r.ident, HashAlgorithm.identity, 32w0, { hdr.h.val }, 64w4294967296);
        hash(hdr.r.hmod, HashAlgorithm.crc16, 16w100, { hdr.h.val }, 32w10);
        random(hdr.r.rnd, 8w5, 8w5);
        mtr.execute_meter((bit<32>)0, hdr.r.color);
        hdr.r.ckerr = (bit<8>)sm.checksum_error;
        m.keep = 7;
        m.iinst = (bit<8>)sm.instance_type;
        m.lost = 9;
        sm.egress_spec = 1;
        if (hdr.h.op == 1) { clone_preserving_field_list(CloneType.I2E, 5, 1); }
        if (hdr.h.op == 2 && sm.instance_type == 0) { resubmit_preserving_field_list(1); }
        if (hdr.h.op == 3) { sm.mcast_grp = 1; }
        if (hdr.h.op == 4) { mark_to_drop(sm); }
        if (hdr.h.op == 5) { digest<digest_t>(1, { hdr.h.val, sm.ingress_port }); }
        if (hdr.h.op == 6) { truncate(10); }
        if (hdr.h.op == 9) { hdr.ipv4.ttl = hdr.ipv4.ttl - 1; }
    }
}
control E(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        hdr.t.setValid();
        hdr.t.inst = (bit<8>)sm.instance_type;
        hdr.t.keep = m.keep;
        hdr.t.lost = m.lost;
        hdr.t.rid = (bit<8>)sm.egress_rid;
        hdr.t.port = (bit<16>)sm.egress_port;
        hdr.t.iinst = m.iinst;
        if (hdr.h.op == 7 && sm.instance_type == 0) { recirculate_preserving_field_list(1); }
        if (hdr.h.op == 8 && sm.instance_type == 0) { clone_preserving_field_list(CloneType.E2E, 5, 1); }
        if (hdr.h.op == 10) { truncate(12); }
    }
}
control CC(inout headers_t hdr, inout meta_t m) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.tos, hdr.ipv4.len, hdr.ipv4.id,
              hdr.ipv4.flags, hdr.ipv4.frag, hdr.ipv4.ttl, hdr.ipv4.proto, hdr.ipv4.src,
              hdr.ipv4.dst },
            hdr.ipv4.csum, HashAlgorithm.csum16);
    }
}
control D(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.t); pkt.emit(hdr.h); pkt.emit(hdr.ipv4); pkt.emit(hdr.r); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
