// Action profile shared by tables (table_ids in name order), @id and global @name on a table, direct meter, error/bool/int keys, range and optional keys, parser counter, a top-level action in two controls.
#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
struct hdr_t { eth_t eth; }
struct meta_t { bit<8> x; int<8> i; bool b; bit<32> idx; }
parser P(packet_in pk, out hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  counter(8, CounterType.bytes) pc;
  state start { pk.extract(hdr.eth); transition accept; }
}
control VC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control CC(inout hdr_t hdr, inout meta_t meta) { apply { } }
action shared_act(bit<8> v) { }
control I(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  action_profile(32w64) ap;
  direct_meter<bit<2>>(MeterType.packets) dm;
  register<int<16>>(32w10) ri;
  @id(0x02000099) @name(".top_table") table t1 { key = { sm.parser_error : exact; meta.b : exact; meta.i : ternary; } actions = { shared_act; } implementation = ap; }
  table t2 { key = { hdr.eth.dst : exact; } actions = { shared_act; NoAction; } implementation = ap; size = 4096; }
  action m(bit<8> v) { bit<2> c; dm.read(c); meta.x = (bit<8>)c + v; }
  table t3 { key = { meta.x : range; meta.x : optional; } actions = { m; } meters = dm; }
  apply { t1.apply(); t2.apply(); t3.apply(); ri.write(meta.idx, 3); }
}
control E(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  table et { key = { sm.egress_port : exact; } actions = { shared_act; NoAction; } }
  apply { et.apply(); }
}
control D(packet_out pk, in hdr_t hdr) { apply { pk.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
