"""What the code generator refuses reaches the user as `file:line:col: ... is not supported`."""

from __future__ import annotations

import pytest

from softswitch.engine import UnsupportedError, build_pipeline
from softswitch.frontend import load_source
from softswitch.p4info import build_p4info
from softswitch.runtime import DeviceState

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; }
struct headers_t { h_t h; }
struct meta_t { bit<8> x; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        random(_, 8w0, 8w5);
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_dont_care_argument_to_an_extern_is_refused_at_its_location() -> None:
    e = load_source(PROGRAM, "dc.p4")
    with pytest.raises(UnsupportedError) as ei:
        build_pipeline(e, DeviceState(build_p4info(e)), None)
    assert str(ei.value) == "dc.p4:12:16: a don't-care argument to this extern is not supported"
