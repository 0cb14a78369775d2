/* Frontend coverage program: most supported P4_16 + v1model constructs in one pipeline. */
#include <core.p4>
#include <v1model.p4>

#define TABLE_SIZE 1024
#define MAKE_NAME(a, b) a##b
#define SQUARE(x) ((x) * (x))
#if TABLE_SIZE > 512 && defined(__TARGET_BMV2__)
const bit<32> BIG = TABLE_SIZE;
#else
#error "TABLE_SIZE too small"
#endif

typedef bit<48> mac_t;
type bit<32> flow_id_t;
const bit<16> ETH_IPV4 = 0x0800;
const int<8> MINUS_ONE = -1;

enum bit<8> Proto { TCP = 6, UDP = 17 }
enum Color { RED, GREEN }
error { BadVersion }

@controller_header("packet_in")
header cpu_in_h { bit<9> port; bit<7> _pad; }

header ethernet_h { mac_t dst; mac_t src; bit<16> ether_type; }
header vlan_h { bit<3> pcp; bit<1> cfi; bit<12> vid; bit<16> ether_type; }
header ipv4_h {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> total_len;
    bit<16> identification; bit<3> flags; bit<13> frag_offset;
    bit<8> ttl; Proto protocol; bit<16> checksum; bit<32> src; bit<32> dst;
}

struct learn_t { mac_t src; bit<9> port; }
struct headers_t { cpu_in_h cpu; ethernet_h eth; vlan_h[2] vlans; ipv4_h ipv4; }
struct meta_t {
    @field_list(1) bit<16> l4_hint;
    bool is_big;
    bit<32> hash_val;
    bit<2> color;
    flow_id_t flow;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t sm) {
    value_set<bit<16>>(4) extra_types;
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.ether_type) {
            0x8100 &&& 0xEFFF: parse_vlan;
            ETH_IPV4: parse_ipv4;
            extra_types: accept;
            0x0600 .. 0x06FF: reject;
            default: accept;
        }
    }
    state parse_vlan {
        pkt.extract(hdr.vlans.next);
        transition select(hdr.vlans.last.ether_type, pkt.lookahead<bit<4>>()) {
            (ETH_IPV4, 4): parse_ipv4;
            (_, _): accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        verify(hdr.ipv4.version == 4, error.BadVersion);
        meta.l4_hint = hdr.ipv4.total_len - (bit<16>)hdr.ipv4.ihl * 4;
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout meta_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src, hdr.ipv4.dst },
            hdr.ipv4.checksum, HashAlgorithm.csum16);
    }
}

control Stats(inout headers_t hdr, in bit<9> port)(bit<32> n) {
    counter(n, CounterType.packets_and_bytes) per_port;
    apply { per_port.count((bit<32>)port); }
}

control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    register<bit<32>>(BIG) seen;
    direct_counter(CounterType.packets) fwd_hits;
    meter(64, MeterType.bytes) rate;
    Stats(256) stats;
    bit<32> tmp = 0;

    action drop() { mark_to_drop(sm); }
    action forward(bit<9> port) {
        sm.egress_spec = port;
        fwd_hits.count();
    }
    action learn() {
        digest<learn_t>(1, { hdr.eth.src, sm.ingress_port });
    }
    action to_cpu() {
        sm.egress_spec = 64;
        clone_preserving_field_list(CloneType.I2E, 5, 1);
    }
    @name("fwd_table") table forwarding {
        key = {
            hdr.eth.dst : exact @name("dst_mac");
            hdr.ipv4.dst : lpm;
            hdr.ipv4.src[31:16] : ternary;
            hdr.ipv4.protocol : optional;
            hdr.ipv4.isValid() : exact;
        }
        actions = { forward; drop; @defaultonly NoAction; }
        default_action = NoAction();
        counters = fwd_hits;
        size = TABLE_SIZE;
    }
    table acl {
        key = { hdr.ipv4.ttl : range; sm.ingress_port : ternary; }
        actions = { drop; to_cpu; NoAction; }
        const default_action = NoAction();
        const entries = {
            (0 .. 1, _) : drop();
            (2 .. 5, 9w1 &&& 9w0x1FF) : to_cpu();
            (_, 3) : NoAction();
        }
    }
    table smac {
        key = { hdr.eth.src : exact; }
        actions = { learn; NoAction; }
        default_action = learn();
    }
    apply {
        bit<16> x = 16w0xFFFF |+| 1;
        bit<8> y = 8w0 |-| 1;
        bit<24> z = hdr.eth.dst[23:16] ++ x;
        int<8> s = MINUS_ONE >> 1;
        meta.is_big = (hdr.ipv4.total_len > 1000) ? true : false;
        hash(meta.hash_val, HashAlgorithm.crc32, 32w0, { hdr.ipv4.src, hdr.ipv4.dst }, 32w1024);
        seen.read(tmp, meta.hash_val);
        seen.write(meta.hash_val, tmp + 1);
        rate.execute_meter((bit<32>)sm.ingress_port, meta.color);
        random(meta.hash_val, 0, 255);
        meta.flow = (flow_id_t)meta.hash_val;
        log_msg("port {}", { sm.ingress_port });
        assert(SQUARE(2) == 4);
        if (hdr.ipv4.protocol == Proto.TCP && (bit<8>)hdr.ipv4.protocol == 6) {
            meta.l4_hint = (bit<16>)(bit<8>)Proto.UDP;
        }
        switch (forwarding.apply().action_run) {
            forward: { acl.apply(); }
            drop:
            NoAction: { exit; }
        }
        if (smac.apply().hit) {
            stats.apply(hdr, sm.ingress_port);
        }
        if (hdr.vlans[0].isValid()) {
            hdr.vlans.pop_front(1);
            hdr.vlans[1].setInvalid();
        }
        if (sm.instance_type == 0 && !meta.is_big) {
            resubmit_preserving_field_list(1);
        }
        s = s |+| 8s5;
        meta.l4_hint = (bit<16>)z[15:0] + (bit<16>)y + (bit<16>)(bit<8>)s;
        truncate(ipv4_h.minSizeInBytes() + hdr.eth.minSizeInBytes());
    }
}

control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        if (sm.egress_port == 64) {
            hdr.cpu.setValid();
            hdr.cpu.port = sm.ingress_port;
        }
        if (sm.instance_type == 1) { recirculate_preserving_field_list(1); }
    }
}

control MyCompute(inout headers_t hdr, inout meta_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src, hdr.ipv4.dst },
            hdr.ipv4.checksum, HashAlgorithm.csum16);
    }
}

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.cpu);
        pkt.emit(hdr.eth);
        pkt.emit(hdr.vlans);
        pkt.emit(hdr.ipv4);
    }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
