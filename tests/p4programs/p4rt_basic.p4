/* A small program for driving the switch over P4Runtime: exact, ternary and
 * LPM tables, a direct counter, and packet-in/packet-out headers.
 *
 * Packet-out: the controller sets `egress_port`; 0 means "run the normal
 * pipeline" (the packet then behaves as if it had arrived on the CPU port).
 * Packet-in: sent by the `acl` table's send_to_cpu action, carrying the
 * ingress port and a reason code. */
#include <core.p4>
#include <v1model.p4>

const bit<9> CPU_PORT = 64;  // must match --cpu-port

typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;

@controller_header("packet_out")
header packet_out_t {
    bit<9> egress_port;
    bit<7> _pad;
}

@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    bit<7> reason;
}

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<8>      diffserv;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

struct headers_t {
    packet_out_t packet_out;
    packet_in_t  packet_in;
    ethernet_t   ethernet;
    ipv4_t       ipv4;
}

struct metadata_t {
    bit<7> cpu_reason;
}

parser BasicParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    state start {
        transition select(standard_metadata.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }
    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition accept;
    }
}

control BasicVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control BasicIngress(inout headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t standard_metadata) {
    direct_counter(CounterType.packets_and_bytes) acl_counter;

    action drop() {
        mark_to_drop(standard_metadata);
    }
    action set_egress(bit<9> port) {
        standard_metadata.egress_spec = port;
    }
    action send_to_cpu(bit<7> reason) {
        standard_metadata.egress_spec = CPU_PORT;
        meta.cpu_reason = reason;
        acl_counter.count();
    }
    action allow() {
        acl_counter.count();
    }

    table dmac {
        key = { hdr.ethernet.dst_addr: exact @name("dst_addr"); }
        actions = { set_egress; drop; NoAction; }
        default_action = NoAction();
        size = 256;
    }
    table acl {
        key = {
            hdr.ipv4.src_addr: ternary @name("src_addr");
            hdr.ipv4.dst_addr: ternary @name("dst_addr");
            hdr.ipv4.protocol: ternary @name("protocol");
        }
        actions = { send_to_cpu; allow; }
        default_action = allow();
        counters = acl_counter;
        size = 128;
    }
    table routes {
        key = { hdr.ipv4.dst_addr: lpm @name("dst_addr"); }
        actions = { set_egress; drop; }
        default_action = drop();
        size = 1024;
    }

    apply {
        if (hdr.packet_out.isValid() && hdr.packet_out.egress_port != 0) {
            standard_metadata.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
            exit;
        }
        hdr.packet_out.setInvalid();
        dmac.apply();
        if (hdr.ipv4.isValid()) {
            routes.apply();
            acl.apply();
        }
    }
}

control BasicEgress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t standard_metadata) {
    apply {
        if (standard_metadata.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = standard_metadata.ingress_port;
            hdr.packet_in.reason = meta.cpu_reason;
        }
    }
}

control BasicComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control BasicDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

V1Switch(BasicParser(), BasicVerifyChecksum(), BasicIngress(), BasicEgress(),
         BasicComputeChecksum(), BasicDeparser()) main;
