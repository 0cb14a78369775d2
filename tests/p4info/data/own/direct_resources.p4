// Direct counter and meter, indexed counter and meter, idle timeout, lpm const entries.
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
  direct_counter(CounterType.packets_and_bytes) dc;
  direct_meter<bit<8>>(MeterType.bytes) dm;
  counter(10, CounterType.bytes) c;
  meter(20, MeterType.packets) m;
  action a(bit<9> p) { sm.egress_spec = p; dm.read(meta.x); }
  table t { key = { hdr.eth.dst : exact; } actions = { a; } counters = dc; meters = dm; support_timeout = true; size = 10; }
  table t2 { key = { hdr.eth.dst : lpm; } actions = { a; } const entries = { 0x010203040506 &&& 0xffffffffffff : a(3); } }
  apply { t.apply(); t2.apply(); c.count(1); m.execute_meter(2, meta.x); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
