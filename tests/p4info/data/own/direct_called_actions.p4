// Actions called directly (no table) have no parameters in P4Info; actions called only from actions are left out.
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
  action both(bit<8> v) { meta.x = v; }
  action inner(bit<8> v) { meta.y = (bit<16>)v; }
  action outer(bit<8> w) { inner(w); }
  action dir_io(inout bit<8> v, bit<8> k) { v = k; }
  action never() { meta.x = 9; }
  table t { key = { meta.x : exact; } actions = { both; outer; } }
  apply { both(3); dir_io(meta.x, 4); t.apply(); if (meta.x == 0) { never(); } }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
