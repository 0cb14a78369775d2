// Packet replication as BMv2's simple_switch documents it for v1model: a non-zero
// mcast_grp sends one copy per replica of the group, with egress_rid set to the
// replica's instance and instance_type 5 (replication); clone(I2E, session) sends the
// original on and a copy to the session's port with instance_type 1 (ingress clone).
// An indirect counter counts packets per index, read back over P4Runtime.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> op;
    bit<8> rid;
    bit<8> itype;
    bit<8> port;
}

struct headers_t {
    h_t h;
}

struct meta_t {}

parser MyParser(packet_in pkt, out headers_t hdr, inout meta_t m,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout meta_t m) { apply {} }

control MyIngress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    counter(8, CounterType.packets) per_op;

    action mcast(bit<16> grp) {
        sm.mcast_grp = grp;
    }
    action fwd_and_clone(bit<9> p) {
        sm.egress_spec = p;
        clone(CloneType.I2E, 32w3);
    }
    table t {
        key = { hdr.h.op : exact; }
        actions = { mcast; fwd_and_clone; NoAction; }
        default_action = NoAction();
    }
    apply {
        per_op.count((bit<32>)hdr.h.op[2:0]);
        t.apply();
    }
}

control MyEgress(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        hdr.h.rid = (bit<8>)sm.egress_rid;
        hdr.h.itype = (bit<8>)sm.instance_type;
        hdr.h.port = (bit<8>)sm.egress_port;
    }
}

control MyCompute(inout headers_t hdr, inout meta_t m) { apply {} }

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.h);
    }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
