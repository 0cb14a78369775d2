// Names of tables and keys in nested control instances: @name on tables, keys, instances, a global @name.
#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
struct hdr_t { eth_t eth; }
struct meta_t { bit<8> x; }
parser P(packet_in pk, out hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  state start { pk.extract(hdr.eth); transition accept; }
}
control VC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control CC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control Inner(inout meta_t meta) {
  @name("renamed_t") table t { key = { meta.x : exact @name("kx"); } actions = { NoAction; } }
  @name(".abs_t") table u { key = { meta.x : exact; } actions = { NoAction; } }
  action set() { meta.x = 1; }
  table v { key = { meta.x : exact; } actions = { set; } }
  apply { t.apply(); u.apply(); v.apply(); }
}
control Mid(inout meta_t meta) {
  @name("deep") Inner() inner;
  apply { inner.apply(meta); }
}
control I(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  Mid() m1;
  apply { m1.apply(meta); }
}
control E(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pk, in hdr_t hdr) { apply { pk.emit(hdr); } }
@name("MySwitch") V1Switch(P(), VC(), I(), E(), CC(), D()) main;
