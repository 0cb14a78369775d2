/* One of each P4Runtime entity the conformance cases of docs/p4runtime.md need:
 * exact, ternary (direct counter), lpm (direct meter), const and idle-timeout
 * tables, an indexed counter and meter, packet-in/packet-out headers. */
#include <core.p4>
#include <v1model.p4>
@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> _pad; }
@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> _pad; }
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etype; }
struct headers_t { packet_out_t po; packet_in_t pi; ethernet_t eth; }
struct meta_t { bit<8> x; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { transition select(sm.ingress_port) { 64: po; default: eth; } }
    state po { pkt.extract(hdr.po); transition eth; }
    state eth { pkt.extract(hdr.eth); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    direct_counter(CounterType.packets_and_bytes) tern_counter;
    direct_meter<bit<2>>(MeterType.bytes) lpm_meter;
    counter(8, CounterType.packets_and_bytes) idx_counter;
    meter(8, MeterType.packets) idx_meter;
    action set_egress(bit<9> port) { sm.egress_spec = port; }
    action drop() { mark_to_drop(sm); }
    action tcount(bit<9> port) { sm.egress_spec = port; tern_counter.count(); }
    action lmeter(bit<9> port) { sm.egress_spec = port; lpm_meter.read(meta.x[1:0]); }
    table t_exact {
        key = { hdr.eth.dst: exact; }
        actions = { set_egress; drop; @defaultonly NoAction; }
        default_action = NoAction();
    }
    table t_tern {
        key = { hdr.eth.src: ternary; }
        actions = { tcount; NoAction; }
        counters = tern_counter;
    }
    table t_lpm {
        key = { hdr.eth.dst: lpm; }
        actions = { lmeter; NoAction; }
        meters = lpm_meter;
    }
    table t_const {
        key = { hdr.eth.etype: exact; }
        actions = { drop; NoAction; }
        const entries = { 0x0806 : drop(); }
    }
    table t_idle {
        key = { hdr.eth.etype: exact; }
        actions = { set_egress; NoAction; }
        support_timeout = true;
    }
    apply {
        t_exact.apply(); t_tern.apply(); t_lpm.apply(); t_const.apply(); t_idle.apply();
        idx_counter.count(0); idx_meter.execute_meter(0, meta.x);
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.pi); pkt.emit(hdr.eth); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
