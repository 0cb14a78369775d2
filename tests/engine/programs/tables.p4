/* Tables: every match kind, priorities, const entries, default actions with
 * arguments, hit/miss and switch (t.apply().action_run), direct counters. */
#include <core.p4>
#include <v1model.p4>

header key_t { bit<8> k8; bit<32> addr; bit<16> port; bit<8> opt; }
header res_t { bit<8> exact; bit<8> lpm; bit<8> tern; bit<8> rng; bit<8> opt; bit<8> flags; }
struct headers_t { key_t k; res_t r; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.k); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t m) { apply { } }
control I(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    direct_counter(CounterType.packets_and_bytes) exact_hits;
    action set_exact(bit<8> v) { hdr.r.exact = v; }
    action set_lpm(bit<8> v) { hdr.r.lpm = v; }
    action set_tern(bit<8> v) { hdr.r.tern = v; }
    action set_rng(bit<8> v) { hdr.r.rng = v; }
    action set_opt(bit<8> v) { hdr.r.opt = v; }
    action other() { hdr.r.flags = hdr.r.flags | 0x40; }
    action out_port(bit<9> p) { sm.egress_spec = p; }

    table exact_t {
        key = { hdr.k.k8 : exact; }
        actions = { set_exact; other; }
        default_action = set_exact(0xEE);
        counters = exact_hits;
    }
    table lpm_t {
        key = { hdr.k.addr : lpm; }
        actions = { set_lpm; NoAction; }
        default_action = NoAction();
    }
    table tern_t {
        key = { hdr.k.addr : ternary; hdr.k.k8 : exact; }
        actions = { set_tern; }
        default_action = set_tern(0);
        const entries = {
            (0x0a000000 &&& 0xff000000, 1) : set_tern(1);
            (0x0a010000 &&& 0xffff0000, 1) : set_tern(2);
            (_, 1) : set_tern(3);
        }
    }
    table rng_t {
        key = { hdr.k.port : range; }
        actions = { set_rng; }
        default_action = set_rng(0xFF);
        const entries = {
            1 .. 1023 : set_rng(1);
            1000 .. 2000 : set_rng(2);
            8080 : set_rng(3);
        }
    }
    table opt_t {
        key = { hdr.k.opt : optional; hdr.k.k8 : exact; }
        actions = { set_opt; }
        default_action = set_opt(0);
    }
    table port_t {
        key = { hdr.k.k8 : exact; }
        actions = { out_port; }
        default_action = out_port(3);
        const entries = { 9 : out_port(4); }
    }
    apply {
        hdr.r.setValid();
        hdr.r.flags = 0;
        switch (exact_t.apply().action_run) {
            set_exact: { hdr.r.flags = hdr.r.flags | 1; }
            other: { hdr.r.flags = hdr.r.flags | 2; }
        }
        if (lpm_t.apply().hit) { hdr.r.flags = hdr.r.flags | 4; }
        if (!tern_t.apply().miss) { hdr.r.flags = hdr.r.flags | 8; }
        rng_t.apply();
        opt_t.apply();
        port_t.apply();
    }
}
control E(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t m) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.k); pkt.emit(hdr.r); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
