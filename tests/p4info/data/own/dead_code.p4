// Tables and actions only under a constant-false branch are left out; statements after exit are kept.
#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
header ip_t { bit<8> ttl; bit<8> proto; bit<16> csum; bit<32> src; bit<32> dst; }
struct hdr_t { eth_t eth; ip_t ip; }
struct meta_t { bit<8> x; bit<16> y; bit<32> z; }
parser P(packet_in pk, out hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  state start { pk.extract(hdr.eth); transition select(hdr.eth.type) { 0x800: ip; default: accept; } }
  state ip { pk.extract(hdr.ip); transition accept; }
}
control VC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control CC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control E(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pk, in hdr_t hdr) { apply { pk.emit(hdr); } }
control I(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  action a1() { meta.x = 1; }
  action a2() { meta.x = 2; }
  action a3() { meta.x = 3; }
  table t1 { key = { meta.x : exact; } actions = { a1; } }
  table t2 { key = { meta.x : exact; } actions = { a2; } }
  table t3 { key = { meta.x : exact; } actions = { a3; } }
  apply {
    if (false) { t1.apply(); } else { a2(); }
    meta.y = true ? 16w1 : (t3.apply().hit ? 16w2 : 16w3);
    t2.apply();
    exit;
    a3();
  }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
