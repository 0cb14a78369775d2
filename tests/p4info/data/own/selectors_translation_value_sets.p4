// Action selector shared by two tables with @max_group_size, @p4runtime_translation new types, struct and @name value sets, nested control instances, @hidden tables, digests with stacks and enums.
#include <core.p4>
#include <v1model.p4>
enum bit<4> Kind { A = 1, B = 2 }
@p4runtime_translation("example.org/port", 32) type bit<9> port_t;
@p4runtime_translation("example.org/name", string) type bit<16> name_t;
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
header vlan_t { bit<16> tci; bit<16> type; }
struct hdr_t { eth_t eth; vlan_t[2] vlan; }
struct meta_t { bit<8> x; Kind k; port_t p; name_t n; bit<4> pad; }
struct vs_t { @match(ternary) bit<16> type; @match(lpm) bit<8> x; bit<8> y; }
struct dg_t { bit<48> src; vlan_t v; Kind k; }
parser P(packet_in pk, out hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  value_set<vs_t>(4) vs;
  @name("types") value_set<bit<16>>(8) vs2;
  state start { pk.extract(hdr.eth); transition select(hdr.eth.type, meta.x, meta.x) { vs: accept; default: s2; } }
  state s2 { transition select(hdr.eth.type) { vs2: accept; default: accept; } }
}
control VC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control CC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control Sub(inout hdr_t hdr, inout meta_t meta)(bit<32> n) {
  counter(n, CounterType.packets) c;
  action hit_it(@brief("which") Kind k) { meta.k = k; c.count(1); }
  table st { key = { meta.k : exact; hdr.vlan[0].tci : ternary; hdr.vlan[1].isValid() : exact; } actions = { hit_it; } }
  apply { st.apply(); }
}
control I(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  Sub(16) s1;
  Sub(32) s2;
  @max_group_size(8) action_selector(HashAlgorithm.crc32, 32w16, 32w8) sel;
  direct_counter(CounterType.packets) dc;
  action fwd(port_t p, name_t n) { sm.egress_spec = (bit<9>)p; meta.n = n; }
  @hidden table ht { key = { meta.x : exact; } actions = { NoAction; } }
  table t1 { key = { meta.p : exact; meta.x : selector; } actions = { fwd; } implementation = sel; counters = dc; }
  table t2 { key = { meta.n : exact; meta.x : selector; } actions = { fwd; NoAction; } implementation = sel; }
  apply { s1.apply(hdr, meta); s2.apply(hdr, meta); ht.apply(); t1.apply(); t2.apply(); digest<dg_t>(1, {hdr.eth.src, hdr.vlan[0], meta.k}); }
}
control E(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  table et { key = { sm.egress_port : exact; } actions = { NoAction; } default_action = NoAction(); }
  apply { et.apply(); }
}
control D(packet_out pk, in hdr_t hdr) { apply { pk.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
