// Annotations (@name, @id, @brief, @description, @tableonly, @defaultonly, @pkginfo), serializable enums and new types in type_info, digests, packet-IO metadata, const and initial entries, a keyless table.
#include <core.p4>
#include <v1model.p4>
enum bit<8> Color { RED = 1, GREEN = 2, BLUE = 0xff }
type bit<16> port_id_t;
@controller_header("packet_in") header pin_t { @id(3) bit<9> port; bit<7> pad; @brief("why") bit<8> reason; }
@controller_header("packet_out") header pout_t { bit<9> port; bit<7> pad; }
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
struct hdr_t { pin_t pin; pout_t pout; eth_t eth; }
struct learn_t { bit<48> src; bit<9> port; Color c; }
struct meta_t { bit<8> x; Color c; port_id_t p; }
parser P(packet_in pk, out hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  state start { pk.extract(hdr.eth); transition accept; }
}
control VC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control CC(inout hdr_t hdr, inout meta_t meta) { apply { } }
control I(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
  @brief("sets the color") @description("long text") action paint(Color c, port_id_t p) { meta.c = c; meta.p = p; }
  @id(0x01000077) action learn() { digest<learn_t>(1, {hdr.eth.src, sm.ingress_port, meta.c}); }
  @name(".global_drop") action drop() { mark_to_drop(sm); }
  @name("colors") table t_color {
    key = { meta.c : exact @name("color"); meta.p : exact; hdr.eth.src : ternary @brief("src mac"); }
    actions = { paint; @tableonly learn; @defaultonly drop; }
    default_action = drop();
    support_timeout = true;
    size = 100;
  }
  table t_const {
    key = { hdr.eth.type : exact; }
    actions = { drop; NoAction; }
    const default_action = NoAction();
    const entries = { 0x800 : drop(); }
  }
  table t_init {
    key = { hdr.eth.type : ternary; }
    actions = { drop; NoAction; }
    entries = { priority = 5 : 0x800 &&& 0xfff0 : drop(); priority = 1 : _ : NoAction(); }
  }
  table t_nokey { actions = { drop; } }
  apply { t_color.apply(); t_const.apply(); t_init.apply(); t_nokey.apply(); }
}
control E(inout hdr_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pk, in hdr_t hdr) { apply { pk.emit(hdr); } }
@pkginfo(name="misc", version="1.0") V1Switch(P(), VC(), I(), E(), CC(), D()) main;
