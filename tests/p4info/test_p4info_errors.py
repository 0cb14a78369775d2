"""What the P4Info builder refuses is a located P4Error, as the rest of the frontend."""

from __future__ import annotations

import pytest

from softswitch.frontend import load_source
from softswitch.frontend.errors import P4Error
from softswitch.p4info import P4InfoError, build_p4info

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; }
struct headers_t { h_t h; }
struct meta_t { bit<8> x; bit<8> y; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    direct_counter(CounterType.packets) dc;
    table t1 { key = { meta.x : exact; } actions = { NoAction; } counters = dc; }
    table t2 { key = { meta.y : exact; } actions = { NoAction; } counters = dc; }
    apply { t1.apply(); t2.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_direct_counter_shared_by_two_tables_refused() -> None:
    e = load_source(PROGRAM, "t.p4")
    with pytest.raises(P4InfoError) as ei:
        build_p4info(e)
    assert isinstance(ei.value, P4Error)
    assert str(ei.value) == (
        "t.p4:11:41: Name 'I.dc' is used for multiple direct counter objects in the P4Info message"
    )
