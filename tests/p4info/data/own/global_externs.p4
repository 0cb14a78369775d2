// Top-level extern instances (used or not) come first, then parser and control ones.
#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
struct hdr_t { eth_t eth; }
struct meta_t { bit<8> x; }
register<bit<32>>(8) global_reg;
counter(4, CounterType.packets) global_ctr;
register<bit<4>>(1) global_unused;
parser P(packet_in pk, out hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  register<bit<8>>(2) preg;
  state start { pk.extract(hdr.eth); transition accept; }
}
control VC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control CC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control Sub(inout meta_t meta) {
  register<bit<16>>(3) sreg;
  apply { sreg.write(0, 1); }
}
control I(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  Sub() sub;
  apply { sub.apply(meta); global_reg.write(0, 5); global_ctr.count(1); }
}
control E(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { global_reg.write(1, 6); } }
control D(packet_out pk, in hdr_t hdr) { apply { pk.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
