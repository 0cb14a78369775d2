"""Small v1model program skeletons for frontend tests."""

from __future__ import annotations

from softswitch.frontend import load_source
from softswitch.frontend.ast import Elaborated

PRELUDE = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<16> b; int<8> s; bool f; bit<7> pad; }
struct headers_t { h_t h; h_t[2] st; }
struct meta_t { bit<8> x; bit<32> y; bool flag; }
"""

SKELETON = """
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
%(locals)s
    apply {
%(body)s
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""

# Lines before the ingress apply body's first line, so tests can compute locations.
FILE = "t.p4"


def program(body: str = "", locals_: str = "", top: str = "") -> str:
    return PRELUDE + top + SKELETON % {"locals": locals_, "body": body}


def body_line(body: str = "", locals_: str = "", top: str = "") -> int:
    """The line number of the first line of `body` inside program()."""
    text = program("@@MARK@@", locals_, top)
    return text[: text.index("@@MARK@@")].count("\n") + 1


def load(body: str = "", locals_: str = "", top: str = "") -> Elaborated:
    return load_source(program(body, locals_, top), FILE)


def locals_line(locals_: str = "", top: str = "") -> int:
    """The line number of the first line of `locals_` inside program()."""
    text = program("", "@@MARK@@", top)
    return text[: text.index("@@MARK@@")].count("\n") + 1


def top_line(top: str = "") -> int:
    """The line number of the first line of `top` inside program()."""
    return PRELUDE.count("\n") + 1
